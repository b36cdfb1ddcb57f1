"""`python -m hbs_identity.audit verify [--url URL]`: check identity's audit chain (exit 1 naming
the first broken link)."""

import sys

from hbs_identity.audit import LAYOUT
from hbs_identity.settings import IdentitySettings
from hbs_shared.audit.cli import main
from hbs_shared.settings import load_settings


def _url() -> str:
    return load_settings(IdentitySettings).sqlalchemy_url("identity")


if __name__ == "__main__":
    sys.exit(main(LAYOUT, _url))
