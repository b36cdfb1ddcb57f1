"""What a service answers about its chain (`GET /audit/verify`), the same shape everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel

from hbs_shared.audit.chain import Report


def _in_utc(moment: datetime) -> datetime:
    """A filter's moment in UTC (naive = UTC); one that UTC cannot hold is refused (422), not a 500."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("the moment is out of range") from None


Moment = Annotated[datetime, AfterValidator(_in_utc)]
"""`since` / `until` of an audit listing."""


class ChainBreakOut(BaseModel):
    seq: int
    """The entry where the chain breaks (for `truncated`, the number its head records)."""
    fault: str
    message: str


class ChainStatusOut(BaseModel):
    service: str
    intact: bool
    checked: int
    """Entries checked before the first broken link (all of them when intact)."""
    last_seq: int
    head_hash: str
    """The last intact entry's hash: written down elsewhere, it pins the chain up to there."""
    broken: ChainBreakOut | None = None

    @classmethod
    def of(cls, service: str, report: Report) -> ChainStatusOut:
        broken = report.broken
        return cls(
            service=service,
            intact=report.intact,
            checked=report.checked,
            last_seq=report.last_seq,
            head_hash=report.last_hash,
            broken=None
            if broken is None
            else ChainBreakOut(seq=broken.seq, fault=broken.fault.value, message=broken.message),
        )
