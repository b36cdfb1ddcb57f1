"""What an outside system is told about an issued document: no personal data, only its state."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class VersionRef(BaseModel):
    """Another issued version of the same sheet or record."""

    sha256: str
    verification_code: str
    signed_at: datetime


class DocumentStatus(BaseModel):
    """Trạng thái văn bản: whether this exact file is the issued version in force."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sha256": "9f2c5d0e…",
                    "kind": "year_record",
                    "verification_code": "7KQ2M9XA",
                    "status": "superseded",
                    "sealed": True,
                    "signatures": 4,
                    "signed_at": "2027-05-30T09:12:00Z",
                    "superseded_by": {
                        "sha256": "41aa07c3…",
                        "verification_code": "P3ZC8W2N",
                        "signed_at": "2027-06-12T14:03:00Z",
                    },
                }
            ]
        }
    )

    sha256: str
    kind: str
    """`score_sheet`, `year_record` or `correction_minutes`."""
    verification_code: str
    status: Literal["current", "superseded"]
    sealed: bool
    signatures: int
    """How many signatures this version carries (document timestamps not counted)."""
    signed_at: datetime
    superseded_by: VersionRef | None = None
    """The version now in force, when this one is superseded."""
