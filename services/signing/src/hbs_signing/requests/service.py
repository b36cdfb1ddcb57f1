"""Carrying out a signing request: activation, certificate check, document, signature, reply.

Every signature is PAdES B-LT (RFC 3161 timestamp from the timestamp authority, the chain and
the current CRLs in the document's DSS); the principal's request adds the school seal after the
principal's signature and extends it to B-LTA with a document timestamp. A sealed document
accepts no further signature.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import secrets
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO

from cryptography import x509
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.timestamps.api import TimeStamper
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.events.contracts import (
    MinutesSigningRequested,
    RecordSigningRequested,
    SheetSigningRequested,
    SheetSigningRequestedV2,
    SigningCompletedV2,
    SigningFailedV2,
    SubjectKind,
)
from hbs_shared.events.envelope import EventPayload
from hbs_shared.logging import get_logger
from hbs_shared.messaging.outbox import OutboxRepository
from hbs_shared.roles import BOARD, Role
from hbs_shared.school_facts import SchoolFacts, SchoolFactsStore
from hbs_shared.signing_order import signatures_before
from hbs_signing.activations.service import ActivationError, ActivationService
from hbs_signing.certificates.check import CertificateRefused, build_path, check_certificate
from hbs_signing.certificates.revocation import CrlFetcher
from hbs_signing.certificates.service import CertificateService, NoUsableCertificate
from hbs_signing.devca import DevelopmentCA
from hbs_signing.documents.layout import (
    MINUTES_BOX,
    MINUTES_FIELDS,
    RECORD_BOXES,
    RECORD_FIELDS,
    SHEET_BOXES,
    SHEET_FIELD,
    Verification,
    render_minutes,
    render_score_sheet,
    render_year_record,
    verification_url,
)
from hbs_signing.documents.render import render_placeholder_sheet
from hbs_signing.documents.repository import DocumentRepository, SigningRequestRepository
from hbs_signing.documents.store import DocumentStore
from hbs_signing.models import Certificate, SignedDocument, SigningRequest
from hbs_signing.timestamps import HttpTimeStamper
from hbs_signing.token import LongTermData, SignatureOptions, Token, TokenError, signature_count

log = get_logger(__name__)

_VERSIONS = "hbs.signing.document_versions"
"""`session.info` key: a batch run's preloaded document versions, by (school, subject)."""

# Crockford-like alphabet without look-alikes (0/O, 1/I/L) for codes read aloud or typed.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SEAL_ROLE = Role.seal.value
NEVER = datetime.max.replace(tzinfo=UTC)
SEAL_NAMESPACE = uuid.UUID("6f1d7c1e-8a55-4b0b-9f7e-5d3c2a1b0e99")


def new_verification_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


def seal_user_id(school_id: str) -> uuid.UUID:
    """The seal's stable pseudo-user: its key and organisation certificate are the school's."""
    return uuid.uuid5(SEAL_NAMESPACE, f"seal:{school_id}")


class Refused(Exception):
    """The request is refused; the message is the reason sent in signing.failed."""


SUBJECT_KINDS: dict[str, SubjectKind] = {
    "score_sheet": "sheet",
    "year_record": "record",
    "correction_minutes": "minutes",
}
"""A job's document kind → the subject kind its reply names (grades routes replies by it)."""

REFUSALS = (NoUsableCertificate, TokenError, CertificateRefused, ActivationError, Refused)
"""Everything that refuses one request (signing.failed) rather than being retried."""


@dataclass(frozen=True)
class Job:
    school_id: str
    request_id: uuid.UUID
    subject_id: uuid.UUID
    kind: str
    signer_user_id: uuid.UUID
    signer_name: str
    signer_role: str
    field_name: str
    reason: str
    render: Callable[[Verification], bytes] | None
    base_document_id: uuid.UUID | None = None
    seal: bool = False
    stamp_box: tuple[int, int, int, int] | None = None
    student_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Validation:
    """What the check before signing found: the chain up to the root and the CRLs it used.

    Both go into the signature's DSS (B-LT), so the document carries its own validation data.
    """

    chain: tuple[bytes, ...]
    """DER of the issuing CAs, the trusted root last."""
    crls: tuple[bytes, ...]
    valid_until: datetime = NEVER
    """The earliest next update of those CRLs: after it, the check must be made again."""


