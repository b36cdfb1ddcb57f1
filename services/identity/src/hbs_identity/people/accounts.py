"""The account every person gets (their id is its id): students, parents and staff alike."""

from __future__ import annotations

import uuid

from hbs_identity.models import Account

UNUSABLE_PASSWORD = "!"
"""An Argon2 verify of this always fails: the account waits for its first password (sign-in slip)."""


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
