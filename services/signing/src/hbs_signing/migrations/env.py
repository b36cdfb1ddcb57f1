"""Alembic environment of the signing service."""

from hbs_shared.audit.store import metadata as audit_metadata
from hbs_shared.messaging.tables import metadata as messaging_metadata
from hbs_shared.migration_env import run_env
from hbs_shared.school_facts import metadata as school_facts_metadata
from hbs_signing.models import Base

run_env([Base.metadata, messaging_metadata, school_facts_metadata, audit_metadata])
