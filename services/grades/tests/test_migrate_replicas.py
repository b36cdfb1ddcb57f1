"""Two replicas of grades migrating one empty database at once both succeed.

Before, both created `alembic_version` (PostgreSQL: one exited with UniqueViolation); now the
second waits for the first's migration lock and finds the schema at head."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from hbs_grades.app import MIGRATIONS
from hbs_shared.db import Database
from hbs_shared.migrations import alembic_config

pytestmark = [pytest.mark.db]


async def test_two_processes_migrating_an_empty_database_at_once_both_succeed(
    databases: Any, tmp_path: Any
) -> None:
    url = databases.new("grades")
    # The entry deployments run before starting replicas; run twice at once, as two replicas would.
    env = {**os.environ, "HBS_GRADES_DATABASE_URL": url, "HBS_GRADES_DATA_DIR": str(tmp_path)}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hbs_grades", "migrate", env=env, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    for process in processes:
        _, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, err.decode()[-2000:]

    head = ScriptDirectory.from_config(alembic_config(MIGRATIONS, url)).get_current_head()
    db = Database(url)
    try:
        async with db.transaction() as session:
            versions = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalars()
            assert list(versions) == [head]
    finally:
        await db.dispose()
