"""`python -m hbs_portal`: run the portal."""

import sys

from hbs_portal.app import MIGRATIONS, create_app
from hbs_portal.settings import PortalSettings
from hbs_shared.migrations import migrate
from hbs_shared.service import serve
from hbs_shared.settings import load_settings


def main() -> None:
    settings = load_settings(PortalSettings)
    if sys.argv[1:] == ["migrate"]:  # deployments: once, before the replicas start
        migrate("portal", settings, MIGRATIONS)
    else:
        serve(create_app(settings), settings, "portal")


if __name__ == "__main__":
    main()
