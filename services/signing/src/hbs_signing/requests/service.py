"""Carrying out a signing request: certificate, document, signature, store, reply event."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_shared.events.contracts import SheetSigningRequested, SigningCompleted, SigningFailed
from hbs_shared.logging import get_logger
from hbs_shared.messaging.outbox import OutboxRepository
from hbs_signing.certificates.service import CertificateService, NoUsableCertificate
from hbs_signing.devca import DevelopmentCA
from hbs_signing.documents.render import render_placeholder_sheet
from hbs_signing.documents.repository import DocumentRepository, SigningRequestRepository
from hbs_signing.documents.store import DocumentStore
from hbs_signing.models import SignedDocument, SigningRequest
from hbs_signing.token import Token, TokenError

log = get_logger(__name__)

# Crockford-like alphabet without look-alikes (0/O, 1/I/L) for codes read aloud or typed.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_verification_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


class SigningRequestService:
    def __init__(
        self,
        token: Token,
        certificates: CertificateService,
        store: DocumentStore,
        development_ca: DevelopmentCA | None,
        *,
        school_name: str,
        location: str,
    ) -> None:
        self.token = token
        self.certificates = certificates
        self.store = store
        self.ca = development_ca
        self.school_name = school_name
        self.location = location
        self.requests = SigningRequestRepository()
        self.documents = DocumentRepository()
        self.outbox = OutboxRepository()

    async def sign_sheet(self, session: AsyncSession, school_id: str, request: SheetSigningRequested) -> None:
        if await self.requests.get(session, request.request_id) is not None:
            log.info("signing request already handled", request_id=str(request.request_id))
            return
        try:
            certificate = await self.certificates.for_signer(
                session,
                school_id,
                request.signer_user_id,
                request.signer_name,
                request.signer_role,
            )
            code = new_verification_code()
            pdf = render_placeholder_sheet(
                school_name=self.school_name,
                class_name=request.class_name,
                subject=request.subject,
                term=request.term,
                school_year=request.school_year,
                teacher_name=request.signer_name,
                verification_code=code,
            )
            chain = [self.ca.root_der] if self.ca is not None else []
            signed = await self.token.sign_pdf(
                pdf,
                key_label=certificate.key_label,
                signing_cert_der=certificate.der,
                chain_der=chain,
                field_name="Sig1_GVBM",
                signer_name=request.signer_name,
                reason=f"Giáo viên bộ môn ký sổ điểm {request.subject} lớp {request.class_name}",
                location=self.location,
            )
        except (NoUsableCertificate, TokenError) as error:
            await self._fail(session, school_id, request, str(error))
            return
        digest = self.store.put(signed)
        document = SignedDocument(
            school_id=school_id,
            sha256=digest,
            size=len(signed),
            kind="score_sheet",
            subject_id=request.sheet_id,
            request_id=request.request_id,
            signer_user_id=request.signer_user_id,
            signer_role=request.signer_role,
            certificate_sha256=certificate.sha256,
            verification_code=code,
        )
        self.documents.add(session, document)
        await session.flush()
        self.requests.add(
            session,
            SigningRequest(
                request_id=request.request_id,
                subject_id=request.sheet_id,
                signer_user_id=request.signer_user_id,
                outcome="completed",
                document_id=document.id,
            ),
        )
        await self.outbox.add(
            session,
            SigningCompleted(
                request_id=request.request_id,
                subject_id=request.sheet_id,
                document_id=document.id,
                sha256=digest,
                signer_user_id=request.signer_user_id,
                signer_role=request.signer_role,
                certificate_sha256=certificate.sha256,
                signed_at=datetime.now(UTC),
            ),
            school_id,
        )
        log.info("document signed", document_id=str(document.id), sha256=digest)

    async def _fail(
        self, session: AsyncSession, school_id: str, request: SheetSigningRequested, reason: str
    ) -> None:
        log.warning("signing request failed", request_id=str(request.request_id), reason=reason)
        self.requests.add(
            session,
            SigningRequest(
                request_id=request.request_id,
                subject_id=request.sheet_id,
                signer_user_id=request.signer_user_id,
                outcome="failed",
                reason=reason,
            ),
        )
        await self.outbox.add(
            session,
            SigningFailed(
                request_id=request.request_id,
                subject_id=request.sheet_id,
                signer_user_id=request.signer_user_id,
                reason=reason,
                failed_at=datetime.now(UTC),
            ),
            school_id,
        )
