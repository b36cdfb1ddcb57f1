"""Alembic environment of the portal service."""

from hbs_portal.models import Base
from hbs_shared.messaging.tables import metadata as messaging_metadata
from hbs_shared.migration_env import run_env

run_env([Base.metadata, messaging_metadata])