@dataclass(frozen=True)
class TimestampAuthority:
    """The signatures' timestamp authority: the development CA's, in-process (its key and
    certificate), or a production one over HTTP (``url``)."""

    chain: tuple[bytes, ...]
    """Its certificates for the DSS (none over HTTP: they come inside each token)."""
    key_der: bytes | None = None
    certificate_der: bytes | None = None
    url: str | None = None


@dataclass(frozen=True)
class SignerReady:
    """What the checks of one signer in one role found: the same for each request of a batch."""

    certificate: Certificate
    validation: Validation
    seal: Certificate | None
    seal_validation: Validation | None
    school_name: str
    location: str
    valid_until: datetime
    """A CRL's next update or a certificate's end, whichever comes first: checked again after."""


@dataclass(frozen=True)
class Prepared:
    """A request that passed every check, with what its signed version will record."""

    base: tuple[SignedDocument, bytes | None] | None
    """The version signed on, and its file (None: a batch worker reads it from the store)."""
    certificate: Certificate
    validation: Validation
    seal: Certificate | None
    seal_validation: Validation | None
    code: str
    printed_code: str
    verification: Verification
    signature_count: int
    """Signatures the signed version carries (the seal included)."""
    school_name: str
    """The school as identity announced it: the seal's signer."""
    location: str
    """The school's province: the signatures' location."""


