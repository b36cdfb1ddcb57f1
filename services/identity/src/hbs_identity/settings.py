"""Identity service settings (environment prefix HBS_IDENTITY_)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from hbs_shared.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HBS_IDENTITY_", extra="ignore")

    port: int = Field(default=8001, ge=1, le=65535)
    jwt_private_key: SecretStr = SecretStr("")
    """PEM of the Ed25519 key that signs access tokens; empty in development = a key file in data_dir."""
    access_token_minutes: int = Field(default=5, ge=1, le=60)
    """Access-token lifetime; disabling an account takes effect everywhere within it."""
    seed_demo: bool = False
    """Create the demo school's accounts at start-up (refused in production)."""
