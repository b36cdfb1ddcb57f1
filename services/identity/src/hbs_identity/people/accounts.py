"""The account every person gets (their id is its id): students, parents and staff alike."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from hbs_identity.errors import invalid
from hbs_identity.models import Account
from hbs_shared.roles import PROVINCE
from hbs_shared.schools import PROVINCE_SCOPE

UNUSABLE_PASSWORD = "!"
"""An Argon2 verify of this always fails: the account waits for its first password (sign-in slip)."""


def check_roles(school_id: str, roles: Iterable[str]) -> None:
    """A province account holds only province roles, a school's account never one (422 `roles`):
    the province's people see no school's data, and no school's people act for the province."""
    wanted = set(roles)
    if school_id == PROVINCE_SCOPE:
        if not wanted or not wanted <= PROVINCE:
            raise invalid("roles", "tài khoản của Sở GD&ĐT chỉ có vai trò của Sở")
    elif wanted & PROVINCE:
        raise invalid("roles", "vai trò của Sở GD&ĐT không cấp cho tài khoản của trường")


def person_account(
    person_id: uuid.UUID,
    school_id: str,
    username: str,
    full_name: str,
    kind: str,
    roles: list[str],
    *,
    password_hash: str = UNUSABLE_PASSWORD,
    must_change_password: bool = True,
    phone: str | None = None,
) -> Account:
    check_roles(school_id, roles)
    return Account(
        id=person_id,
        school_id=school_id,
        username=username,
        full_name=full_name,
        password_hash=password_hash,
        roles=roles,
        kind=kind,
        phone=phone,
        must_change_password=must_change_password,
        disabled=False,
    )
