"""Which issued version an uploaded file is, when it is not byte for byte one of them.

Each signature covers the file up to the end of its byte range (its revision). A long-term
archive adds validation data and document timestamps after the last signature (PAdES B-LT/LTA):
the file is then a stored version plus archive data. A viewer's "signed version" of a sealed
record is the file cut after one of its signatures: the start of a stored version. Anything else
after a stored version (another signature) is someone else's addition.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_signing.documents.repository import DocumentRepository
from hbs_signing.documents.store import DocumentStore
from hbs_signing.models import SignedDocument
from hbs_signing.verification.service import (
    ADDED_TO,
    ARCHIVED,
    EARLIER_REVISION,
    EXACT,
    Examination,
)

_documents = DocumentRepository()
_ARCHIVE_ONLY = ("none", "lta_updates")
MAX_LATER_VERSIONS = 20  # a record has a handful of versions; bounds the public endpoint's reads


@dataclass(frozen=True)
class Identification:
    document: SignedDocument | None
    relation: str = EXACT


async def identify(
    session: AsyncSession, store: DocumentStore, pdf: bytes, examination: Examination
) -> Identification:
    exact = await _documents.by_sha256(session, examination.sha256)
    if exact is not None:
        return Identification(exact, EXACT)
    signatures = examination.signatures
    for position in range(len(signatures) - 1, -1, -1):
        signature = signatures[position]
        if signature.revision_sha256 is None:
            continue
        issued = await _documents.by_sha256(session, signature.revision_sha256)
        if issued is None:
            continue
        after = signatures[position + 1 :]
        if (
            all(item.kind == "document_timestamp" for item in after)
            and signature.modifications_after in _ARCHIVE_ONLY
        ):
            return Identification(issued, ARCHIVED)
        whole = await _later_version_starting_with(session, store, issued, pdf)
        if whole is not None:
            return Identification(whole, EARLIER_REVISION)
        return Identification(issued, ADDED_TO)
    return Identification(None)


async def _later_version_starting_with(
    session: AsyncSession, store: DocumentStore, issued: SignedDocument, pdf: bytes
) -> SignedDocument | None:
    """A later stored version of the same subject of which the file is the start."""
    result = await session.execute(
        select(SignedDocument)
        .where(
            SignedDocument.school_id == issued.school_id,
            SignedDocument.subject_id == issued.subject_id,
            SignedDocument.created_at >= issued.created_at,
            SignedDocument.id != issued.id,
        )
        .order_by(SignedDocument.created_at)
        .limit(MAX_LATER_VERSIONS)
    )
    for candidate in result.scalars():
        content = await asyncio.to_thread(store.get, candidate.sha256)
        if len(content) > len(pdf) and content.startswith(pdf):
            return candidate
    return None
