"""`python -m hbs_identity`: run the identity service."""

from hbs_identity.app import create_app
from hbs_identity.settings import IdentitySettings
from hbs_shared.service import serve
from hbs_shared.settings import load_settings


def main() -> None:
    settings = load_settings(IdentitySettings)
    serve(create_app(settings), settings, "identity")


if __name__ == "__main__":
    main()
