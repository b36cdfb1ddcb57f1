"""`python -m hbs_identity`: run the identity service (`… migrate`: only its migrations)."""

import sys
from pathlib import Path

from hbs_identity.settings import IdentitySettings
from hbs_shared.migrations import migrate
from hbs_shared.settings import load_settings


def main() -> None:
    settings = load_settings(IdentitySettings)
    if sys.argv[1:] == ["migrate"]:  # deployments: once, before the replicas start
        migrate("identity", settings, Path(__file__).parent / "migrations")
    else:
        from hbs_identity.app import create_app  # imported on use: migrating needs none of the app
        from hbs_shared.service import serve

        serve(create_app(settings), settings, "identity")


if __name__ == "__main__":
    main()
