"""`python -m hbs_signing`: run the signing service."""

from hbs_shared.service import serve
from hbs_shared.settings import load_settings
from hbs_signing.app import create_app
from hbs_signing.settings import SigningSettings


def main() -> None:
    settings = load_settings(SigningSettings)
    serve(create_app(settings), settings, "signing")


if __name__ == "__main__":
    main()
