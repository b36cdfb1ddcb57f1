"""`python -m hbs_portal`: run the portal."""

import sys
from pathlib import Path

from hbs_portal.settings import PortalSettings
from hbs_shared.migrations import migrate
from hbs_shared.settings import load_settings


def main() -> None:
    settings = load_settings(PortalSettings)
    if sys.argv[1:] == ["migrate"]:  # deployments: once, before the replicas start
        migrate("portal", settings, Path(__file__).parent / "migrations")
    else:
        from hbs_portal.app import create_app  # imported on use: migrating needs none of the app
        from hbs_shared.service import serve

        serve(create_app(settings), settings, "portal")


if __name__ == "__main__":
    main()
