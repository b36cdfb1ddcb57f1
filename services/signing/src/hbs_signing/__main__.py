"""`python -m hbs_signing`: run the signing service (`… migrate`: only its migrations)."""

import sys

from hbs_shared.migrations import migrate
from hbs_shared.service import serve
from hbs_shared.settings import load_settings
from hbs_signing.app import MIGRATIONS, create_app
from hbs_signing.settings import SigningSettings


def main() -> None:
    settings = load_settings(SigningSettings)
    if sys.argv[1:] == ["migrate"]:  # deployments: once, before the replicas start
        migrate("signing", settings, MIGRATIONS)
    else:
        serve(create_app(settings), settings, "signing")


if __name__ == "__main__":
    main()
