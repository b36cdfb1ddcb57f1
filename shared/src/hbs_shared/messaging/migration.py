"""Alembic operations that create the outbox and inbox; every service's first migration calls it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hbs_shared.messaging.tables import inbox, outbox

# Columns that later migrations add: the first migration creates the table without them.
_ADDED_LATER = frozenset({"sent_to"})


def _outbox_as_first_created() -> sa.Table:
    return sa.Table(
        "outbox", sa.MetaData(), *(c._copy() for c in outbox.columns if c.name not in _ADDED_LATER)
    )


def create_messaging_tables() -> None:
    bind = op.get_bind()
    _outbox_as_first_created().create(bind)
    inbox.create(bind)


def drop_messaging_tables() -> None:
    bind = op.get_bind()
    inbox.drop(bind)
    outbox.drop(bind)


def add_outbox_sent_to() -> None:
    """Issue 12: each service's migration adds the cluster id that acknowledged a sent row."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("sent_to", sa.String(64), nullable=True))


def drop_outbox_sent_to() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("sent_to")
