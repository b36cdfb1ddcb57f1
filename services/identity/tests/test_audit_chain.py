"""Identity's audit log as a hash chain (issue 11): migration 0007 chains the entries already
there, in the order they were written, and the chain verifies after going down and up again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import JSON, Connection, String, Uuid, column, insert, table, text

from hbs_identity.app import MIGRATIONS
from hbs_identity.audit import LAYOUT
from hbs_shared.audit.chain import Fault
from hbs_shared.audit.store import verify_stored
from hbs_shared.db import Database, UtcDateTime
from hbs_shared.migrations import alembic_config

pytestmark = [pytest.mark.db]

OLD_LOG = table(
    "audit_log",
    *(column(name, kind) for name, kind in (
        ("school_id", String()), ("at", UtcDateTime()), ("actor_id", Uuid()), ("actor_name", String()),
        ("action", String()), ("object_type", String()), ("object_id", String()), ("source", String()),
        ("detail", JSON()),
    )),
)  # fmt: skip
"""audit_log as 0005 left it (before the chain)."""


async def migrate(db: Database, target: str, *, down: bool = False) -> None:
    config = alembic_config(MIGRATIONS, db.engine.url.render_as_string(hide_password=False))

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, target)

    async with db.engine.begin() as connection:
        await connection.run_sync(run)


async def test_0007_chains_the_entries_already_written_in_their_order(databases: Any) -> None:
    db = Database(databases.new("identity"))
    try:
        await migrate(db, "0005")
        async with db.engine.begin() as connection:
            for minute, action in ((1, "sign_in.succeeded"), (2, "account.disabled"), (3, "sign_out")):
                await connection.execute(
                    insert(OLD_LOG).values(
                        school_id="s",
                        at=datetime(2026, 12, 1, minute, tzinfo=UTC),
                        actor_id=uuid.uuid4(),
                        actor_name="Trần Văn Minh",
                        action=action,
                        object_type="account",
                        object_id="a1",
                        source="10.0.0.7",
                        detail={"reason": "Nghỉ việc", "n": minute},
                    )
                )
        await migrate(db, "head")
        async with db.transaction() as session:
            rows = (await session.execute(text("SELECT seq, action FROM audit_log ORDER BY id"))).all()
            report = await verify_stored(session, LAYOUT)
        assert [tuple(r) for r in rows] == [
            (1, "sign_in.succeeded"),
            (2, "account.disabled"),
            (3, "sign_out"),
        ]
        assert (report.intact, report.last_seq) == (True, 3)

        # The caller's address is protected too: changing it breaks the chain at that entry.
        async with db.transaction() as session:
            await session.execute(text("UPDATE audit_log SET source = '10.0.0.8' WHERE seq = 2"))
            broken = (await verify_stored(session, LAYOUT)).broken
            assert broken is not None
            assert (broken.seq, broken.fault) == (2, Fault.edited)
            await session.execute(text("UPDATE audit_log SET source = '10.0.0.7' WHERE seq = 2"))

        await migrate(db, "0005", down=True)
        await migrate(db, "head")
        async with db.transaction() as session:
            assert (await verify_stored(session, LAYOUT)).intact
    finally:
        await db.dispose()
