"""Alembic operations that create the outbox and inbox; every service's first migration calls it."""

from __future__ import annotations

from alembic import op

from hbs_shared.messaging.tables import inbox, outbox


def create_messaging_tables() -> None:
    bind = op.get_bind()
    outbox.create(bind)
    inbox.create(bind)


def drop_messaging_tables() -> None:
    bind = op.get_bind()
    inbox.drop(bind)
    outbox.drop(bind)
