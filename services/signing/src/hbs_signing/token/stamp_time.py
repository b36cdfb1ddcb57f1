"""The stamp's "Thời gian": the signing moment in Vietnam's time, dd/mm/yyyy HH:mm.

pyHanko formats the signing time with the server's local zone (UTC on our servers, so stamps
read "21:11 UTC"). The profile has it write ISO 8601 with the offset; this style turns that
into the school's clock with the shared formatter before the stamp is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyhanko.stamp import TextStamp, TextStampStyle

from hbs_shared.display import school_time_text


@dataclass(frozen=True)
class SchoolTimeStampStyle(TextStampStyle):
    def create_stamp(self, writer: Any, box: Any, text_params: dict[str, Any]) -> TextStamp:
        moment = text_params.get("ts")
        if isinstance(moment, str) and moment:
            text_params = {**text_params, "ts": school_time_text(moment)}
        return super().create_stamp(writer, box, text_params)
