"""Settings: one pydantic-settings class per service, each with its own environment prefix."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hbs_shared.db import PoolSettings
from hbs_shared.messaging.security import KafkaLogin, KafkaSaslMechanism, KafkaSecurityProtocol
from hbs_shared.schools import SCHOOL_ID_PATTERN

DEV_SECRET_PREFIX = "dev-only-"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class ServiceSettings(BaseSettings):
    """What every service needs; subclasses set `model_config` with their own env prefix."""

    model_config = SettingsConfigDict(extra="ignore", validate_default=True)

    environment: Environment = Environment.development
    """`development` and `test` accept the embedded defaults; `production` refuses them."""
    school_id: str = Field(default="thpt-chuyen-thai-binh", pattern=SCHOOL_ID_PATTERN)
    """The school this deployment serves by default (a province runs many on one deployment)."""
    data_dir: Path = Path("var")
    """Folder for SQLite files, keys and documents in the embedded default."""
    database_url: str = ""
    """SQLAlchemy async URL (sqlite+aiosqlite:///… or postgresql+asyncpg://…); empty = SQLite in data_dir."""
    database_pool_size: int = Field(default=20, ge=1, le=500)
    """PostgreSQL: connections kept open; as many as requests and consumers run at once."""
    database_pool_max_overflow: int = Field(default=0, ge=0, le=500)
    """PostgreSQL: extra connections opened in a burst, each closed again when returned."""
    database_pool_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    """PostgreSQL: how long a request waits for a free connection."""
    database_pool_recycle_seconds: int = Field(default=1800, ge=-1)
    """PostgreSQL: a connection older than this is replaced (-1: never)."""
    database_pool_ping_idle_seconds: float = Field(default=30.0, ge=0)
    """PostgreSQL: a connection unused longer than this is checked (one round trip) before use."""
    database_pool_pre_ping: bool = False
    """PostgreSQL: check every connection before every use instead (three round trips each)."""
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", min_length=3)
    """Kafka bootstrap servers, comma separated host:port."""
    kafka_idempotence: bool = False
    """Idempotent producers; off on the embedded broker, which does not support InitProducerId."""
    kafka_session_timeout_ms: int = Field(default=10000, ge=1000, le=300000)
    """Consumer-group session timeout; the embedded broker makes a joining member wait about half."""
    kafka_security_protocol: KafkaSecurityProtocol = KafkaSecurityProtocol.plaintext
    """PLAINTEXT (the embedded broker), SASL_PLAINTEXT, SASL_SSL or SSL: the producer, every
    consumer, the outbox relay and the admin client log in the same way."""
    kafka_sasl_mechanism: KafkaSaslMechanism = KafkaSaslMechanism.scram_sha_512
    """SCRAM-SHA-512 (the province's brokers), SCRAM-SHA-256, or PLAIN (only over SASL_SSL)."""
    kafka_sasl_username: str = Field(default="", max_length=255)
    """This service's own Kafka principal (`hbs-<service>` in deploy/k8s: its ACLs are its own)."""
    kafka_sasl_password: SecretStr | None = None
    """Its SCRAM password; required with a SASL protocol; a dev-only value is refused in production."""
    kafka_ssl_cafile: Path | None = None
    """PEM file of the CA that signed the brokers' certificates (SSL, SASL_SSL); none = system roots."""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = ""
    """Base URL other services and users reach this one at; empty = http://host:port."""
    identity_url: str = "http://127.0.0.1:8001"
    """Where the identity service answers (JWKS and authorisation queries)."""
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    auto_migrate: bool = True
    """Run this service's Alembic migrations at start-up."""
    outbox_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    seed_demo: bool = False
    """Seed the demo school: its people (identity), made-up scores (grades). Refused in production."""
    trusted_proxies: list[str] = Field(default_factory=list, max_length=64)
    """Addresses or networks (JSON list: ["10.0.0.5", "10.1.0.0/16"]) whose X-Forwarded-For is
    believed; nobody else's. The portal is one of them for the services it calls."""

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> ServiceSettings:
        if self.environment is Environment.production:
            if self.seed_demo:
                prefix = self.model_config.get("env_prefix", "")
                raise ValueError(f"{prefix.upper()}SEED_DEMO: demo data is refused in production")
            for name, value in self:
                if isinstance(value, SecretStr) and (
                    not value.get_secret_value() or value.get_secret_value().startswith(DEV_SECRET_PREFIX)
                ):
                    prefix = self.model_config.get("env_prefix", "")
                    raise ValueError(f"{(prefix + name).upper()} must be set to a real secret in production")
            if not self.database_url:
                prefix = self.model_config.get("env_prefix", "")
                raise ValueError(f"{prefix.upper()}DATABASE_URL must be set in production")
        kafka = self.kafka_login().problems()
        if kafka:
            raise ValueError("; ".join(kafka))
        if self.database_url and not self.database_url.startswith(
            ("sqlite+aiosqlite://", "postgresql+asyncpg://")
        ):
            raise ValueError(
                f"{self.model_config.get('env_prefix', '').upper()}DATABASE_URL must start with "
                "sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return self

    def allows_demo(self) -> bool:
        """Demo data and the demo people's conveniences: never in production (decided only here)."""
        return self.environment is not Environment.production

    @property
    def seeds_demo(self) -> bool:
        """The demo school is seeded and its made-up data filled in (development and test only)."""
        return self.seed_demo and self.allows_demo()

    def sqlalchemy_url(self, service: str) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.sqlite3').resolve()}"

    def database_pool(self) -> PoolSettings:
        return PoolSettings(
            size=self.database_pool_size,
            max_overflow=self.database_pool_max_overflow,
            timeout_seconds=self.database_pool_timeout_seconds,
            recycle_seconds=self.database_pool_recycle_seconds,
            ping_idle_seconds=self.database_pool_ping_idle_seconds,
            pre_ping=self.database_pool_pre_ping,
        )

    def kafka_login(self) -> KafkaLogin:
        return KafkaLogin(
            protocol=self.kafka_security_protocol,
            mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username,
            password=self.kafka_sasl_password,
            ssl_cafile=self.kafka_ssl_cafile,
            prefix=str(self.model_config.get("env_prefix", "")),
        )

    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


S = TypeVar("S", bound=ServiceSettings)


class ConfigurationError(SystemExit):
    """Raised (as an exit) when a setting is missing or malformed; the message names the variable."""


def _variable_names(cls: type[ServiceSettings], error: ValidationError) -> list[str]:
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    lines = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        name = (prefix + "_".join(loc)).upper() if loc else prefix.rstrip("_")
        lines.append(f"{name}: {item['msg']}")
    return lines


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment; on error exit with a message naming each variable."""
    try:
        return cls(**overrides)
    except ValidationError as error:
        message = "configuration error: " + "; ".join(_variable_names(cls, error))
        print(message, file=sys.stderr)
        raise ConfigurationError(message) from None
