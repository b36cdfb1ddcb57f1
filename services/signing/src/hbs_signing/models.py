"""Signing's tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Integer, LargeBinary, String, Text, UniqueConstraint, Uuid, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import func

from hbs_shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class Certificate(Base):
    """Chứng thư số: a signer's certificate for a key held in the token."""

    __tablename__ = "certificates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    key_label: Mapped[str] = mapped_column(String(64))
    subject_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    chain_pem: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The CA certificates imported with it (intermediates, PEM), from which its chain is built."""
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class SignedDocument(Base):
    """A signed PDF version, stored by its SHA-256 in the document store."""

    __tablename__ = "documents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    signer_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    signer_role: Mapped[str] = mapped_column(String(40))
    certificate_sha256: Mapped[str] = mapped_column(String(64))
    verification_code: Mapped[str] = mapped_column(String(16), unique=True)
    signature_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """How many signatures (not document timestamps) this version must carry."""
    sealed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The school seal is on it: it accepts no further signature."""
    base_document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    """The earlier version this one adds a signature to."""
    printed_code: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    """The code printed (and in the QR code) on the pages: the same for every version of one rendering."""
    student_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    """The student a year record (học bạ) is of, so their family may read it; none for sheets."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class DocumentRevocation(Base):
    """A record the board revoked under minutes (grades' `grades.record.revoked`): every signed
    version of the subject verifies as revoked."""

    __tablename__ = "document_revocations"
    __table_args__ = (UniqueConstraint("school_id", "subject_id", name="uq_document_revocations_subject"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    """The sealed version grades held when it revoked the record."""
    minutes_number: Mapped[str] = mapped_column(String(60))
    minutes_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    """For the school only: the public answer gives the minutes' number and date, not the reason."""
    revoked_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    revoked_by_role: Mapped[str] = mapped_column(String(40))
    revoked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class ArchiveRenewal(Base):
    """A sealed version with a fresh archive timestamp added (B-LTA renewal): the validation data
    of its last timestamp and a new document timestamp, appended. The renewed file is stored beside
    the version; it verifies as that version, `archived`."""

    __tablename__ = "archive_renewals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    document_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int]
    timestamp_at: Mapped[datetime] = mapped_column(UtcDateTime())
    """The new document timestamp's time."""
    tsa_not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    """When the certificate of the timestamp authority that made it expires: renew before."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class SigningPin(Base):
    """A user's signing PIN (Argon2id): what activates a signature, never the login token alone."""

    __tablename__ = "signing_pins"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    pin_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """None once an approved `signing_pin` reset made signing forget it."""
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reset_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Set by an approved reset of any of the owner's factors (identity's event): no activation
    until the owner sets a new PIN in their own session."""
    reset_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    """When the latest reset was approved: activations made before it no longer sign."""


class PinAudit(Base):
    """Every PIN set, reset, lock and activation refusal, with who did it."""

    __tablename__ = "signing_pin_audit"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    actor_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class Activation(Base):
    """A signature activation: one user, one scope (subject ids or a batch), a few minutes."""

    __tablename__ = "activations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    subject_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SigningRequest(Base):
    """One request to sign, remembered so a repeated request signs once."""

    __tablename__ = "signing_requests"

    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    signer_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class BatchItem(Base):
    """One record signing request of a batch, queued so one signer's batch is signed together.

    The request is kept as received (its event payload); ``state`` goes pending → completed or
    failed in the same transaction as the stored document or the refusal, so a restarted service
    signs exactly the pending ones.
    """

    __tablename__ = "signing_batch_items"

    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    school_id: Mapped[str] = mapped_column(String(64))
    signer_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Runs that took it; after MAX_ATTEMPTS unfinished runs it is failed, not retried forever."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """The replica signing it now (host:pid); no other replica takes it before ``claimed_until``."""
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    """End of the claim's lease, renewed while its replica lives; a dead replica's work is taken after."""


class QueuedRequest(Base):
    """A signing request the consumer accepted, signed after the consumer's transaction.

    The row lives until the request is settled (signed version stored, or refused) in one short
    transaction that deletes it; ``claimed_until`` is the lease of the replica signing it, so two
    replicas do not sign the same request, and a killed one's lease runs out.
    """

    __tablename__ = "signing_queue"

    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    school_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    """`sheet`, `minutes` or `record`: which event's payload this is."""
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    correlation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The request's correlation id, so the signature's log lines carry it as the consumer's did."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now(), index=True)


class ExchangePackage(Base):
    """Hồ sơ chuyển trường / tốt nghiệp: a sealed package that left this school (``exported``)
    or one another school sent here (``imported`` once every check passed). Never changed after."""

    __tablename__ = "exchange_packages"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    direction: Mapped[str] = mapped_column(String(10))
    """`exported` or `imported`."""
    reason: Mapped[str] = mapped_column(String(20))
    """`transferred` or `graduated`."""
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    """The student here: the one who left, or the one created or linked by the import."""
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    """The package file in the document store."""
    size: Mapped[int]
    records: Mapped[int] = mapped_column(Integer)
    sender_school_id: Mapped[str] = mapped_column(String(64))
    sender_school_name: Mapped[str] = mapped_column(String(300))
    sender_package_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    """The package's id in the manifest (the sending school's id for it)."""
    receipt_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The sealed receipt (biên nhận): made here for an import."""
    actor_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ExchangeFile(Base):
    """One file of a package as its manifest lists it; an imported one is kept read-only."""

    __tablename__ = "exchange_files"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    package_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    """`identity`, `record_pdf`, `record_json` or `record_xml`."""
    media_type: Mapped[str] = mapped_column(String(60))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    school_year: Mapped[str | None] = mapped_column(String(9), nullable=True)
    class_name: Mapped[str | None] = mapped_column(String(60), nullable=True)
