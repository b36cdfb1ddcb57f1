"""The portal: staff, parent and public pages; it calls the other services with the user's token."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hbs_portal.settings import PortalSettings
from hbs_portal.web import account, conduct, family, records, reports, scores, sheets, totp, verify
from hbs_portal.web.admin import ROUTERS as ADMIN_ROUTERS
from hbs_portal.web.backends import Backends
from hbs_shared.service import ServiceRuntime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: PortalSettings) -> FastAPI:
    runtime = ServiceRuntime("portal", settings, migrations=MIGRATIONS)
    backends = Backends(settings.identity_url, settings.grades_url, settings.signing_url)

    async def close_backends(_rt: ServiceRuntime) -> None:
        await backends.close()

    app = create_service_app(
        runtime,
        title="HBS portal",
        routers=[
            account.router,
            totp.router,
            sheets.router,
            scores.router,
            conduct.router,
            reports.router,
            records.router,
            family.router,
            verify.router,
            *ADMIN_ROUTERS,
        ],
        on_shutdown=[close_backends],
    )
    app.state.backends = backends
    app.state.settings = settings
    return app
