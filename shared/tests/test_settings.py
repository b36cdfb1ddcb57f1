"""Settings: a missing or malformed setting stops the service with the variable's name."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from hbs_shared.settings import ConfigurationError, Environment, ServiceSettings, load_settings


class ExampleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HBS_EXAMPLE_", extra="ignore")
    api_secret: SecretStr = SecretStr("dev-only-secret")


def test_malformed_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HBS_EXAMPLE_PORT", "not-a-port")
    with pytest.raises(ConfigurationError):
        load_settings(ExampleSettings)
    assert "HBS_EXAMPLE_PORT" in capsys.readouterr().err


def test_development_accepts_embedded_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HBS_EXAMPLE_ENVIRONMENT", raising=False)
    settings = load_settings(ExampleSettings)
    assert settings.environment is Environment.development
    assert settings.sqlalchemy_url("example").startswith("sqlite+aiosqlite:///")


def test_production_refuses_a_default_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HBS_EXAMPLE_ENVIRONMENT", "production")
    monkeypatch.setenv("HBS_EXAMPLE_DATABASE_URL", "postgresql+asyncpg://db/hbs")
    with pytest.raises(ConfigurationError):
        load_settings(ExampleSettings)
    assert "HBS_EXAMPLE_API_SECRET" in capsys.readouterr().err


def test_production_requires_a_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HBS_EXAMPLE_ENVIRONMENT", "production")
    monkeypatch.setenv("HBS_EXAMPLE_API_SECRET", "a-real-secret")
    with pytest.raises(ConfigurationError):
        load_settings(ExampleSettings)
    assert "HBS_EXAMPLE_DATABASE_URL" in capsys.readouterr().err


def test_database_url_of_an_unsupported_driver_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HBS_EXAMPLE_DATABASE_URL", "mysql://db/hbs")
    with pytest.raises(ConfigurationError):
        load_settings(ExampleSettings)
    assert "HBS_EXAMPLE_DATABASE_URL" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("module", "variable", "value"),
    [
        ("hbs_grades", "HBS_GRADES_PORT", "eighty"),
        ("hbs_identity", "HBS_IDENTITY_ACCESS_TOKEN_MINUTES", "0"),
        ("hbs_signing", "HBS_SIGNING_TOKEN_LABEL", ""),
        ("hbs_portal", "HBS_PORTAL_ENVIRONMENT", "staging"),
    ],
)
def test_each_service_exits_naming_a_malformed_variable(module: str, variable: str, value: str) -> None:
    env = {**os.environ, variable: value}
    result = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert variable in result.stderr


def test_signing_in_production_refuses_the_development_pin() -> None:
    env = {
        **os.environ,
        "HBS_SIGNING_ENVIRONMENT": "production",
        "HBS_SIGNING_DATABASE_URL": "postgresql+asyncpg://db/signing",
        "HBS_SIGNING_DEVELOPMENT_CA": "false",
        "HBS_SIGNING_TSA_URL": "http://tsa.example.vn/rfc3161",
    }
    result = subprocess.run(
        [sys.executable, "-m", "hbs_signing"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "HBS_SIGNING_TOKEN_PIN" in result.stderr


def test_signing_without_the_development_ca_needs_a_timestamp_authority() -> None:
    """B-LT puts a trusted timestamp on every signature: no TSA, no signing service."""
    env = {**os.environ, "HBS_SIGNING_DEVELOPMENT_CA": "false"}
    env.pop("HBS_SIGNING_TSA_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "hbs_signing"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "HBS_SIGNING_TSA_URL" in result.stderr


def test_demo_data_is_decided_in_one_place(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HBS_EXAMPLE_SEED_DEMO", "true")
    assert load_settings(ExampleSettings).seeds_demo
    assert load_settings(ExampleSettings, environment="test").allows_demo()
    monkeypatch.setenv("HBS_EXAMPLE_ENVIRONMENT", "production")
    monkeypatch.setenv("HBS_EXAMPLE_API_SECRET", "a-real-secret")
    monkeypatch.setenv("HBS_EXAMPLE_DATABASE_URL", "postgresql+asyncpg://db/hbs")
    with pytest.raises(ConfigurationError):
        load_settings(ExampleSettings)
    assert "HBS_EXAMPLE_SEED_DEMO: demo data is refused in production" in capsys.readouterr().err
    monkeypatch.delenv("HBS_EXAMPLE_SEED_DEMO")
    assert not load_settings(ExampleSettings).allows_demo()
