"""HTTP: account administration (Đ7), sign-in slips and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hbs_identity.accounts.admin import AccountAdmin, audit_entries
from hbs_identity.accounts.signin import SignIn
from hbs_identity.accounts.slips import Slip, render_slips
from hbs_identity.authz.guard import caller_scope, require_admin
from hbs_identity.errors import ADMIN_ROLES, forbidden, not_found
from hbs_identity.models import Account, Student
from hbs_identity.people.repository import PeopleRepository
from hbs_identity.school.repository import SchoolRepository
from hbs_identity.school.schemas import Text
from hbs_identity.settings import IdentitySettings
from hbs_identity.unit import Unit, request_unit
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.roles import Role
from hbs_shared.service import runtime_of

router = APIRouter(tags=["accounts"])
_people = PeopleRepository()
_schools = SchoolRepository()


class DisableIn(BaseModel):
    reason: Text = Field(min_length=3, max_length=500)


class AccountOut(BaseModel):
    id: uuid.UUID
    username: str
    full_name: str
    kind: str
    roles: list[str]
    disabled: bool
    must_change_password: bool
    totp_enabled: bool


class InitialPassword(BaseModel):
    id: uuid.UUID
    login: str
    initial_password: str


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    actor_id: uuid.UUID | None
    actor_name: str
    action: str
    object_type: str | None
    object_id: str | None
    source: str | None
    detail: dict[str, Any]


def _admin(request: Request) -> AccountAdmin:
    sign_in: SignIn = request.app.state.sign_in
    return AccountAdmin(sign_in.refresh)


def _out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id,
        username=account.username,
        full_name=account.full_name,
        kind=account.kind,
        roles=sorted(account.roles),
        disabled=account.disabled,
        must_change_password=account.must_change_password,
        totp_enabled=account.totp_enabled,
    )


def _login_of(account: Account) -> str:
    return account.phone if account.kind == "parent" and account.phone else account.username


@router.get("/accounts/{account_id}", response_model=AccountOut)
async def get_account(account_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> AccountOut:
    async with request_unit(request, principal) as unit:
        scope = await caller_scope(unit)
        if scope.user_id != account_id and not scope.has(ADMIN_ROLES):
            raise not_found(f"account {account_id}")
        return _out(await _admin(request).account(unit, account_id))


@router.post("/accounts/{account_id}/disable", response_model=AccountOut)
async def disable(
    account_id: uuid.UUID, body: DisableIn, request: Request, principal: CurrentPrincipal
) -> AccountOut:
    """Identity refuses the account at once; other services within one access-token lifetime."""
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        admin = _admin(request)
        account = await admin.account(unit, account_id)
        await admin.disable(unit, account, body.reason)
        return _out(account)


@router.post("/accounts/{account_id}/enable", response_model=AccountOut)
async def enable(account_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> AccountOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        admin = _admin(request)
        account = await admin.account(unit, account_id)
        await admin.enable(unit, account)
        return _out(account)


@router.post("/accounts/{account_id}/password", response_model=InitialPassword)
async def new_password(
    account_id: uuid.UUID, request: Request, principal: CurrentPrincipal
) -> InitialPassword:
    """A new initial password, shown once; the person must change it at first sign-in."""
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        admin = _admin(request)
        account = await admin.account(unit, account_id)
        passwords = await admin.new_passwords(unit, [account])
        return InitialPassword(
            id=account.id, login=_login_of(account), initial_password=passwords[account.id]
        )


@router.post("/accounts/{account_id}/totp/reset", response_model=AccountOut)
async def reset_totp(account_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> AccountOut:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        admin = _admin(request)
        account = await admin.account(unit, account_id)
        admin.reset_totp(unit, account)
        return _out(account)


def _pdf(content: bytes, name: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )


async def _render(request: Request, unit: Unit, slips: list[Slip]) -> bytes:
    settings = runtime_of(request).settings
    assert isinstance(settings, IdentitySettings)
    school = await _schools.school(unit.session, unit.school_id)
    return render_slips(school.name if school else unit.school_id, settings.portal_url, slips)


@router.post("/classes/{class_id}/sign-in-slips")
async def class_slips(
    class_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    who: Annotated[Literal["students", "parents"], Query()] = "students",
) -> Response:
    """New initial passwords for a whole class's students (or their parents), as printable slips."""
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        school_class = await _schools.school_class(unit.session, class_id)
        if school_class is None or school_class.school_id != unit.school_id:
            raise not_found(f"class {class_id}")
        _, students = await _people.search_students(
            unit.session,
            unit.school_id,
            query=None,
            class_ids={class_id},
            student_ids=None,
            limit=10_000,
            offset=0,
        )
        owners: list[tuple[Account, str]] = []
        seen: set[uuid.UUID] = set()
        for student in students:
            if who == "students":
                account = await _people.account(unit.session, student.id)
                if account is not None and not account.disabled:
                    owners.append((account, f"Học sinh lớp {school_class.name}"))
                continue
            for parent in await _people.parents_of(unit.session, student.id):
                account = await _people.account(unit.session, parent.id)
                if account is not None and not account.disabled and account.id not in seen:
                    seen.add(account.id)
                    owners.append((account, f"Phụ huynh của {student.full_name} ({school_class.name})"))
        passwords = await _admin(request).new_passwords(unit, [a for a, _ in owners])
        slips = [Slip(a.full_name, label, _login_of(a), passwords[a.id]) for a, label in owners]
        unit.audit("slips.printed", "class", class_id, who=who, count=len(slips))
        return _pdf(await _render(request, unit, slips), f"phieu-dang-nhap-{who}-{school_class.name}.pdf")


@router.post("/accounts/{account_id}/sign-in-slip")
async def one_slip(account_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        admin = _admin(request)
        account = await admin.account(unit, account_id)
        label = {"student": "Học sinh", "parent": "Phụ huynh"}.get(account.kind, "Cán bộ, giáo viên")
        if account.kind == "student":
            student = await unit.session.get(Student, account.id)
            classes = await _schools.active_enrolments_of(unit.session, account.id) if student else []
            if classes:
                school_class = await _schools.school_class(unit.session, classes[0].class_id)
                label = f"Học sinh lớp {school_class.name}" if school_class else label
        passwords = await admin.new_passwords(unit, [account])
        slip = Slip(account.full_name, label, _login_of(account), passwords[account.id])
        return _pdf(await _render(request, unit, [slip]), f"phieu-dang-nhap-{account.username}.pdf")


@router.get("/audit", response_model=list[AuditOut])
async def audit(
    request: Request,
    principal: CurrentPrincipal,
    action: Annotated[str | None, Query(max_length=60)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    """Newest first: every sign-in, failure and administrative action of the school."""
    async with request_unit(request, principal) as unit:
        scope = await caller_scope(unit)
        if not scope.has(frozenset({Role.system_admin, Role.principal})):
            raise forbidden("the audit log is for the system admins and the principal")
        entries = await audit_entries(unit.session, unit.school_id, action, object_id, limit)
        return [AuditOut.model_validate(e) for e in entries]
