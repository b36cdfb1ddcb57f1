"""The public status of every issued document (issue 13 §5): current, superseded (by which
version) or revoked, and the school's status list signed with its seal.

Grades owns a record's lifecycle and decides a revocation (the board's minutes, `revoked`);
signing owns the documents and their public status, and learns of it from
`grades.record.revoked` (docs/architecture.md, "Public status and the status list").
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.events.contracts import RecordRevoked
from hbs_signing.documents.repository import DocumentRepository
from hbs_signing.models import DocumentRevocation, SignedDocument
from hbs_signing.status.repository import StatusRepository

CURRENT = "current"
SUPERSEDED = "superseded"
REVOKED = "revoked"
LIST_TYPE = "hbs-status-list"
LIST_VERSION = 1


@dataclass(frozen=True)
class DocumentStatus:
    """What anyone may know about one stored version: no personal data."""

    status: str
    superseded_by: SignedDocument | None = None
    """The subject's newest version, when this one is not it."""
    revocation: DocumentRevocation | None = None

    def as_dict(self) -> dict[str, Any]:
        newer = self.superseded_by
        revoked = self.revocation
        return {
            "status": self.status,
            "superseded_by": None
            if newer is None
            else {
                "version_sha256": newer.sha256,
                "verification_code": newer.printed_code or newer.verification_code,
                "signed_at": newer.created_at.isoformat() if newer.created_at else None,
            },
            "revocation": None if revoked is None else public_revocation(revoked),
        }


def public_revocation(revoked: DocumentRevocation) -> dict[str, Any]:
    """The minutes' number and date, when and by whom (a role): the reason stays with the school,
    because it may name people."""
    return {
        "minutes_number": revoked.minutes_number,
        "minutes_date": revoked.minutes_date.isoformat(),
        "revoked_at": revoked.revoked_at.isoformat(),
        "revoked_by_role": revoked.revoked_by_role,
    }


class DocumentStatuses:
    def __init__(self, repository: StatusRepository | None = None) -> None:
        self.repository = repository or StatusRepository()
        self.documents = DocumentRepository()

    async def of(
        self, session: AsyncSession, document: SignedDocument, current: SignedDocument | None = None
    ) -> DocumentStatus:
        """``current``: the subject's newest version, when the caller has read it already."""
        revoked = await self.repository.revocation_for(session, document.school_id, document.subject_id)
        if current is None:
            current = await self.documents.current_for(session, document.school_id, document.subject_id)
        newer = current if current is not None and current.id != document.id else None
        if revoked is not None:
            return DocumentStatus(REVOKED, newer, revoked)
        return DocumentStatus(SUPERSEDED if newer is not None else CURRENT, newer)

    async def apply_revoked(self, session: AsyncSession, school_id: str, event: RecordRevoked) -> None:
        """Grades' revocation, kept once (the inbox drops a redelivery; a second revocation of the
        same record keeps the first)."""
        if await self.repository.revocation_for(session, school_id, event.record_id) is not None:
            return
        self.repository.add_revocation(
            session,
            DocumentRevocation(
                id=uuid.uuid4(),
                school_id=school_id,
                subject_id=event.record_id,
                document_id=event.document_id,
                minutes_number=event.minutes_number,
                minutes_date=event.minutes_date,
                reason=event.reason,
                revoked_by=event.revoked_by,
                revoked_by_role=event.revoked_by_role,
                revoked_at=event.revoked_at,
            ),
        )

    async def status_list(
        self, session: AsyncSession, school_id: str, issued_at: datetime, max_age: timedelta
    ) -> bytes | None:
        """The school's status list (JSON, UTF-8): every stored version by SHA-256 with its status;
        None when the school has issued nothing."""
        versions = await self.repository.versions(session, school_id)
        if not versions:
            return None
        revoked = {r.subject_id: r for r in await self.repository.revocations(session, school_id)}
        newest: dict[uuid.UUID, str] = {}
        for version in versions:  # oldest first: the last one seen per subject is its current
            newest[version.subject_id] = version.sha256
        entries = []
        for version in versions:
            entry: dict[str, Any] = {"sha256": version.sha256, "kind": version.kind}
            revocation = revoked.get(version.subject_id)
            current = newest[version.subject_id]
            if revocation is not None:
                entry["status"] = REVOKED
                entry["revocation"] = public_revocation(revocation)
            else:
                entry["status"] = CURRENT if current == version.sha256 else SUPERSEDED
            if current != version.sha256:
                entry["superseded_by"] = current
            entries.append(entry)
        content = {
            "type": LIST_TYPE,
            "version": LIST_VERSION,
            "school_id": school_id,
            "issued_at": issued_at.isoformat(),
            "next_update": (issued_at + max_age).isoformat(),
            "entries": entries,
        }
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
