"""Portal settings (environment prefix HBS_PORTAL_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hbs_shared.settings import ServiceSettings


class PortalSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HBS_PORTAL_", extra="ignore")

    port: int = Field(default=8000, ge=1, le=65535)
    grades_url: str = "http://127.0.0.1:8002"
    signing_url: str = "http://127.0.0.1:8003"
    session_hours: int = Field(default=12, ge=1, le=72)
    """How long a web session lives (the access token inside it expires sooner)."""
    token_refresh_margin_seconds: int = Field(default=30, ge=0, le=86400)
    """Refresh the access token this long before it expires (through identity's refresh token)."""
    secure_cookies: bool = False
    """Mark the session cookie Secure (behind HTTPS in production)."""
