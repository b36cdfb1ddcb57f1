"""`python -m hbs_signing.audit verify [--url URL]`: check signing's audit chain (exit 1 naming the
first broken link)."""

import sys

from hbs_shared.audit.cli import main
from hbs_shared.settings import load_settings
from hbs_signing.audit import LAYOUT
from hbs_signing.settings import SigningSettings


def _url() -> str:
    return load_settings(SigningSettings).sqlalchemy_url("signing")


if __name__ == "__main__":
    sys.exit(main(LAYOUT, _url))
