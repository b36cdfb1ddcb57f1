"""Signing PIN and signature activation (HTTP)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from hbs_shared.auth import CurrentPrincipal, Principal
from hbs_shared.logging import error_kind, get_logger
from hbs_shared.problems import Problem
from hbs_shared.roles import SIGNERS
from hbs_shared.service import runtime_of
from hbs_signing.activations.service import ActivationError, ActivationScope, ActivationService
from hbs_signing.token import TokenError

log = get_logger(__name__)
router = APIRouter(tags=["signature activation"])
_STATUS = {
    "pin_format": 422,
    "current_pin_required": 422,
    "empty_scope": 422,
    "no_pin": 409,
    "pin_reset_required": 409,
    "wrong_pin": 403,
    "pin_locked": 423,
}
_TITLE = {
    "pin_format": "Mã PIN ký số gồm 6 đến 12 chữ số",
    "current_pin_required": "Cần nhập mã PIN ký số hiện tại",
    "empty_scope": "Cần chọn tài liệu hoặc lô cần ký",
    "no_pin": "Chưa đặt mã PIN ký số",
    "pin_reset_required": "Tài khoản của bạn vừa được đặt lại; hãy tự đặt mã PIN ký số mới trước khi ký",
    "wrong_pin": "Mã PIN ký số không đúng",
    "pin_locked": "Mã PIN ký số đã bị khoá",
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SetPin(_Body):
    pin: str = Field(min_length=1, max_length=64)
    current_pin: str | None = Field(default=None, max_length=64)


class ResetPin(_Body):
    reason: str = Field(min_length=3, max_length=1000)


class ActivationRequest(_Body):
    pin: str = Field(min_length=1, max_length=64)
    subject_ids: list[uuid.UUID] = Field(default_factory=list, max_length=5000)
    batch_id: uuid.UUID | None = None


class ActivationOut(BaseModel):
    activation_id: uuid.UUID
    expires_at: datetime
    subject_ids: list[uuid.UUID]
    batch_id: uuid.UUID | None


def _service(request: Request) -> ActivationService:
    service: ActivationService = request.app.state.activations
    return service


def _problem(error: ActivationError, field: str) -> Problem:
    extra = {"code": error.code}
    if error.attempts_left is not None:
        extra["attempts_left"] = str(error.attempts_left)
    return Problem(
        _STATUS.get(error.code, 400),
        _TITLE.get(error.code, "Không kích hoạt được"),
        str(error),
        field=field,
        extra=extra,
    )


class PinStatus(BaseModel):
    """The caller's own signing PIN (never the PIN itself)."""

    set: bool
    locked: bool
    attempts_left: int
    reset_required: bool


@router.get("/signing-pin", response_model=PinStatus)
async def pin_status(principal: CurrentPrincipal, request: Request) -> dict[str, object]:
    async with runtime_of(request).db.transaction() as session:
        return await _service(request).has_pin(session, principal.school_id, principal.user_id)


def _require_signer(principal: Principal) -> None:
    # A PIN only ever unlocks one's own key: an account that signs nothing gets neither.
    if not principal.has_role(*SIGNERS):
        raise Problem(403, "Chỉ người ký số (giáo viên, Ban giám hiệu) có mã PIN ký số", "not a signer")


@router.put("/signing-pin", status_code=204)
async def set_pin(body: SetPin, principal: CurrentPrincipal, request: Request) -> None:
    _require_signer(principal)
    failure: ActivationError | None = None
    async with runtime_of(request).db.transaction() as session:
        try:
            await _service(request).set_pin(
                session, principal.school_id, principal.user_id, body.pin, body.current_pin
            )
        except ActivationError as error:
            failure = error  # commit the counted wrong try, then refuse
    if failure is not None:
        raise _problem(failure, "current_pin" if failure.code != "pin_format" else "pin")
    try:
        await request.app.state.certificates.prepare_key(principal.user_id)
    except TokenError as error:  # the first signature makes it instead
        log.warning("signer's key not prepared", error=error_kind(error))


@router.post("/signing-pin/{user_id}/reset", status_code=204, deprecated=True)
async def reset_pin(user_id: uuid.UUID, body: ResetPin, principal: CurrentPrincipal) -> None:
    """No longer resets: one admin alone must not be able to cause a signature in someone's name.
    Ask identity for a `signing_pin` factor reset; a second board member approves it."""
    raise Problem(
        409,
        "Tài khoản ký số: việc đặt lại cần một thành viên Ban giám hiệu khác phê duyệt",
        f"request it in identity: POST /accounts/{user_id}/factor-resets with factor signing_pin",
        field="user_id",
        extra={"code": "approval_required"},
    )


@router.post("/activations", status_code=201)
async def activate(body: ActivationRequest, principal: CurrentPrincipal, request: Request) -> ActivationOut:
    _require_signer(principal)
    failure: ActivationError | None = None
    async with runtime_of(request).db.transaction() as session:
        try:
            activation = await _service(request).activate(
                session,
                principal.school_id,
                principal.user_id,
                body.pin,
                ActivationScope(frozenset(body.subject_ids), body.batch_id),
            )
            out = ActivationOut(
                activation_id=activation.id,
                expires_at=activation.expires_at,
                subject_ids=sorted(body.subject_ids),
                batch_id=body.batch_id,
            )
        except ActivationError as error:
            failure = error
    if failure is not None:
        raise _problem(failure, "pin")
    if body.batch_id is not None:
        # The batch's requests follow within seconds: its workers start meanwhile.
        request.app.state.batches.warm()
    return out