class SigningRequestService:
    def __init__(
        self,
        token: Token,
        certificates: CertificateService,
        store: DocumentStore,
        development_ca: DevelopmentCA | None,
        *,
        school: SchoolFactsStore | None = None,
        portal_url: str = "http://127.0.0.1:8000",
        activations: ActivationService | None = None,
        trust_roots: list[x509.Certificate] | None = None,
        revocation: CrlFetcher | None = None,
        tsa_url: str | None = None,
    ) -> None:
        self.token = token
        self.certificates = certificates
        self.store = store
        self.on_outcome: Callable[[str], None] | None = None
        """Told `completed` or `failed` for each request decided (the service's metrics)."""
        self.ca = development_ca
        self.school = school or SchoolFactsStore()
        """The school's name and province, as identity announced them (`identity.school.changed`)."""
        self.portal_url = portal_url
        self.activations = activations
        self.trust_roots = (
            trust_roots
            if trust_roots is not None
            else ([development_ca.root_certificate] if development_ca is not None else [])
        )
        # A production CA's CRLs and timestamps over HTTP (used when the development CA is off).
        self.revocation = revocation
        self.tsa_url = tsa_url
        self.requests = SigningRequestRepository()
        self.documents = DocumentRepository()
        self.outbox = OutboxRepository()

    # --- the three kinds of request ---------------------------------------------------------

    async def refuse_without_activation(
        self, session: AsyncSession, school_id: str, request: SheetSigningRequested
    ) -> None:
        """A v1 request carries no activation: a login token alone never signs (Đ7.2)."""
        if await self.requests.get(session, request.request_id) is not None:
            return
        job = self._v1_job(school_id, request, school_name="")
        await self.fail(session, job, "chưa kích hoạt ký bằng mã PIN (signature activation required)")

    def _v1_job(self, school_id: str, request: SheetSigningRequested, *, school_name: str) -> Job:
        def render(verification: Verification) -> bytes:
            return render_placeholder_sheet(
                school_name=school_name,
                class_name=request.class_name,
                subject=request.subject,
                term=request.term,
                school_year=request.school_year,
                teacher_name=request.signer_name,
                verification_code=verification.code,
            )

        return Job(
            school_id=school_id,
            request_id=request.request_id,
            subject_id=request.sheet_id,
            kind="score_sheet",
            signer_user_id=request.signer_user_id,
            signer_name=request.signer_name,
            signer_role=request.signer_role,
            field_name=SHEET_FIELD,
            reason=f"Giáo viên bộ môn ký sổ điểm {request.subject} lớp {request.class_name}",
            render=render,
        )

    async def sign_sheet(self, session: AsyncSession, school_id: str, request: SheetSigningRequested) -> None:
        """v1 content without an activation check: used directly by tests of the signing
        mechanics only; from the bus a v1 request is refused (`refuse_without_activation`)."""
        school = await self.school.require(session, school_id)
        await self._run(session, self._v1_job(school_id, request, school_name=school.name), activation=None)

    def sheet_job(self, school_id: str, request: SheetSigningRequestedV2) -> Job:
        sheet = request.sheet
        return Job(
            school_id=school_id,
            request_id=request.request_id,
            subject_id=sheet.sheet_id,
            kind="score_sheet",
            signer_user_id=request.signer_user_id,
            signer_name=request.signer_name,
            signer_role=request.signer_role,
            field_name=SHEET_FIELD,
            reason=f"Giáo viên bộ môn ký sổ điểm {sheet.subject_name} lớp {sheet.class_name}",
            render=functools.partial(render_score_sheet, sheet),
            stamp_box=SHEET_BOXES[SHEET_FIELD],
        )

    async def sign_sheet_v2(
        self, session: AsyncSession, school_id: str, request: SheetSigningRequestedV2, requested_at: datetime
    ) -> None:
        job = self.sheet_job(school_id, request)
        await self._run(session, job, activation=(request.activation_id, None, requested_at))

    def minutes_job(self, school_id: str, request: MinutesSigningRequested) -> Job:
        minutes = request.minutes
        role = request.signer_role
        return Job(
            school_id=school_id,
            request_id=request.request_id,
            subject_id=minutes.correction_id,
            kind="correction_minutes",
            signer_user_id=request.signer_user_id,
            signer_name=request.signer_name,
            signer_role=role,
            field_name=MINUTES_FIELDS.get(role, ""),
            reason=(
                f"Ban Giám hiệu ký biên bản điều chỉnh số {minutes.minutes_number}: sổ điểm "
                f"{minutes.subject_name} lớp {minutes.class_name}"
            ),
            render=functools.partial(render_minutes, minutes, role),
            stamp_box=MINUTES_BOX,
        )

    async def refuse_minutes_out_of_role(
        self, session: AsyncSession, school_id: str, request: MinutesSigningRequested
    ) -> bool:
        """The minutes of a sheet's correction (Đ9.2) are signed by the board member who opened
        it: a request naming any other role is refused, like a signature out of Điều 8's order."""
        if request.signer_role in BOARD:
            return False
        if await self.requests.get(session, request.request_id) is None:
            await self.fail(
                session,
                self.minutes_job(school_id, request),
                "biên bản điều chỉnh chỉ do Hiệu trưởng hoặc Phó Hiệu trưởng ký "
                f"(minutes are signed by the board, not by role {request.signer_role})",
            )
        return True

    async def sign_minutes(
        self, session: AsyncSession, school_id: str, request: MinutesSigningRequested, requested_at: datetime
    ) -> None:
        if await self.refuse_minutes_out_of_role(session, school_id, request):
            return
        job = self.minutes_job(school_id, request)
        await self._run(session, job, activation=(request.activation_id, None, requested_at))

    def record_job(self, school_id: str, request: RecordSigningRequested) -> Job:
        record = request.record
        role = request.signer_role
        return Job(
            school_id=school_id,
            request_id=request.request_id,
            subject_id=record.record_id,
            kind="year_record",
            signer_user_id=request.signer_user_id,
            signer_name=request.signer_name,
            signer_role=role,
            field_name=RECORD_FIELDS.get(role, ""),
            reason=(
                f"{Role(role).formal_label} ký học bạ năm học {record.school_year} lớp {record.class_name}"
            ),
            render=None if request.base_document_id else functools.partial(render_year_record, record),
            base_document_id=request.base_document_id,
            seal=role == "principal",
            student_id=record.student.student_id,
        )

    async def sign_record(
        self, session: AsyncSession, school_id: str, request: RecordSigningRequested, requested_at: datetime
    ) -> None:
        job = self.record_job(school_id, request)
        await self._run(session, job, activation=(request.activation_id, request.batch_id, requested_at))

    # --- the common path --------------------------------------------------------------------

    async def _run(
        self,
        session: AsyncSession,
        job: Job,
        *,
        activation: tuple[uuid.UUID, uuid.UUID | None, datetime] | None,
    ) -> None:
        """Check, sign and settle in the caller's session: the direct entry the signing tests
        use. The consumer never signs in its transaction: it queues (``requests.runner``)."""
        if await self.requests.get(session, job.request_id) is not None:
            log.info("signing request already handled", request_id=str(job.request_id))
            return
        try:
            ready = await self.prepare(session, job, activation)
            signed = await self.sign_prepared(job, ready)
        except REFUSALS as error:
            await self.fail(session, job, str(error))
            return
        await self.complete(session, job, ready, signed)

    async def sign_prepared(
        self,
        job: Job,
        ready: Prepared,
        render: Callable[[Callable[[Verification], bytes], Verification], Awaitable[bytes]] | None = None,
    ) -> bytes:
        """Render (a first signature) and sign a checked request, with no database session.

        ``render``: where the rendering runs (the request runner's worker processes); else a thread."""
        if ready.base is None:
            assert job.render is not None
            # Rendering is CPU work (~0.1 s): off the event loop, never on the token thread.
            if render is not None:
                pdf = await render(job.render, ready.verification)
            else:
                pdf = await asyncio.to_thread(job.render, ready.verification)
        else:
            assert ready.base[1] is not None, "prepared for a batch worker, which reads the file itself"
            pdf = ready.base[1]
        tsa = self.timestamp_authority()  # once for the signature and the seal
        signed = await self._sign(
            pdf,
            job,
            ready.certificate,
            ready.validation,
            lock=False,
            archive=False,
            location=ready.location,
            tsa=tsa,
        )
        if ready.seal is not None and ready.seal_validation is not None:
            seal_job = self.seal_job(job, ready.seal, ready.school_name)
            signed = await self._sign(
                signed,
                seal_job,
                ready.seal,
                ready.seal_validation,
                lock=True,
                archive=True,
                location=ready.location,
                tsa=tsa,
            )
        return signed

    async def still_current(self, session: AsyncSession, job: Job, ready: Prepared) -> bool:
        """At settling: the version signed on is still the subject's newest (another request on
        the same record may have settled while this one was being signed)."""
        if ready.base is None:
            return True
        current = await self.documents.current_for(session, job.school_id, job.subject_id)
        return current is not None and current.id == ready.base[0].id

    async def prepare(
        self,
        session: AsyncSession,
        job: Job,
        activation: tuple[uuid.UUID, uuid.UUID | None, datetime] | None,
        signer: SignerReady | None = None,
        *,
        in_worker: bool = False,
    ) -> Prepared:
        """Every check before signing: activation, base document, certificates (raises a refusal).

        ``signer``: the signer's checks already made for this batch (``prepare_signer``); the
        activation and the base document are still checked for this request.
        ``in_worker``: the batch worker reads the base file from the store (checking its SHA-256)
        and counts its signatures as it signs (it parses the file anyway), so this process does
        neither."""
        if activation is not None:
            await self._check_activation(session, job, *activation)
        if signer is None:
            await self._school(session, job.school_id)
        base = await self._base_document(session, job, read=not in_worker)
        if signer is None:
            signer = await self.prepare_signer(session, job)
        certificate, validation = signer.certificate, signer.validation
        seal, seal_validation = signer.seal, signer.seal_validation
        school_name, location = signer.school_name, signer.location
        code = new_verification_code()
        if base is None:
            printed = code
            count = 1
        else:
            printed = base[0].printed_code or base[0].verification_code
            count = base[0].signature_count + 1
        return Prepared(
            base=base,
            certificate=certificate,
            validation=validation,
            seal=seal,
            seal_validation=seal_validation,
            code=code,
            printed_code=printed,
            verification=Verification(code, verification_url(self.portal_url, code)),
            signature_count=count + (1 if seal is not None else 0),
            school_name=school_name,
            location=location,
        )

    async def _school(self, session: AsyncSession, school_id: str) -> SchoolFacts:
        school = await self.school.get(session, school_id)
        if school is None:
            raise Refused(
                "chưa nhận được thông tin của trường từ hệ thống định danh "
                f"(no identity.school.changed for school {school_id} yet)"
            )
        return school

    async def prepare_signer(self, session: AsyncSession, job: Job) -> SignerReady:
        """The checks that are the same for every request of one signer in one role: the school,
        the signer's (and the seal's) certificate, chain and CRLs. A batch makes them once."""
        school = await self._school(session, job.school_id)
        certificate = await self.certificates.for_signer(
            session, job.school_id, job.signer_user_id, job.signer_name, job.signer_role, school.name
        )
        validation = await self.check(certificate)
        seal = seal_validation = None
        if job.seal:
            seal = await self.certificates.for_signer(
                session, job.school_id, seal_user_id(job.school_id), school.name, SEAL_ROLE, school.name
            )
            seal_validation = await self.check(seal)
        until = [validation.valid_until, certificate.not_after]
        if seal is not None and seal_validation is not None:
            until += [seal_validation.valid_until, seal.not_after]
        return SignerReady(
            certificate=certificate,
            validation=validation,
            seal=seal,
            seal_validation=seal_validation,
            school_name=school.name,
            location=school.province,
            valid_until=min(until),
        )

    def seal_job(self, job: Job, seal: Certificate, school_name: str) -> Job:
        return Job(
            school_id=job.school_id,
            request_id=job.request_id,
            subject_id=job.subject_id,
            kind=job.kind,
            signer_user_id=seal.user_id,
            signer_name=school_name,
            signer_role=SEAL_ROLE,
            field_name=RECORD_FIELDS[SEAL_ROLE],
            reason=f"Đóng dấu {school_name}",
            render=None,
        )

    async def store_file(self, signed: bytes) -> str:
        """Write the signed file (content-addressed, fsync'd) before the settling transaction opens."""
        return await asyncio.to_thread(self.store.put, signed)  # file write + fsync: off the loop

    async def complete(
        self,
        session: AsyncSession,
        job: Job,
        ready: Prepared,
        signed: bytes,
        digest: str | None = None,
        *,
        events: list[tuple[EventPayload, str]] | None = None,
    ) -> None:
        """Store the signed version, remember the request, announce signing.completed (outbox).

        ``digest``: the file is already stored (``store_file``), outside any transaction.
        ``events``: the announcement is appended there, for the caller to add with others."""
        if digest is None:
            digest = await self.store_file(signed)
        await self.complete_stored(session, job, ready, digest, len(signed), events=events)

    async def complete_stored(
        self,
        session: AsyncSession,
        job: Job,
        ready: Prepared,
        digest: str,
        size: int,
        *,
        events: list[tuple[EventPayload, str]] | None = None,
    ) -> None:
        """``complete`` for a signed file already in the store (a batch worker wrote it)."""
        document = SignedDocument(
            # Its id now, not at a flush: a batch's settling inserts its documents together.
            id=uuid.uuid4(),
            school_id=job.school_id,
            sha256=digest,
            size=size,
            kind=job.kind,
            subject_id=job.subject_id,
            request_id=job.request_id,
            signer_user_id=job.signer_user_id,
            signer_role=job.signer_role,
            certificate_sha256=ready.certificate.sha256,
            verification_code=ready.code,
            printed_code=ready.printed_code,
            signature_count=ready.signature_count,
            sealed=job.seal,
            base_document_id=job.base_document_id,
            student_id=job.student_id,
            # Set here, to the microsecond: "current" is the newest version of a subject.
            created_at=datetime.now(UTC),
        )
        self.documents.add(session, document)
        self.requests.add(
            session,
            SigningRequest(
                request_id=job.request_id,
                subject_id=job.subject_id,
                signer_user_id=job.signer_user_id,
                outcome="completed",
                document_id=document.id,
            ),
        )
        if self.on_outcome is not None:
            self.on_outcome("completed")
        completed = (
            SigningCompletedV2(
                request_id=job.request_id,
                subject_id=job.subject_id,
                subject_kind=SUBJECT_KINDS[job.kind],
                document_id=document.id,
                sha256=digest,
                signer_user_id=job.signer_user_id,
                signer_role=job.signer_role,
                certificate_sha256=ready.certificate.sha256,
                signed_at=datetime.now(UTC),
            ),
            job.school_id,
        )
        if events is None:
            await self.outbox.add(session, *completed)
        else:
            events.append(completed)
        log.info(
            "document signed", document_id=str(document.id), sha256=digest, signatures=ready.signature_count
        )

    async def _check_activation(
        self,
        session: AsyncSession,
        job: Job,
        activation_id: uuid.UUID,
        batch_id: uuid.UUID | None,
        requested_at: datetime,
    ) -> None:
        if self.activations is None:
            raise Refused("signature activation is not available")
        await self.activations.check(
            session,
            activation_id=activation_id,
            school_id=job.school_id,
            signer_user_id=job.signer_user_id,
            subject_id=job.subject_id,
            batch_id=batch_id,
            requested_at=requested_at,
        )

    async def preload_versions(
        self, session: AsyncSession, school_id: str, subject_ids: Collection[uuid.UUID]
    ) -> None:
        """A batch run's subjects' document versions, read once for the run's checks (its reading
        session): `_base_document` then asks no query of its own for them."""
        known: dict[tuple[str, uuid.UUID], list[SignedDocument]] = session.info.setdefault(_VERSIONS, {})
        versions = await self.documents.versions_of(session, school_id, subject_ids)
        known.update({(school_id, subject): found for subject, found in versions.items()})

    async def _current_and_base(
        self, session: AsyncSession, job: Job
    ) -> tuple[SignedDocument | None, SignedDocument | None]:
        """The subject's newest document and the job's base document (None: none given or not the
        school's), from the run's preloaded versions when there are any."""
        preloaded = getattr(session, "info", {}).get(_VERSIONS, {})  # the unit tests' fakes have no session
        versions = preloaded.get((job.school_id, job.subject_id))
        if versions is None:
            current = await self.documents.current_for(session, job.school_id, job.subject_id)
            if job.base_document_id is None:
                return current, None
            return current, await self.documents.get(session, job.school_id, job.base_document_id)
        current = max(versions, key=lambda d: d.created_at, default=None)
        base = next((d for d in versions if d.id == job.base_document_id), None)
        if base is None and job.base_document_id is not None:
            # Another subject's document (refused below) or one stored since the preload.
            base = await self.documents.get(session, job.school_id, job.base_document_id)
        return current, base

    async def _base_document(
        self, session: AsyncSession, job: Job, *, read: bool = True
    ) -> tuple[SignedDocument, bytes | None] | None:
        if job.kind == "year_record":
            try:
                expected = signatures_before(job.signer_role)
            except ValueError as error:
                raise Refused(f"role {job.signer_role}: {error}") from None
        else:
            expected = 0
        current, document = await self._current_and_base(session, job)
        if job.base_document_id is None:
            if expected != 0:
                raise Refused(
                    f"a {job.signer_role} signature is added to the earlier signed document (none given)"
                )
            return None
        if document is None or document.subject_id != job.subject_id:
            raise Refused("the base document is not a signed version of this record")
        if document.sealed:
            raise Refused("the document is sealed: it accepts no further signature")
        if current is not None and current.id != document.id:
            raise Refused("the base document is superseded by a newer version")
        if document.signature_count != expected:
            raise Refused(
                f"the base document has {document.signature_count} signatures; "
                f"a {job.signer_role} signature must be number {expected + 1}"
            )
        if not read:
            return document, None
        return document, await asyncio.to_thread(_read_counted, self.store, document)

    async def check(self, certificate: Certificate) -> Validation:
        """The check before a signature (``check_certificate``), with every CRL on the chain fetched
        first: in-process from the development CA, over HTTP (async) from a production CA."""
        intermediates = certificate_chain(certificate)
        crls: dict[tuple[bytes, bytes], bytes] = {}
        try:
            path = build_path(
                x509.load_der_x509_certificate(certificate.der), intermediates, self.trust_roots
            )
        except (ValueError, CertificateRefused):
            path = []  # check_certificate below refuses it with the reason
        for child, issuer in itertools.pairwise(path):
            crls[_pair(child, issuer)] = await self._crl(child, issuer)

        def crl_for(child: x509.Certificate, issuer: x509.Certificate) -> bytes | None:
            return crls.get(_pair(child, issuer))

        check_certificate(certificate.der, self.trust_roots, crl_for, intermediates=intermediates)
        updates = [x509.load_der_x509_crl(der).next_update_utc for der in crls.values()]
        return Validation(
            chain=tuple(c.public_bytes(Encoding.DER) for c in path[1:]),
            crls=tuple(dict.fromkeys(crls.values())),
            valid_until=min((u for u in updates if u is not None), default=NEVER),
        )

    async def _crl(self, child: x509.Certificate, issuer: x509.Certificate) -> bytes:
        if self.ca is not None and issuer == self.ca.root_certificate:
            # Our own CA: in-process, never over HTTP to our own endpoint from our own loop.
            return await asyncio.to_thread(self.ca.crl_der)
        if self.revocation is None:
            raise CertificateRefused(
                f"revocation status of certificate {child.subject.rfc4514_string()} cannot be obtained "
                "(no CRL source for its issuer)"
            )
        return await self.revocation.crl_for(child, issuer)

    def timestamp_authority(self) -> TimestampAuthority:
        """Where this service's timestamps come from, chosen once per request or batch: the
        development CA in-process, or a production TSA over HTTP (raises a refusal if neither)."""
        if self.ca is not None:
            return TimestampAuthority(
                chain=(self.ca.tsa_certificate_der,),
                key_der=self.ca.tsa_key_der,
                certificate_der=self.ca.tsa_certificate_der,
            )
        if self.tsa_url:
            # The TSA's own certificates come inside each timestamp token.
            return TimestampAuthority(chain=(), url=self.tsa_url)
        raise Refused("no timestamp authority is configured (HBS_SIGNING_TSA_URL); B-LT needs one")

    def long_term(
        self,
        certificate: Certificate,
        validation: Validation,
        *,
        archive: bool,
        tsa: TimestampAuthority | None = None,
    ) -> LongTermData:
        """B-LT: a timestamp, and the chain and CRLs in the DSS; B-LTA adds a document timestamp."""
        tsa = tsa or self.timestamp_authority()
        if self.ca is not None and tsa.url is None:
            timestamper: TimeStamper = self.ca.timestamper()
        else:
            assert tsa.url is not None
            timestamper = HttpTimeStamper(tsa.url)
        return LongTermData(
            timestamper=timestamper,
            certificates=tuple(dict.fromkeys((certificate.der, *validation.chain, *tsa.chain))),
            crls=validation.crls,
            archive_timestamp=archive,
        )

    async def _sign(
        self,
        pdf: bytes,
        job: Job,
        certificate: Certificate,
        validation: Validation,
        *,
        lock: bool,
        archive: bool,
        location: str,
        tsa: TimestampAuthority | None = None,
    ) -> bytes:
        box = RECORD_BOXES[job.field_name] if job.kind == "year_record" else job.stamp_box
        return await self.token.sign_pdf(
            pdf,
            key_label=certificate.key_label,
            signing_cert_der=certificate.der,
            chain_der=list(validation.chain),
            field_name=job.field_name,
            signer_name=job.signer_name,
            reason=job.reason,
            location=location,
            long_term=self.long_term(certificate, validation, archive=archive, tsa=tsa),
            options=SignatureOptions(stamp_box=box, lock_document=lock),
        )

    async def fail(self, session: AsyncSession, job: Job, reason: str) -> None:
        log.warning("signing request failed", request_id=str(job.request_id), reason=reason)
        self.requests.add(
            session,
            SigningRequest(
                request_id=job.request_id,
                subject_id=job.subject_id,
                signer_user_id=job.signer_user_id,
                outcome="failed",
                reason=reason[:1000],
            ),
        )
        if self.on_outcome is not None:
            self.on_outcome("failed")
        await self.outbox.add(
            session,
            SigningFailedV2(
                request_id=job.request_id,
                subject_id=job.subject_id,
                subject_kind=SUBJECT_KINDS[job.kind],
                signer_user_id=job.signer_user_id,
                reason=reason[:1000],
                failed_at=datetime.now(UTC),
            ),
            job.school_id,
        )


def certificate_chain(certificate: Certificate) -> list[x509.Certificate]:
    """The CA certificates imported with it (intermediates), for building its chain."""
    if not certificate.chain_pem:
        return []
    return x509.load_pem_x509_certificates(certificate.chain_pem.encode())


def _pair(child: x509.Certificate, issuer: x509.Certificate) -> tuple[bytes, bytes]:
    return child.fingerprint(SHA256()), issuer.fingerprint(SHA256())


def _read_counted(store: DocumentStore, document: SignedDocument) -> bytes:
    """The stored file, which must carry exactly the signatures its record says (DESIGN.md trap);
    off the event loop: parsing a record costs tens of milliseconds."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    pdf = store.get(document.sha256)
    found = signature_count(PdfFileReader(BytesIO(pdf)))
    if found != document.signature_count:
        raise Refused(
            f"the stored document carries {found} signatures, its record says {document.signature_count}"
        )
    return pdf
