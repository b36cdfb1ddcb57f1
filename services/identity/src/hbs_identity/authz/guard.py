"""The caller's scope inside a request, and the role checks identity's own endpoints use."""

from __future__ import annotations

from hbs_identity.authz.policy import Scope
from hbs_identity.authz.service import AuthzService
from hbs_identity.errors import ADMIN_ROLES, OVERSEER_ROLES, forbidden
from hbs_identity.unit import Unit
from hbs_shared.problems import Problem
from hbs_shared.roles import PROVINCE
from hbs_shared.schools import PROVINCE_SCOPE

_authz = AuthzService()


async def caller_scope(unit: Unit) -> Scope:
    """The caller's current scope; a disabled (or deleted) account is refused at once here."""
    if unit.actor.user_id is None:
        raise Problem(401, "Cần đăng nhập", "no user")
    if not unit.actor.roles:
        # A restricted token: the password change or TOTP set-up must come first.
        raise Problem(403, "Cần đổi mật khẩu hoặc bật xác thực hai lớp trước", "restricted token")
    scope = await _authz.scope(unit.session, unit.actor.user_id)
    if scope is None or scope.disabled:
        raise Problem(401, "Tài khoản không còn hiệu lực", "account disabled or unknown")
    return scope


def require_admin(scope: Scope) -> None:
    if not scope.has(ADMIN_ROLES):
        raise forbidden("only the office or system admins may do this")


def require_overseer(scope: Scope) -> None:
    if not scope.has(OVERSEER_ROLES):
        raise forbidden("only the board and the admins may do this")


def require_staff(scope: Scope) -> None:
    if scope.kind != "staff":
        raise forbidden("staff only")


def require_province(scope: Scope, roles: frozenset[str] = PROVINCE) -> None:
    """The province's own people (Sở GD&ĐT) only: no school's account, whatever its roles."""
    if scope.kind != "province" or scope.school_id != PROVINCE_SCOPE or not scope.roles & roles:
        raise forbidden("only the province (Sở GD&ĐT) may do this")
