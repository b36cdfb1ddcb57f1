"""Alembic environment of the signing service."""

from hbs_signing.models import Base
from hbs_shared.messaging.tables import metadata as messaging_metadata
from hbs_shared.migration_env import run_env

run_env([Base.metadata, messaging_metadata])
