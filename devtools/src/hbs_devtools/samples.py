"""Made-up events for the messaging tests and benchmarks: their content is never read, only carried."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hbs_shared.events.contracts import SigningCompleted


def signing_completed(subject_id: uuid.UUID) -> SigningCompleted:
    """A `signing.completed` for this subject, with made-up ids, digests and signer."""
    return SigningCompleted(
        request_id=uuid.uuid4(),
        subject_id=subject_id,
        document_id=uuid.uuid4(),
        sha256="a" * 64,
        signer_user_id=uuid.uuid4(),
        signer_role="subject_teacher",
        certificate_sha256="b" * 64,
        signed_at=datetime.now(UTC),
    )
