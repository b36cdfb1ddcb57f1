"""`python -m hbs_identity`: run the identity service (`… migrate`: only its migrations)."""

import sys

from hbs_identity.app import MIGRATIONS, create_app
from hbs_identity.settings import IdentitySettings
from hbs_shared.migrations import migrate
from hbs_shared.service import serve
from hbs_shared.settings import load_settings


def main() -> None:
    settings = load_settings(IdentitySettings)
    if sys.argv[1:] == ["migrate"]:  # deployments: once, before the replicas start
        migrate("identity", settings, MIGRATIONS)
    else:
        serve(create_app(settings), settings, "identity")


if __name__ == "__main__":
    main()
