"""HTTP: account administration (Đ7), sign-in slips and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hbs_identity import audit as trail
from hbs_identity.accounts.admin import AccountAdmin
from hbs_identity.accounts.signin import SignIn
from hbs_identity.accounts.slip_owners import class_slip_owners, school_name, slip_label
from hbs_identity.accounts.slips import Slip, render_slips
from hbs_identity.authz.guard import caller_scope, require_admin
from hbs_identity.authz.policy import Scope
from hbs_identity.errors import ADMIN_ROLES, forbidden, not_found
from hbs_identity.models import Account
from hbs_identity.school.schemas import Text
from hbs_identity.settings import IdentitySettings
from hbs_identity.unit import Unit, request_unit
from hbs_shared.audit.schemas import ChainStatusOut, Moment
from hbs_shared.audit.store import verify_stored
from hbs_shared.auth import CurrentPrincipal
from hbs_shared.openapi import file_response
from hbs_shared.roles import OVERSEERS
from hbs_shared.service import runtime_of

router = APIRouter(tags=["accounts"])


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
    seq: int
    hash: str
    at: datetime
    actor_id: uuid.UUID | None
    actor_name: str
    action: str
    object_type: str | None
    object_id: str | None
    source: str | None
    detail: dict[str, Any]
    object_name: str | None = None
    """The object's name (a person, a class…) as it is now, so a reader sees names, not ids."""


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


_SLIPS = file_response("application/pdf", "Printable sign-in slips with new initial passwords")


def _pdf(content: bytes, name: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )


async def _render(request: Request, unit: Unit, slips: list[Slip]) -> bytes:
    settings = runtime_of(request).settings
    assert isinstance(settings, IdentitySettings)
    return render_slips(await school_name(unit), settings.portal_url, slips)


@router.post("/classes/{class_id}/sign-in-slips", response_class=Response, responses=_SLIPS)
async def class_slips(
    class_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    who: Annotated[Literal["students", "parents"], Query()] = "students",
) -> Response:
    """New initial passwords for a whole class's students (or their parents), as printable slips."""
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        school_class, owners = await class_slip_owners(unit, class_id, who)
        passwords = await _admin(request).new_passwords(unit, [a for a, _ in owners])
        slips = [Slip(a.full_name, label, _login_of(a), passwords[a.id]) for a, label in owners]
        unit.audit("slips.printed", "class", class_id, who=who, count=len(slips))
        return _pdf(await _render(request, unit, slips), f"phieu-dang-nhap-{who}-{school_class.name}.pdf")


@router.post("/accounts/{account_id}/sign-in-slip", response_class=Response, responses=_SLIPS)
async def one_slip(account_id: uuid.UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with request_unit(request, principal) as unit:
        require_admin(await caller_scope(unit))
        admin = _admin(request)
        account = await admin.account(unit, account_id)
        label = await slip_label(unit, account)
        passwords = await admin.new_passwords(unit, [account])
        slip = Slip(account.full_name, label, _login_of(account), passwords[account.id])
        return _pdf(await _render(request, unit, [slip]), f"phieu-dang-nhap-{account.username}.pdf")


@router.get("/audit", response_model=list[AuditOut])
async def audit(
    request: Request,
    principal: CurrentPrincipal,
    action: Annotated[str | None, Query(max_length=60)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: uuid.UUID | None = None,
    since: Moment | None = None,
    until: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[AuditOut]:
    """Newest first: every sign-in, failure and administrative action of the school, with the
    names of the objects acted on."""
    async with request_unit(request, principal) as unit:
        _require_audit_reader(await caller_scope(unit))
        entries = await trail.entries(
            unit.session,
            unit.school_id,
            action=action,
            object_id=object_id,
            actor_id=actor_id,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
        names = await trail.subject_names(unit.session, entries)
        return [
            AuditOut.model_validate(e).model_copy(
                update={"object_name": names.get((e.object_type or "", e.object_id or ""))}
            )
            for e in entries
        ]


@router.get("/audit/verify", response_model=ChainStatusOut)
async def audit_verify(request: Request, principal: CurrentPrincipal) -> ChainStatusOut:
    """Whether identity's audit chain is intact, or the first broken link (Đ9.2)."""
    async with request_unit(request, principal) as unit:
        _require_audit_reader(await caller_scope(unit))
        return ChainStatusOut.of("identity", await verify_stored(unit.session, trail.LAYOUT))


def _require_audit_reader(scope: Scope) -> None:
    if not scope.has(OVERSEERS):
        raise forbidden("the audit log is for the board and the office")
