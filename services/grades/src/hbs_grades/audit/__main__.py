"""`python -m hbs_grades.audit verify [--url URL]`: check grades' audit chain (exit 1 naming the
first broken link)."""

import sys

from hbs_grades.audit import LAYOUT
from hbs_grades.settings import GradesSettings
from hbs_shared.audit.cli import main
from hbs_shared.settings import load_settings


def _url() -> str:
    return load_settings(GradesSettings).sqlalchemy_url("grades")


if __name__ == "__main__":
    sys.exit(main(LAYOUT, _url))
