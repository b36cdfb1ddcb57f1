"""Signing's migrations go down and up again (0006, after 0007: a PIN row may wait for its owner's
new PIN)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, inspect

from hbs_shared.db import Database
from hbs_shared.migrations import alembic_config, upgrade_to_head
from hbs_signing.app import MIGRATIONS

pytestmark = [pytest.mark.db]


async def test_migrations_go_down_and_up_again(databases: Any) -> None:
    db = Database(databases.new("signing"))
    try:
        await upgrade_to_head(db.engine, MIGRATIONS)
        config = alembic_config(MIGRATIONS, db.engine.url.render_as_string(hide_password=False))

        def down_then_up(connection: Connection) -> tuple[set[str], set[str]]:
            config.attributes["connection"] = connection
            command.downgrade(config, "0007")
            before = {c["name"] for c in inspect(connection).get_columns("signing_pins")}
            command.upgrade(config, "head")
            after = {c["name"] for c in inspect(connection).get_columns("signing_pins")}
            return before, after

        async with db.engine.begin() as connection:
            before, after = await connection.run_sync(down_then_up)
        assert "reset_required" not in before
        assert {"reset_required", "reset_at", "pin_hash"} <= after
    finally:
        await db.dispose()
