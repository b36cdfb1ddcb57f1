"""TOTP secrets sealed at rest: a wider column, and every plaintext secret sealed in place.

The key is read from HBS_IDENTITY_TOTP_ENCRYPTION_KEY (the development default when unset), the
same setting the running service uses.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import os
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hbs_identity.accounts.sealing import TotpSealer, encryption_key, is_sealed
from hbs_identity.settings import IdentitySettings

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_accounts = sa.table("accounts", sa.column("id", sa.Uuid()), sa.column("totp_secret", sa.String(200)))


def _sealer() -> TotpSealer:
    default = IdentitySettings.model_fields["totp_encryption_key"].default.get_secret_value()
    return TotpSealer(encryption_key(os.environ.get("HBS_IDENTITY_TOTP_ENCRYPTION_KEY", default)))


def _widen(bind: sa.Connection, length: int) -> None:
    # SQLite ignores VARCHAR lengths; its batch mode would rebuild `accounts`, which rows in other
    # tables refer to.
    if bind.dialect.name != "sqlite":
        op.alter_column("accounts", "totp_secret", type_=sa.String(length), existing_nullable=True)


def upgrade() -> None:
    bind = op.get_bind()
    _widen(bind, 200)
    rows = bind.execute(
        sa.select(_accounts.c.id, _accounts.c.totp_secret).where(_accounts.c.totp_secret.is_not(None))
    ).all()
    plain = [(account_id, secret) for account_id, secret in rows if not is_sealed(secret)]
    if not plain:
        return
    sealer = _sealer()
    for account_id, secret in plain:
        bind.execute(
            sa.update(_accounts)
            .where(_accounts.c.id == account_id)
            .values(totp_secret=sealer.seal(secret, uuid.UUID(str(account_id))))
        )


def downgrade() -> None:
    bind = op.get_bind()
    sealer = _sealer()
    rows = bind.execute(
        sa.select(_accounts.c.id, _accounts.c.totp_secret).where(_accounts.c.totp_secret.is_not(None))
    ).all()
    for account_id, secret in rows:
        if is_sealed(secret):
            bind.execute(
                sa.update(_accounts)
                .where(_accounts.c.id == account_id)
                .values(totp_secret=sealer.open(secret, uuid.UUID(str(account_id))))
            )
    _widen(bind, 64)
