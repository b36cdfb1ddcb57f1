"""HTTP shapes of the national export."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hbs_grades.national.models import NationalExport


class NationalExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(
        default=None,
        pattern=r"^(last|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
        description="None: every student with a sealed record (toàn bộ). An export's id, or `last` for"
        " the school's latest: only the students whose data changed since it (thay đổi).",
        examples=[None, "last", "5b0c6f3e-8f2a-4c55-9d61-1a2b3c4d5e6f"],
    )

    def since_export(self) -> uuid.UUID | Literal["last"] | None:
        """One type, one field in a refusal: `since` (a union would be named `since.uuid`)."""
        if self.since is None or self.since == "last":
            return "last" if self.since else None
        return uuid.UUID(self.since)


class NationalExportOut(BaseModel):
    id: uuid.UUID
    kind: Literal["toanbo", "thaydoi"]
    since: uuid.UUID | None
    created_at: datetime
    created_by_name: str
    students: int
    """Students the document carries."""
    withdrawn: int
    """Students of the given export with no sealed record now (danhsachrutlai)."""
    sha256: str
    """SHA-256 of the JSON form as served."""
    xml_url: str
    json_url: str

    @classmethod
    def of(cls, export: NationalExport) -> NationalExportOut:
        base = f"/national/exports/{export.id}"
        return cls(
            id=export.id,
            kind="toanbo" if export.kind == "toanbo" else "thaydoi",
            since=export.since_id,
            created_at=export.created_at,
            created_by_name=export.created_by_name,
            students=export.students,
            withdrawn=export.withdrawn,
            sha256=export.sha256,
            xml_url=f"{base}/xml",
            json_url=f"{base}/json",
        )
