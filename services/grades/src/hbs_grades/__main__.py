"""`python -m hbs_grades`: run the grades service (`… migrate`: only its migrations)."""

import sys
from pathlib import Path

from hbs_grades.settings import GradesSettings
from hbs_shared.migrations import migrate
from hbs_shared.settings import load_settings


def main() -> None:
    settings = load_settings(GradesSettings)
    if sys.argv[1:] == ["migrate"]:  # deployments: once, before the replicas start
        migrate("grades", settings, Path(__file__).parent / "migrations")
    else:
        from hbs_grades.app import create_app  # imported on use: migrating needs none of the app
        from hbs_shared.service import serve

        serve(create_app(settings), settings, "grades")


if __name__ == "__main__":
    main()
