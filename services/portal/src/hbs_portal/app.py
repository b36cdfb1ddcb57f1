"""The portal: staff, parent and public pages; it calls the other services with the user's token."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hbs_portal.clients import Transport
from hbs_portal.i18n import LanguageMiddleware
from hbs_portal.settings import PortalSettings
from hbs_portal.web import (
    account,
    conduct,
    corrections,
    family,
    language,
    oversight_windows,
    progress,
    province,
    records,
    reports,
    resets,
    review,
    scores,
    sheet_batches,
    sheets,
    totp,
    verify,
)
from hbs_portal.web.admin import ROUTERS as ADMIN_ROUTERS
from hbs_portal.web.deps import install_page_handlers
from hbs_portal.web.errors import install_error_pages
from hbs_portal.web.protection import SecurityHeaders
from hbs_shared.service import ServiceRuntime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
STATIC = Path(__file__).parent / "static"


def create_app(settings: PortalSettings, transport: Transport | None = None) -> FastAPI:
    """The portal app; `transport` replaces the real connection pool in unit tests."""
    runtime = ServiceRuntime("portal", settings, migrations=MIGRATIONS)
    transport = transport or Transport(settings.source_address)

    async def close_transport(_rt: ServiceRuntime) -> None:
        await transport.close()

    app = create_service_app(
        runtime,
        title="HBS portal",
        routers=[
            account.router,
            totp.router,
            sheet_batches.router,  # /sheets/sign-all before /sheets/{sheet_id}/…
            sheets.router,
            scores.router,
            conduct.router,
            reports.router,
            records.router,
            corrections.router,
            review.router,
            progress.router,
            province.router,
            family.router,
            verify.router,
            language.router,
            resets.router,
            oversight_windows.router,
            *ADMIN_ROUTERS,
        ],
        on_shutdown=[close_transport],
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_middleware(LanguageMiddleware)  # outermost: error pages too are in the reader's language
    install_error_pages(app)
    install_page_handlers(app)
    app.state.transport = transport
    app.state.settings = settings
    return app
