"""Alembic migrations per service, run on the service's own async engine.

Several replicas may start at once on one empty database: each upgrade holds a lock for its
whole transaction (see `migration_env`), so the second waits, then finds the schema at head.
`python -m hbs_<service> migrate` applies the migrations and exits, for deployments that
migrate once before starting the replicas (with HBS_<SERVICE>_AUTO_MIGRATE=false)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hbs_shared.db import Database, is_locked
from hbs_shared.logging import configure_logging, get_logger
from hbs_shared.settings import ServiceSettings

if TYPE_CHECKING:
    from alembic.config import Config

log = get_logger(__name__)

LOCK_ATTEMPTS = 10
"""SQLite: BEGINs tried, each waiting the busy timeout, while another process migrates."""


def alembic_config(script_location: Path, url: str) -> Config:
    from alembic.config import Config  # imported on use: alembic costs start-up time otherwise

    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade_to_head(engine: AsyncEngine, script_location: Path) -> None:
    """Apply every pending migration in one transaction; env.py uses the connection passed in
    `attributes` and takes the migration lock on it first (PostgreSQL: an advisory lock; SQLite:
    the write lock, which a `Database` engine takes at BEGIN)."""
    config = alembic_config(script_location, engine.url.render_as_string(hide_password=False))

    from alembic import command

    def _upgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    for attempt in range(1, LOCK_ATTEMPTS + 1):
        began = False
        try:
            async with engine.begin() as connection:
                began = True
                await connection.run_sync(_upgrade)
            return
        except Exception as error:
            # Only a BEGIN that found SQLite's write lock taken is tried again; nothing ran yet.
            if began or not is_locked(error) or attempt == LOCK_ATTEMPTS:
                raise
            log.warning("database busy (another process migrating?); migration retried", attempt=attempt)
        await asyncio.sleep(0.1 * attempt)


def migrate(service: str, settings: ServiceSettings, script_location: Path) -> None:
    """`python -m hbs_<service> migrate`: bring the service's database to head, then exit."""
    configure_logging(service, settings.log_level)

    async def run() -> None:
        db = Database(settings.sqlalchemy_url(service))
        try:
            await upgrade_to_head(db.engine, script_location)
        finally:
            await db.dispose()

    asyncio.run(run())
    log.info("migrations applied", service=service)
