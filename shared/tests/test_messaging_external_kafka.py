"""The Kafka login against a real Kafka of your own (`make test-kafka-login`): skipped unless
HBS_TEST_KAFKA_BOOTSTRAP names one. A service's broker with the login publishes through its outbox
and relay and consumes through an EventConsumer; with a wrong password it is refused at start.

The development machines cannot run a broker that accepts a SCRAM login (docs/operations.md,
"Kafka logins"): point this at one that can, e.g. the province's brokers through
`kubectl -n hbs port-forward` with a user that may create `hbs-test-*` topics and groups:

    HBS_TEST_KAFKA_BOOTSTRAP=127.0.0.1:9092 HBS_TEST_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT \\
    HBS_TEST_KAFKA_SASL_MECHANISM=SCRAM-SHA-512 HBS_TEST_KAFKA_SASL_USERNAME=admin \\
    HBS_TEST_KAFKA_SASL_PASSWORD=… make test-kafka-login

`HBS_TEST_KAFKA_BOOTSTRAP=embedded` runs it on the embedded broker without login (what checks
this file itself here)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pydantic_settings import SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_devtools.broker import LocalBroker
from hbs_devtools.samples import signing_completed
from hbs_shared.events.contracts import SigningCompleted
from hbs_shared.events.envelope import EventEnvelope, EventRegistry
from hbs_shared.messaging.consumer import EventConsumer
from hbs_shared.messaging.security import BrokerConnectionFailed
from hbs_shared.messaging.tables import metadata as messaging_metadata
from hbs_shared.service import ServiceRuntime
from hbs_shared.settings import ServiceSettings

BOOTSTRAP = os.environ.get("HBS_TEST_KAFKA_BOOTSTRAP", "")
pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(not BOOTSTRAP, reason="HBS_TEST_KAFKA_BOOTSTRAP names no Kafka of your own"),
]


class ExternalKafkaSettings(ServiceSettings):
    """The login comes from HBS_TEST_KAFKA_SECURITY_PROTOCOL, …_SASL_MECHANISM, …_SASL_USERNAME,
    …_SASL_PASSWORD, …_SSL_CAFILE, as a service's does from its own prefix."""

    model_config = SettingsConfigDict(env_prefix="HBS_TEST_", extra="ignore", validate_default=True)


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BOOTSTRAP != "embedded":
        yield BOOTSTRAP
        return
    with LocalBroker(log_path=tmp_path_factory.mktemp("broker") / "broker.log") as broker:
        yield broker.bootstrap


def settings(tmp_path: Path, bootstrap: str, **overrides: Any) -> ExternalKafkaSettings:
    return ExternalKafkaSettings(
        data_dir=tmp_path, kafka_bootstrap=bootstrap, outbox_poll_seconds=0.1, **overrides
    )


async def test_a_service_with_the_login_publishes_and_consumes(tmp_path: Path, bootstrap: str) -> None:
    test_topic = f"hbs-test-{uuid.uuid4().hex[:12]}"
    config = settings(tmp_path, bootstrap)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **config.kafka_login().client_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(test_topic, 3, 1)])
    finally:
        await admin.close()

    class Completed(SigningCompleted):
        # The same contract on a topic of the test's own.
        topic = test_topic

    runtime = ServiceRuntime("grades", config, migrations=None)
    async with runtime.db.engine.begin() as connection:
        await connection.run_sync(messaging_metadata.create_all)
    received: list[uuid.UUID] = []
    arrived = asyncio.Event()

    async def handle(session: AsyncSession, envelope: EventEnvelope, event: Any) -> None:
        received.append(event.subject_id)
        arrived.set()

    runtime.add_consumer(
        EventConsumer(
            f"{test_topic}.reader", test_topic, runtime.db, EventRegistry(Completed), {Completed: handle}
        )
    )
    subject = uuid.uuid4()
    await runtime.start()
    try:
        async with runtime.db.transaction() as session:
            await runtime.outbox.add(
                session,
                Completed.model_validate(signing_completed(subject).model_dump()),
                "thpt-phu-cu",
            )
        runtime.relay.nudge()
        await asyncio.wait_for(arrived.wait(), 60)
        assert received == [subject]
    finally:
        await runtime.stop()
        await runtime.db.dispose()


async def test_a_wrong_password_is_refused_at_start(tmp_path: Path, bootstrap: str) -> None:
    if not settings(tmp_path, bootstrap).kafka_login().sasl:
        pytest.skip("no login configured (HBS_TEST_KAFKA_SECURITY_PROTOCOL)")
    runtime = ServiceRuntime(
        "grades", settings(tmp_path, bootstrap, kafka_sasl_password="not-the-password"), migrations=None
    )
    try:
        with pytest.raises(BrokerConnectionFailed, match="refused the login of"):
            await asyncio.wait_for(runtime.start(), 30)
    finally:
        await runtime.relay.stop()
        await runtime.db.dispose()
