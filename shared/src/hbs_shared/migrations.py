"""Alembic migrations per service, run on the service's own async engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(script_location: Path, url: str) -> Config:
    from alembic.config import Config  # imported on use: alembic costs start-up time otherwise

    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade_to_head(engine: AsyncEngine, script_location: Path) -> None:
    """Apply every pending migration; env.py uses the connection passed in `attributes`."""
    config = alembic_config(script_location, engine.url.render_as_string(hide_password=False))

    from alembic import command

    def _upgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
