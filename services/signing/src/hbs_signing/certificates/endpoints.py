"""Certificates: list with status and expiry; revocation (development CA)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hbs_shared.auth import CurrentPrincipal, Principal
from hbs_shared.events.contracts import SignerRole
from hbs_shared.openapi import file_response
from hbs_shared.problems import Problem
from hbs_shared.roles import Role
from hbs_shared.school_facts import SchoolFactsStore
from hbs_shared.service import runtime_of
from hbs_signing.certificates.check import CertificateRefused, build_path
from hbs_signing.certificates.service import CertificateService
from hbs_signing.devca import DevelopmentCA
from hbs_signing.models import Certificate

router = APIRouter(prefix="/certificates", tags=["certificates"])
CERTIFICATE_ADMIN_ROLES = (Role.system_admin,)
KEY_REQUEST_ROLES = (Role.office_admin, Role.system_admin)
"""The office makes keys, for staff who sign; nobody makes one for themself (a family never)."""
EXPIRY_WARNING = timedelta(days=30)


class CsrRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: uuid.UUID | None = None
    """Whose key (default: the caller). The seal's key is the school's: role "seal"."""
    role: SignerRole
    common_name: str = Field(min_length=1, max_length=200)


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: uuid.UUID | None = None
    role: SignerRole
    chain_pem: str = Field(min_length=100, max_length=100_000)
    """The issued certificate first, then its CA certificates (PEM)."""


def _owner(principal: CurrentPrincipal, user_id: uuid.UUID | None, role: str) -> uuid.UUID:
    from hbs_signing.requests.service import seal_user_id

    if role == "seal":
        if not principal.has_role(*CERTIFICATE_ADMIN_ROLES):
            raise Problem(
                403, "Không có quyền quản lý chứng thư con dấu", "only a system admin", field="role"
            )
        return seal_user_id(principal.school_id)
    owner = user_id or principal.user_id
    if owner != principal.user_id and not principal.has_role(*CERTIFICATE_ADMIN_ROLES):
        raise Problem(403, "Không có quyền với khoá của người khác", "only a system admin", field="user_id")
    return owner


async def _key_owner(request: Request, principal: Principal, body: CsrRequest) -> uuid.UUID:
    """Only the office requests a key, and only for a staff account holding the signing role
    (identity decides from its tables, with the caller's own token), before the token is touched."""
    from hbs_signing.documents.access import authz_of

    if not principal.has_role(*KEY_REQUEST_ROLES):
        raise Problem(403, "Chỉ văn phòng nhà trường tạo được khoá ký số", "office only", field="user_id")
    if body.role == "seal":
        return _owner(principal, body.user_id, body.role)  # the school's key: system admin only
    if body.user_id is None:
        raise Problem(422, "Cần chọn cán bộ ký số", "user_id is required", field="user_id")
    target = await authz_of(request).account(principal.token, body.user_id)
    if target.kind != "staff" or target.disabled or body.role not in target.roles:
        raise Problem(
            422,
            "Tài khoản này không ký số với vai trò đã chọn",
            f"the account is not an active staff member with role {body.role}",
            field="role",
        )
    return body.user_id


class CertificateStatus(BaseModel):
    """A signing certificate and its state now (valid, expired, not_yet_valid, revoked)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "2c9d4e6f-0a1b-4c3d-9e8f-7a6b5c4d3e2f",
                    "user_id": "5d7e8f90-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
                    "role": "subject_teacher",
                    "subject": "CN=Nguyễn Thị Hoa,T=subject_teacher,O=Trường THPT Chuyên Thái Bình,C=VN",
                    "issuer": "CN=HBS Development CA",
                    "serial_number": "3f2a9c",
                    "sha256": "c1d2e3…",
                    "not_before": "2026-09-01T00:00:00+00:00",
                    "not_after": "2028-09-01T00:00:00+00:00",
                    "days_left": 634,
                    "status": "valid",
                    "expiring_soon": False,
                    "revoked_at": None,
                }
            ]
        }
    )

    id: str
    user_id: str
    role: str
    subject: str
    issuer: str
    serial_number: str
    sha256: str
    not_before: str
    not_after: str
    days_left: int
    status: str
    expiring_soon: bool
    revoked_at: str | None


@router.post(
    "/requests",
    response_class=Response,
    responses=file_response("application/pkcs10", "The PKCS#10 request (PEM) for the CA"),
)
async def certificate_request(body: CsrRequest, principal: CurrentPrincipal, request: Request) -> Response:
    """A PKCS#10 request from the key in the token (generated there if missing), for the CA."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    from hbs_signing.certificates.service import key_label_for

    owner = await _key_owner(request, principal, body)
    certificates: CertificateService = request.app.state.certificates
    async with runtime_of(request).db.transaction() as session:
        school = await SchoolFactsStore().require(session, principal.school_id)
    label = key_label_for(owner)
    await certificates.token.ensure_rsa_key(label)
    subject = asn1_x509.Name.build(
        {
            "country_name": "VN",
            "organization_name": school.name,
            "title": body.role,
            "common_name": body.common_name,
        }
    )
    der = await certificates.token.certificate_request(label, subject)
    return Response(pem.armor("CERTIFICATE REQUEST", der), media_type="application/pkcs10")


@router.post("/import", status_code=201, response_model=CertificateStatus)
async def import_certificate(
    body: ImportRequest, principal: CurrentPrincipal, request: Request
) -> dict[str, object]:
    """Import the issued certificate and chain; refused unless it certifies the token key."""
    import hashlib

    from hbs_signing.certificates.service import key_label_for

    if not principal.has_role(*CERTIFICATE_ADMIN_ROLES):
        raise Problem(403, "Không có quyền nhập chứng thư số", "only a system admin imports certificates")
    owner = _owner(principal, body.user_id, body.role)
    try:
        chain = x509.load_pem_x509_certificates(body.chain_pem.encode())
    except ValueError:
        raise Problem(422, "Chứng thư không đọc được", "not PEM certificates", field="chain_pem") from None
    leaf = chain[0]
    certificates: CertificateService = request.app.state.certificates
    label = key_label_for(owner)
    token_key = await certificates.token.public_key(label)
    leaf_key = leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if token_key is None or token_key != leaf_key:
        raise Problem(
            422,
            "Chứng thư không khớp với khoá",
            "the certificate does not match the key in the token",
            field="chain_pem",
        )
    roots: list[x509.Certificate] = request.app.state.trust_roots
    try:
        path = build_path(leaf, chain[1:], roots)
    except CertificateRefused as refused:
        raise Problem(422, "Chứng thư không do CA tin cậy cấp", str(refused), field="chain_pem") from None
    # Keep the intermediates it chains through (not the root: that is configured, not imported).
    intermediates = b"".join(c.public_bytes(Encoding.PEM) for c in path[1:-1]).decode() or None
    now = datetime.now(UTC)
    if not leaf.not_valid_before_utc <= now < leaf.not_valid_after_utc:
        raise Problem(422, "Chứng thư hết hạn hoặc chưa có hiệu lực", "not valid now", field="chain_pem")
    der = leaf.public_bytes(Encoding.DER)
    cn = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    stored = Certificate(
        school_id=principal.school_id,
        user_id=owner,
        key_label=label,
        subject_name=str(cn[0].value) if cn else leaf.subject.rfc4514_string(),
        role=body.role,
        sha256=hashlib.sha256(der).hexdigest(),
        der=der,
        chain_pem=intermediates,
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
    )
    async with runtime_of(request).db.transaction() as session:
        stored = await certificates.imported(session, stored)
    return certificate_status(stored, request.app.state.development_ca, now)


class Revoke(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500)


def certificate_status(
    certificate: Certificate, ca: DevelopmentCA | None, now: datetime
) -> dict[str, object]:
    parsed = x509.load_der_x509_certificate(certificate.der)
    revoked = ca.revocation(parsed.serial_number) if ca is not None else None
    not_after = parsed.not_valid_after_utc
    if revoked is not None:
        status = "revoked"
    elif now >= not_after:
        status = "expired"
    elif now < parsed.not_valid_before_utc:
        status = "not_yet_valid"
    else:
        status = "valid"
    return {
        "id": str(certificate.id),
        "user_id": str(certificate.user_id),
        "role": certificate.role,
        "subject": parsed.subject.rfc4514_string(),
        "issuer": parsed.issuer.rfc4514_string(),
        "serial_number": format(parsed.serial_number, "x"),
        "sha256": certificate.sha256,
        "not_before": parsed.not_valid_before_utc.isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": max((not_after - now).days, 0),
        "status": status,
        "expiring_soon": status == "valid" and not_after - now <= EXPIRY_WARNING,
        "revoked_at": revoked[0].isoformat() if revoked else None,
    }


@router.get("", response_model=list[CertificateStatus])
async def list_certificates(principal: CurrentPrincipal, request: Request) -> list[dict[str, object]]:
    """Own certificates; a system admin sees the school's."""
    certificates: CertificateService = request.app.state.certificates
    only = None if principal.has_role(*CERTIFICATE_ADMIN_ROLES) else principal.user_id
    async with runtime_of(request).db.transaction() as session:
        found = await certificates.listed(session, principal.school_id, only)
    now = datetime.now(UTC)
    ca: DevelopmentCA | None = request.app.state.development_ca
    listed = [certificate_status(c, ca, now) for c in found]
    if principal.has_role(*CERTIFICATE_ADMIN_ROLES):
        record_expiry(request.app.state, listed, now)
    return listed


def record_expiry(state: Any, statuses: list[dict[str, object]], now: datetime) -> None:
    """The renewal metrics: how many valid certificates expire within 30 days, and in how many
    days the first one does (HbsCertificateExpiring)."""
    state.expiry_gauge.set(sum(1 for status in statuses if status["expiring_soon"]))
    valid = [datetime.fromisoformat(str(s["not_after"])) for s in statuses if s["status"] == "valid"]
    if valid:
        state.days_left_gauge.set((min(valid) - now).total_seconds() / 86400)


@router.post("/{certificate_id}/revoke", response_model=CertificateStatus)
async def revoke(
    certificate_id: uuid.UUID, body: Revoke, principal: CurrentPrincipal, request: Request
) -> dict[str, object]:
    if not principal.has_role(*CERTIFICATE_ADMIN_ROLES):
        raise Problem(403, "Không có quyền thu hồi chứng thư số", "only a system admin revokes certificates")
    ca: DevelopmentCA | None = request.app.state.development_ca
    certificates: CertificateService = request.app.state.certificates
    async with runtime_of(request).db.transaction() as session:
        certificate = await certificates.of_school(session, principal.school_id, certificate_id)
    if certificate is None:
        raise Problem(404, "Không tìm thấy chứng thư số", "no such certificate", field="certificate_id")
    if ca is None:
        raise Problem(409, "Thu hồi tại tổ chức cung cấp chứng thư", "revoke it at the issuing CA")
    serial = x509.load_der_x509_certificate(certificate.der).serial_number
    ca.revoke(serial, body.reason)
    return certificate_status(certificate, ca, datetime.now(UTC))
