"""The Kafka login: one description (protocol, SASL mechanism, user, password, CA file) that the
services' broker (producer, consumers, admin client, so the outbox relay too) and the topics
command both map through `KafkaLogin.security`, and the start-up diagnosis when it is refused.

Nothing here ever puts the password in a message or a log line (it stays a SecretStr until the
client is built)."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

if TYPE_CHECKING:
    from faststream.security import BaseSecurity


class KafkaSecurityProtocol(StrEnum):
    plaintext = "PLAINTEXT"
    """No login, no TLS: the embedded broker, or a broker reachable only on a private network."""
    sasl_plaintext = "SASL_PLAINTEXT"
    sasl_ssl = "SASL_SSL"
    ssl = "SSL"
    """TLS without SASL (a client certificate is not supported: use SASL_SSL)."""


class KafkaSaslMechanism(StrEnum):
    scram_sha_256 = "SCRAM-SHA-256"
    scram_sha_512 = "SCRAM-SHA-512"
    plain = "PLAIN"
    """The password itself goes to the broker: only with SASL_SSL."""


SASL_PROTOCOLS = frozenset({KafkaSecurityProtocol.sasl_plaintext, KafkaSecurityProtocol.sasl_ssl})
TLS_PROTOCOLS = frozenset({KafkaSecurityProtocol.ssl, KafkaSecurityProtocol.sasl_ssl})


@dataclass(frozen=True)
class KafkaLogin:
    """How a client logs in to Kafka. `prefix` names the environment variables in messages
    (`HBS_GRADES_` for a service, empty for the topics command)."""

    protocol: KafkaSecurityProtocol = KafkaSecurityProtocol.plaintext
    mechanism: KafkaSaslMechanism = KafkaSaslMechanism.scram_sha_512
    username: str = ""
    password: SecretStr | None = None
    ssl_cafile: Path | None = None
    prefix: str = ""

    @property
    def sasl(self) -> bool:
        return self.protocol in SASL_PROTOCOLS

    @property
    def tls(self) -> bool:
        return self.protocol in TLS_PROTOCOLS

    def variable(self, name: str) -> str:
        return f"{self.prefix}{name}".upper()

    def problems(self) -> list[str]:
        """Why this login cannot work, each naming its variable; empty when it is complete. (A dev
        password in production is refused with every other secret, in ServiceSettings.)"""
        found: list[str] = []
        protocol = self.variable("KAFKA_SECURITY_PROTOCOL")
        password = self.password.get_secret_value() if self.password is not None else ""
        if self.sasl:
            if not self.username:
                found.append(
                    f"{self.variable('KAFKA_SASL_USERNAME')} must be set when {protocol} is {self.protocol}"
                )
            if not password:
                found.append(
                    f"{self.variable('KAFKA_SASL_PASSWORD')} must be set when {protocol} is {self.protocol}"
                )
            if self.mechanism is KafkaSaslMechanism.plain and not self.tls:
                found.append(
                    f"{self.variable('KAFKA_SASL_MECHANISM')}: PLAIN sends the password itself; "
                    f"only with {protocol}=SASL_SSL"
                )
        elif self.username or password:
            # A login that would silently not be used: the broker would refuse or, worse, accept.
            found.append(
                f"{self.variable('KAFKA_SASL_USERNAME')}/{self.variable('KAFKA_SASL_PASSWORD')} are set "
                f"but {protocol} is {self.protocol}: set it to SASL_PLAINTEXT or SASL_SSL"
            )
        if self.ssl_cafile is not None:
            if not self.tls:
                found.append(
                    f"{self.variable('KAFKA_SSL_CAFILE')} is set but {protocol} is {self.protocol} (no TLS)"
                )
            elif not self.ssl_cafile.is_file():
                found.append(f"{self.variable('KAFKA_SSL_CAFILE')}: no file at {self.ssl_cafile}")
        return found

    def describe(self) -> str:
        """For logs and errors: the protocol, mechanism and user, never the password."""
        if self.sasl:
            return f"{self.protocol} {self.mechanism} as {self.username}"
        return str(self.protocol)

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        # The system's roots unless a CA file is named (a province's own CA).
        return ssl.create_default_context(cafile=str(self.ssl_cafile) if self.ssl_cafile else None)

    def security(self) -> BaseSecurity | None:
        """FastStream's security object for `KafkaBroker(security=…)`; None for PLAINTEXT."""
        from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

        context = self.ssl_context()
        if not self.sasl:
            return BaseSecurity(ssl_context=context) if context is not None else None
        kind = {
            KafkaSaslMechanism.scram_sha_256: SASLScram256,
            KafkaSaslMechanism.scram_sha_512: SASLScram512,
            KafkaSaslMechanism.plain: SASLPlaintext,
        }[self.mechanism]
        password = self.password.get_secret_value() if self.password is not None else ""
        # use_ssl=False explicitly: FastStream's default would turn TLS on for SASL_PLAINTEXT.
        return kind(self.username, password, ssl_context=context, use_ssl=context is not None)

    def client_options(self) -> dict[str, Any]:
        """The same login as aiokafka keyword arguments (an admin client, a raw connection):
        FastStream's own translation of `security()`, so the two cannot disagree."""
        from faststream.kafka.security import parse_security

        return parse_security(self.security())


class BrokerConnectionFailed(RuntimeError):
    """The service could not connect to Kafka at start-up; the message says why, in words an
    operator acts on (which variable to check), never with the password."""


async def explain_connection_failure(servers: list[str], login: KafkaLogin, wait_seconds: float = 5.0) -> str:
    """Why the clients could not bootstrap: one direct connection to the first server, with the
    same login, tells an unreachable broker from a refused login (aiokafka reports both as
    "Unable to bootstrap")."""
    from aiokafka.conn import create_conn
    from aiokafka.errors import UnsupportedSaslMechanismError
    from aiokafka.protocol.metadata import MetadataRequest

    server = servers[0]
    host, _, port_text = server.rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        return f"{server}: not a host:port ({login.variable('KAFKA_BOOTSTRAP')})"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), wait_seconds)
    except (OSError, TimeoutError) as error:
        return f"Kafka at {server} is unreachable ({type(error).__name__}: {error})"
    writer.close()
    try:
        connection = await asyncio.wait_for(
            create_conn(host, port, request_timeout_ms=int(wait_seconds * 1000), **login.client_options()),
            wait_seconds,
        )
        try:
            # A broker that requires a login answers the version request anyway, then closes
            # the connection at the first real one.
            await asyncio.wait_for(connection.send(MetadataRequest([])), wait_seconds)
        finally:
            connection.close()
    except UnsupportedSaslMechanismError:
        return (
            f"Kafka at {server} does not offer {login.mechanism} ({login.variable('KAFKA_SASL_MECHANISM')})"
        )
    except TimeoutError:
        return f"Kafka at {server} accepted the connection but did not answer in {wait_seconds} s"
    except Exception as error:
        if login.sasl:
            return (
                f"Kafka at {server} refused the login of {login.username} ({login.mechanism}): check "
                f"{login.variable('KAFKA_SASL_USERNAME')} and {login.variable('KAFKA_SASL_PASSWORD')} "
                f"({type(error).__name__})"
            )
        return (
            f"Kafka at {server} closed the connection of a client without login: it probably requires "
            f"one ({login.variable('KAFKA_SECURITY_PROTOCOL')} is {login.protocol}; "
            f"{type(error).__name__}: {error})"
        )
    return f"Kafka at {server} accepts {login.describe()}, but the clients could not start"
