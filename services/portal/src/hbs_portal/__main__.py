"""`python -m hbs_portal`: run the portal."""

from hbs_portal.app import create_app
from hbs_portal.settings import PortalSettings
from hbs_shared.service import serve
from hbs_shared.settings import load_settings


def main() -> None:
    settings = load_settings(PortalSettings)
    serve(create_app(settings), settings, "portal")


if __name__ == "__main__":
    main()
