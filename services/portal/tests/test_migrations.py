"""The portal's migrations go down and up again (0004: a web session remembers its school's name)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, inspect

from hbs_portal.app import MIGRATIONS
from hbs_shared.db import Database
from hbs_shared.migrations import alembic_config, upgrade_to_head

pytestmark = [pytest.mark.db]


async def test_migrations_go_down_and_up_again(databases: Any) -> None:
    db = Database(databases.new("portal"))
    try:
        await upgrade_to_head(db.engine, MIGRATIONS)
        config = alembic_config(MIGRATIONS, db.engine.url.render_as_string(hide_password=False))

        def down_then_up(connection: Connection) -> tuple[set[str], set[str]]:
            config.attributes["connection"] = connection
            command.downgrade(config, "0003")
            before = {c["name"] for c in inspect(connection).get_columns("web_sessions")}
            command.upgrade(config, "head")
            after = {c["name"] for c in inspect(connection).get_columns("web_sessions")}
            return before, after

        async with db.engine.begin() as connection:
            before, after = await connection.run_sync(down_then_up)
        assert "school_name" not in before
        assert {"school_name", "pending_step", "refresh_token"} <= after
    finally:
        await db.dispose()
