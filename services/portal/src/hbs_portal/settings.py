"""Portal settings (environment prefix HBS_PORTAL_)."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from hbs_shared.settings import Environment, ServiceSettings


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
    """Mark the session cookie Secure (behind HTTPS); production refuses to start without it."""
    source_address: str = Field(default="", max_length=45)
    """The local address the portal's calls to the services leave from (empty: the OS chooses).
    The services trust X-Forwarded-For only from their `trusted_proxies`: list this address there."""

    @field_validator("source_address")
    @classmethod
    def _an_address(cls, value: str) -> str:
        return str(ipaddress.ip_address(value.strip())) if value.strip() else ""

    @model_validator(mode="after")
    def _refuse_insecure_cookies_in_production(self) -> PortalSettings:
        if self.environment is Environment.production and not self.secure_cookies:
            raise ValueError("HBS_PORTAL_SECURE_COOKIES must be true in production (HTTPS only)")
        return self
