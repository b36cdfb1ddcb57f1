"""`python -m hbs_grades`: run the grades service (`… migrate`: only its migrations)."""

import sys

from hbs_grades.app import MIGRATIONS, create_app
from hbs_grades.settings import GradesSettings
from hbs_shared.migrations import migrate
from hbs_shared.service import serve
from hbs_shared.settings import load_settings


def main() -> None:
    settings = load_settings(GradesSettings)
    if sys.argv[1:] == ["migrate"]:  # deployments: once, before the replicas start
        migrate("grades", settings, MIGRATIONS)
    else:
        serve(create_app(settings), settings, "grades")


if __name__ == "__main__":
    main()
