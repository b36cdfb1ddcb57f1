"""The two-person rule (docs/architecture.md): resetting a factor of an account takes a request by
the office or the board and the approval of a board member who is neither the requester nor the
owner; the owner is told at their next sign-in and signing learns of it from an event."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from hbs_identity.accounts.passwords import hash_password
from hbs_identity.accounts.security import RefreshTokens, initial_password
from hbs_identity.authz.policy import Scope
from hbs_identity.errors import BOARD_ROLES, OVERSEER_ROLES, not_found
from hbs_identity.factor_resets.repository import FactorResetRepository
from hbs_identity.factor_resets.schemas import FactorResetIn, FactorResetOut, SecurityNotice
from hbs_identity.models import Account, FactorReset
from hbs_identity.unit import Unit
from hbs_shared.events.identity import AccountFactorReset
from hbs_shared.problems import Problem

REQUESTER_ROLES = OVERSEER_ROLES
"""office_admin, system_admin, principal, vice_principal: who may ask for a reset."""


def _refused(title: str, detail: str) -> Problem:
    return Problem(403, title, detail)


def _out(reset: FactorReset, user_name: str, password: str | None = None) -> FactorResetOut:
    return FactorResetOut(
        id=reset.id,
        user_id=reset.user_id,
        user_name=user_name,
        factor=reset.factor,
        reason=reset.reason,
        state=reset.state,
        requested_by=reset.requested_by,
        requested_by_name=reset.requested_by_name,
        requested_at=reset.requested_at,
        decided_by=reset.decided_by,
        decided_by_name=reset.decided_by_name,
        decided_at=reset.decided_at,
        decision_reason=reset.decision_reason,
        initial_password=password,
    )


class FactorResetService:
    def __init__(self, refresh: RefreshTokens, repository: FactorResetRepository | None = None) -> None:
        self.refresh = refresh
        self.repo = repository or FactorResetRepository()

    async def _account(self, unit: Unit, user_id: uuid.UUID) -> Account:
        account = await unit.session.get(Account, user_id)
        if account is None or account.school_id != unit.school_id:
            raise not_found(f"account {user_id}")
        return account

    async def _reset(self, unit: Unit, reset_id: uuid.UUID) -> FactorReset:
        reset = await self.repo.get(unit.session, reset_id, lock=True)
        if reset is None or reset.school_id != unit.school_id:
            raise not_found(f"factor reset {reset_id}")
        return reset

    @staticmethod
    def _still_pending(reset: FactorReset) -> None:
        if reset.state != "pending":
            raise Problem(
                409,
                "Yêu cầu đặt lại này đã được xử lý",
                f"the request is already {reset.state}",
                field="id",
                extra={"code": "not_pending", "state": reset.state},
            )

    async def request(
        self, unit: Unit, scope: Scope, user_id: uuid.UUID, body: FactorResetIn
    ) -> FactorResetOut:
        if not scope.has(REQUESTER_ROLES):
            raise _refused(
                "Chỉ văn phòng, quản trị hệ thống hoặc Ban giám hiệu được yêu cầu đặt lại",
                "only office or system admins and the board request factor resets",
            )
        account = await self._account(unit, user_id)
        if account.id == unit.actor.user_id:
            raise _refused(
                "Không được yêu cầu đặt lại cho tài khoản của chính mình",
                "nobody requests a reset of their own account",
            )
        pending_already = Problem(
            409,
            "Đã có một yêu cầu đặt lại yếu tố này đang chờ phê duyệt",
            f"a {body.factor} reset of this account is already pending",
            field="factor",
            extra={"code": "reset_pending"},
        )
        if await self.repo.pending(unit.session, account.id, body.factor) is not None:
            raise pending_already
        assert unit.actor.user_id is not None  # caller_scope refused anonymous callers
        reset = FactorReset(
            id=uuid.uuid4(),
            school_id=unit.school_id,
            user_id=account.id,
            factor=body.factor,
            reason=body.reason,
            state="pending",
            requested_by=unit.actor.user_id,
            requested_by_name=unit.actor.name,
            requested_at=datetime.now(UTC),
        )
        try:
            # The partial unique index settles two simultaneous requests.
            async with unit.session.begin_nested():
                self.repo.add(unit.session, reset)
                await unit.session.flush()
        except IntegrityError:
            raise pending_already from None
        unit.audit(
            "factor_reset.requested",
            "account",
            account.id,
            reset_id=str(reset.id),
            factor=body.factor,
            reason=body.reason,
        )
        return _out(reset, account.full_name)

    async def listing(self, unit: Unit, scope: Scope, state: str) -> list[FactorResetOut]:
        if not scope.has(REQUESTER_ROLES):
            raise _refused(
                "Chỉ văn phòng, quản trị hệ thống hoặc Ban giám hiệu xem các yêu cầu đặt lại",
                "only office or system admins and the board read factor resets",
            )
        return [
            _out(reset, name) for reset, name in await self.repo.in_state(unit.session, unit.school_id, state)
        ]

    async def approve(self, unit: Unit, scope: Scope, reset_id: uuid.UUID) -> FactorResetOut:
        reset = await self._reset(unit, reset_id)
        if not scope.has(BOARD_ROLES):
            raise _refused(
                "Chỉ thành viên Ban giám hiệu (hiệu trưởng, phó hiệu trưởng) được phê duyệt việc đặt lại",
                "only the principal or a vice-principal approves a factor reset",
            )
        if reset.requested_by == unit.actor.user_id:
            raise _refused(
                "Người yêu cầu không được tự phê duyệt: cần một thành viên Ban giám hiệu khác",
                "the requester cannot approve their own request",
            )
        if reset.user_id == unit.actor.user_id:
            raise _refused(
                "Không được phê duyệt việc đặt lại cho tài khoản của chính mình",
                "the owner of the account cannot approve its reset",
            )
        self._still_pending(reset)
        account = await self._account(unit, reset.user_id)
        now = datetime.now(UTC)
        password: str | None = None
        if reset.factor == "password":
            password = initial_password()
            account.password_hash = await asyncio.to_thread(hash_password, password)
            account.must_change_password = True
            await self.refresh.revoke_account(unit.session, account.id, now)
        elif reset.factor == "totp":
            account.totp_enabled, account.totp_secret = False, None
        # signing_pin: identity holds nothing of it; signing forgets the PIN on the event.
        reset.state = "approved"
        assert unit.actor.user_id is not None  # caller_scope refused anonymous callers
        reset.decided_by, reset.decided_by_name, reset.decided_at = unit.actor.user_id, unit.actor.name, now
        await unit.emit(
            AccountFactorReset(
                user_id=account.id,
                factor=reset.factor,
                reset_id=reset.id,
                requested_by=reset.requested_by,
                approved_by=unit.actor.user_id,
                approved_at=now,
            )
        )
        unit.audit(
            "factor_reset.approved",
            "account",
            account.id,
            reset_id=str(reset.id),
            factor=reset.factor,
            requested_by=str(reset.requested_by),
        )
        return _out(reset, account.full_name, password)

    async def reject(self, unit: Unit, scope: Scope, reset_id: uuid.UUID, reason: str) -> FactorResetOut:
        reset = await self._reset(unit, reset_id)
        if not scope.has(BOARD_ROLES) and reset.requested_by != unit.actor.user_id:
            raise _refused(
                "Chỉ Ban giám hiệu hoặc người đã yêu cầu được từ chối yêu cầu đặt lại",
                "only a board member or the requester rejects a factor reset",
            )
        self._still_pending(reset)
        reset.state = "rejected"
        reset.decided_by, reset.decided_by_name = unit.actor.user_id, unit.actor.name
        reset.decided_at, reset.decision_reason = datetime.now(UTC), reason
        account = await self._account(unit, reset.user_id)
        unit.audit(
            "factor_reset.rejected",
            "account",
            account.id,
            reset_id=str(reset.id),
            factor=reset.factor,
            reason=reason,
        )
        return _out(reset, account.full_name)

    async def notices(self, unit: Unit, user_id: uuid.UUID) -> list[SecurityNotice]:
        return [
            SecurityNotice(
                reset_id=reset.id,
                factor=reset.factor,
                requested_by_name=reset.requested_by_name,
                approved_by_name=reset.decided_by_name or "",
                approved_at=reset.decided_at or reset.requested_at,
            )
            for reset in await self.repo.unacknowledged(unit.session, user_id)
        ]

    async def acknowledge(self, unit: Unit, reset_id: uuid.UUID) -> None:
        reset = await self.repo.get(unit.session, reset_id, lock=True)
        # Somebody else's reset (or a pending one) is not disclosed.
        if reset is None or reset.user_id != unit.actor.user_id or reset.state != "approved":
            raise not_found(f"security notice {reset_id}")
        if reset.acknowledged_at is None:
            reset.acknowledged_at = datetime.now(UTC)
            unit.audit("factor_reset.acknowledged", "account", reset.user_id, reset_id=str(reset.id))
