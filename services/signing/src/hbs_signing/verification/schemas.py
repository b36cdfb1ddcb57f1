"""The verification report as an HTTP shape: the fields every report has are typed; a report may
carry more (extra fields pass through), so the service can add to it without breaking clients."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_VERDICT = Field(description="`valid`, `indeterminate` or `invalid` (the worst over the file)")


class SignatureReportOut(BaseModel):
    """One signature or document timestamp of the file."""

    model_config = ConfigDict(extra="allow")

    field: str
    kind: str = Field(description="`signature` or `document_timestamp`")
    verdict: str = _VERDICT
    role: str | None = None
    signer: str | None = None
    signer_title: str | None = None
    issuer: str | None = None
    certificate_sha256: str | None = None
    signing_time: str | None = None
    signing_time_source: str | None = None
    intact: bool
    valid: bool
    trusted: bool
    revocation_at_signing_time: str
    covers_whole_file: bool
    modifications_after: str
    revision_sha256: str | None = None
    problems: list[str]


class FileCounts(BaseModel):
    model_config = ConfigDict(extra="allow")

    signatures: int
    document_timestamps: int


class IssuedVersion(BaseModel):
    """The issued version the file was matched to (no personal data)."""

    model_config = ConfigDict(extra="allow")

    kind: str
    verification_code: str
    version_sha256: str
    signed_at: str | None
    sealed: bool
    expected_signatures: int
    status: str
    """`current` or `superseded` (by a newer version of the same sheet or record)."""
    relation: str


class VerificationReport(BaseModel):
    """Every signature and document timestamp judged; the verdict is the worst of them."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "sha256": "9f2c…",
                    "verdict": "valid",
                    "file": {"signatures": 4, "document_timestamps": 1},
                    "signatures": [],
                    "problems": [],
                    "document": {
                        "kind": "year_record",
                        "verification_code": "7KQ2M9XA",
                        "version_sha256": "9f2c…",
                        "signed_at": "2027-05-30T09:12:00+00:00",
                        "sealed": True,
                        "expected_signatures": 4,
                        "status": "current",
                        "relation": "exact",
                    },
                }
            ]
        },
    )

    sha256: str
    verdict: str = _VERDICT
    signatures: list[SignatureReportOut]
    file: FileCounts
    problems: list[str]
    document: IssuedVersion | None = None


class BatchAnswer(BaseModel):
    """One code's or file's answer in a batch verification, in the order sent."""

    model_config = ConfigDict(extra="allow")

    item: str = Field(examples=["codes.0"])
    """Which input this answers: `codes.N` or `files.N`."""
    code: str | None = None
    name: str | None = None
    found: bool
    verdict: str = Field(examples=["valid"])
    problems: list[str] = []
    sha256: str | None = None
    document: dict[str, Any] | None = None


class BatchAnswers(BaseModel):
    results: list[BatchAnswer]
