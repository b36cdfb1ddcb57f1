"""`python -m hbs_signing`: run the signing service (`… migrate`: only its migrations)."""

import sys
from pathlib import Path

from hbs_shared.migrations import migrate
from hbs_shared.settings import load_settings
from hbs_signing.settings import SigningSettings


def main() -> None:
    settings = load_settings(SigningSettings)
    if sys.argv[1:] == ["migrate"]:  # deployments: once, before the replicas start
        migrate("signing", settings, Path(__file__).parent / "migrations")
    else:
        from hbs_shared.service import serve
        from hbs_signing.app import create_app  # imported on use: migrating needs none of the app

        serve(create_app(settings), settings, "signing")


if __name__ == "__main__":
    main()
