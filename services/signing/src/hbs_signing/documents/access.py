"""Who may read a signed document: whoever signed any version of it and the school's overseers;
a year record (học bạ) also the student and their parents, once sealed, as identity decides."""

from __future__ import annotations

import uuid

from fastapi import Request

from hbs_shared.auth import Principal
from hbs_shared.authz import AuthzClient
from hbs_shared.roles import FAMILY, OVERSEERS
from hbs_shared.service import runtime_of
from hbs_signing.documents.repository import DocumentRepository
from hbs_signing.models import SignedDocument

OVERSIGHT_ROLES = tuple(OVERSEERS)
FAMILY_ROLES = tuple(FAMILY)


def authz_of(request: Request) -> AuthzClient:
    """One client per app, made on first use (tests put an in-process one in its place)."""
    authz: AuthzClient | None = getattr(request.app.state, "authz", None)
    if authz is None:
        authz = AuthzClient(runtime_of(request).settings.identity_url)
        request.app.state.authz = authz
    return authz


async def may_read_student(request: Request, principal: Principal, student_id: uuid.UUID) -> bool:
    """A student's signed records: the overseers, or the student and their parents (Đ9)."""
    if principal.has_role(*OVERSIGHT_ROLES):
        return True
    if not principal.has_role(*FAMILY_ROLES):
        return False
    return await authz_of(request).allowed(principal.token, "student.read", student_id)


async def may_read(request: Request, principal: Principal, document: SignedDocument) -> bool:
    if document.school_id != principal.school_id:
        return False
    if document.signer_user_id == principal.user_id or principal.has_role(*OVERSIGHT_ROLES):
        return True
    # Later versions carry an earlier signer's signature: the homeroom teacher reads the sealed record.
    async with runtime_of(request).db.transaction() as session:
        if await DocumentRepository().has_signed(
            session, document.school_id, document.subject_id, principal.user_id
        ):
            return True
    # A family reads only the finished record (sealed), never a version still being signed.
    if document.kind != "year_record" or document.student_id is None or not document.sealed:
        return False
    return await may_read_student(request, principal, document.student_id)
