"""Identity service settings (environment prefix HBS_IDENTITY_)."""

from __future__ import annotations

import re
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from hbs_identity.accounts.sealing import encryption_key
from hbs_identity.tokens.keys import public_keys
from hbs_shared.schools import PROVINCE_SCOPE
from hbs_shared.settings import Environment, ServiceSettings


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HBS_IDENTITY_", extra="ignore")

    port: int = Field(default=8001, ge=1, le=65535)
    jwt_private_key: SecretStr = SecretStr("")
    """PEM of the Ed25519 key that signs access tokens; empty in development = a key file in data_dir."""
    jwt_previous_public_keys: str = ""
    """During a rotation of that key: the PEM public key(s) of the key(s) it replaced, blocks one
    after the other. They are served in the JWKS beside the current key, so access tokens they
    signed verify until they expire; they never sign. Empty once the rotation is over."""
    access_token_minutes: int = Field(default=5, ge=1, le=60)
    """Access-token lifetime; disabling an account takes effect everywhere within it."""
    client_token_minutes: int = Field(default=5, ge=1, le=15)
    """Lifetime of an outside system's client-credentials token (a revoked client is refused at
    its next use anyway: every use is checked with identity)."""
    demo_size: Literal["full", "small"] = "full"
    """`full`: 36 classes, ~1,500 students, their parents, ~100 staff. `small`: only the classes the
    demo people teach (10A1, 10A2, 11 Toán chuyên), ~10 students each — for end-to-end tests."""
    demo_accounts_exempt: bool = True
    """The demo people (hbs_devtools.demo) are never forced to change their password nor to use
    TOTP. Honoured only in development and test: the demo seed is refused in production."""
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    """Lifetime of a refresh token; each use rotates it, logout revokes it."""
    totp_required_roles: list[str] = Field(
        default_factory=lambda: [
            "principal",
            "vice_principal",
            "office_admin",
            "system_admin",
            "province_admin",
        ]
    )
    """Roles that must use TOTP two-factor sign-in (JSON list); others may opt in."""
    lockout_threshold: int = Field(default=5, ge=1, le=100)
    """Failed sign-ins under one name before it is locked; each further failure doubles the lock."""
    lockout_address_threshold: int = Field(default=30, ge=1, le=10000)
    """Failed sign-ins from one address before it is locked (a school shares one address)."""
    lockout_base_seconds: float = Field(default=30.0, gt=0, le=3600)
    lockout_max_seconds: float = Field(default=900.0, gt=0, le=86400)
    password_min_length: int = Field(default=8, ge=6, le=64)
    password_hash_cost: Literal["standard", "test"] = "standard"
    """Argon2id parameters: `standard` (RFC 9106's second recommendation: 3 passes, 64 MiB, about
    0.15 s of CPU per sign-in) or `test` (1 pass, 8 MiB: the test suite signs in thousands of
    times). `test` is refused in production."""
    portal_url: str = "http://127.0.0.1:8000"
    """Printed on sign-in slips: where students and parents sign in."""
    national_id_pattern: str = r"^\d{10}(\d{2})?$"
    """The format of the mã định danh (regular expression matched in full)."""
    totp_encryption_key: SecretStr = SecretStr("dev-only-totp-encryption-key")
    """AES-256-GCM key sealing TOTP secrets at rest: 32 bytes in base64 (`openssl rand -base64 32`).
    The `dev-only-` default derives a key and is refused in production. Changing it makes every
    enrolled TOTP unusable (reset them with the admin's TOTP reset)."""

    @field_validator("jwt_previous_public_keys")
    @classmethod
    def _are_public_keys(cls, value: str) -> str:
        public_keys(value)
        return value

    def previous_public_keys(self) -> list[Ed25519PublicKey]:
        return public_keys(self.jwt_previous_public_keys)

    @field_validator("totp_encryption_key")
    @classmethod
    def _is_a_key(cls, value: SecretStr) -> SecretStr:
        encryption_key(value.get_secret_value())
        return value

    def totp_key(self) -> bytes:
        return encryption_key(self.totp_encryption_key.get_secret_value())

    @field_validator("school_id")
    @classmethod
    def _a_school(cls, value: str) -> str:
        if value == PROVINCE_SCOPE:
            raise ValueError(f"{PROVINCE_SCOPE} is the province's scope, not a school")
        return value

    @model_validator(mode="after")
    def _standard_hashes_in_production(self) -> IdentitySettings:
        if self.environment is Environment.production and self.password_hash_cost != "standard":
            raise ValueError("HBS_IDENTITY_PASSWORD_HASH_COST must be standard in production")
        return self

    @field_validator("national_id_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"not a regular expression: {error}") from None
        return value
