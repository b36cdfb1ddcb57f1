"""Alembic environment of the grades service."""

from hbs_grades.models import Base
from hbs_grades.national import models as _national  # noqa: F401 — registers the national exports
from hbs_grades.windows import models as _windows  # noqa: F401 — registers the windows tables
from hbs_shared.audit.store import metadata as audit_metadata
from hbs_shared.messaging.tables import metadata as messaging_metadata
from hbs_shared.migration_env import run_env
from hbs_shared.school_facts import metadata as school_facts_metadata

run_env([Base.metadata, messaging_metadata, school_facts_metadata, audit_metadata])
