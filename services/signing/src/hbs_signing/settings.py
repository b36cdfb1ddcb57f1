"""Signing service settings (environment prefix HBS_SIGNING_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from hbs_shared.settings import Environment, ServiceSettings


class SigningSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HBS_SIGNING_", extra="ignore")

    port: int = Field(default=8003, ge=1, le=65535)
    pkcs11_module: str = "/usr/lib/softhsm/libsofthsm2.so"
    """Path of the token's PKCS#11 library (SoftHSM2 here; the HSM vendor's in production)."""
    token_label: str = Field(default="hbs", min_length=1, max_length=32)
    """The token is chosen by label, never by slot number."""
    token_pin: SecretStr = SecretStr("dev-only-1234")
    """User PIN of the token."""
    softhsm_dir: Path | None = None
    """Embedded default: a folder where the service keeps its own SoftHSM2 token."""
    development_ca: bool = True
    """Issue staff and seal certificates from the local development CA (refused in production)."""
    public_portal_url: str = Field(default="http://127.0.0.1:8000", min_length=8, max_length=300)
    """Where the public verification page is: QR codes lead to {this}/verify/{code}."""
    activation_minutes: int = Field(default=5, ge=1, le=60)
    """How long a signature activation (signing PIN + scope) stays usable."""
    trusted_roots_file: Path | None = None
    """PEM file of the CA roots whose certificates may sign (the development root is added when on)."""
    tsa_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=300)
    """RFC 3161 timestamp authority (HTTP POST) used when the development CA is off."""
    crl_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """How long to wait for a CA's CRL download before refusing to sign (hard-fail)."""
    batch_workers: int = Field(default=0, ge=0, le=64)
    """Signing processes for a batch (each its own token session); 0 means one per CPU core."""
    request_lease_seconds: float = Field(default=60.0, ge=5, le=3600)
    """How long a queued request (a sheet, minutes, a record outside a batch) taken for signing stays
    the taker's: one a killed replica was signing is taken again after this. Longer than any one
    signature takes (about 0.5 s)."""
    render_workers: int = Field(default=-1, ge=-1, le=64)
    """Processes rendering single requests' documents (sheets, minutes, a first record signature);
    -1 means one per CPU core, 0 a thread of the service's own process."""
    verify_requests_per_minute: int = Field(default=30, ge=1, le=10000)
    """Public verification: requests per client address per minute."""
    verify_max_upload_mb: int = Field(default=5, ge=1, le=100)
    """Public verification: the largest file accepted (a sealed year record is about 170 KB)."""
    verify_cpu_seconds: int = Field(default=3, ge=1, le=60)
    """Public verification: CPU an uploaded file may cost before its examination is stopped
    (a genuine sealed record takes about 0.4 s)."""
    verify_concurrency: int = Field(default=2, ge=1, le=64)
    """Public verification: uploads examined at once; the others wait up to 10 s, then 503."""
    verify_batch_max_codes: int = Field(default=100, ge=1, le=1000)
    """Batch verification: the most codes one request may name."""
    verify_batch_max_files: int = Field(default=5, ge=0, le=50)
    """Batch verification: the most files one request may carry (each within the upload limit)."""
    archive_renewal_horizon_days: int = Field(default=180, ge=1, le=3650)
    """B-LTA renewal: a sealed record gets a fresh archive timestamp when the certificate of its last
    one ends within this many days."""
    archive_renewal_max_age_days: int = Field(default=0, ge=0, le=36500)
    """B-LTA renewal: also when its last archive timestamp is older than this (0: only by the horizon)."""
    archive_renewal_interval_hours: int = Field(default=24, ge=1, le=24 * 30)
    """How often the renewal job looks at the sealed records."""
    status_list_max_age_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    """The signed status list's validity (its `next_update`); it is made again sooner whenever a
    version is stored or a record revoked."""

    @model_validator(mode="after")
    def _no_development_ca_in_production(self) -> SigningSettings:
        if self.environment is Environment.production and self.development_ca:
            raise ValueError("HBS_SIGNING_DEVELOPMENT_CA must be false in production")
        if not self.development_ca and self.tsa_url is None:
            # B-LT needs a trusted timestamp on every signature: without one nothing could be signed.
            raise ValueError("HBS_SIGNING_TSA_URL is required when the development CA is off")
        return self
