"""The province's topic plan: every topic, its partitions, who writes and reads it, and the ACLs
that follow. `python -m hbs_shared.messaging.topics plan` prints it
(deploy/k8s/platform/kafka/plan.json); `… acls` prints the `kafka-acls.sh` commands
(deploy/k8s/platform/kafka/acls.sh); `… create` creates the topics on a broker (missing ones
made, too few partitions raised; nothing is ever deleted or shrunk).

Keys: school, then aggregate (`<school_id>:<aggregate id>`); the producers' partitioner hashes
the school part only (`hbs_shared.messaging.partitions`), so a school's events of one topic stay
in order on one partition and a province's schools spread over all partitions. Partitions can
only grow; growing one moves schools to other partitions, so it is done between school years,
when the topics are drained (docs/operations.md).

`create` logs in as the services do (`KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_MECHANISM`,
`KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`, `KAFKA_SSL_CAFILE`; the same mapping,
`hbs_shared.messaging.security`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from hbs_shared.events import contracts, identity
from hbs_shared.messaging.consumer import dead_letter_topic
from hbs_shared.messaging.security import KafkaLogin, KafkaSaslMechanism, KafkaSecurityProtocol

SERVICES = ("identity", "grades", "signing", "portal")

REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2
KEY_PLAN = "<school_id>:<aggregate id>"
PARTITIONED_BY = "<school_id> (murmur2 of the key's school part)"
DEAD_LETTER_PARTITIONS = 3
"""Dead letters are rare and read by people: few partitions (same key, so same order within one)."""


@dataclass(frozen=True)
class TopicPlan:
    name: str
    partitions: int
    producer: str
    consumers: dict[str, str] = field(default_factory=dict)
    """Service → its consumer group (`EventConsumer.name`), which also writes `<name>.dlq`."""
    retention_days: int = 30


# The year-end topics carry one message per record and signature step: as many partitions as the
# most signing replicas planned (docs/operations.md, "Sizing a province"), so none sits idle.
TOPICS: tuple[TopicPlan, ...] = (
    TopicPlan(
        identity.IDENTITY_STUDENTS_TOPIC,
        6,
        "identity",
        {"grades": "grades.identity-students"},
    ),
    TopicPlan(
        identity.IDENTITY_ASSIGNMENTS_TOPIC,
        6,
        "identity",
        {"grades": "grades.identity-assignments"},
    ),
    TopicPlan(
        identity.IDENTITY_ACCOUNTS_TOPIC,
        6,
        "identity",
        {"signing": "signing.identity-accounts"},
    ),
    TopicPlan(
        identity.IDENTITY_STRUCTURE_TOPIC,
        3,
        "identity",
        {"grades": "grades.identity-structure", "signing": "signing.identity-structure"},
    ),
    TopicPlan(contracts.GRADES_SHEETS_TOPIC, 12, "grades", {"signing": "signing.sheet-requests"}),
    TopicPlan(contracts.GRADES_RECORDS_TOPIC, 12, "grades", {"signing": "signing.record-requests"}),
    TopicPlan(contracts.SIGNING_DOCUMENTS_TOPIC, 12, "signing", {"grades": "grades.signing-results"}),
    TopicPlan(contracts.SIGNING_BATCHES_TOPIC, 6, "signing"),
)


def _principal(service: str) -> str:
    return f"User:hbs-{service}"


def acl_rules() -> list[dict[str, str]]:
    """Every right a service's principal gets; anything not listed is refused
    (`allow.everyone.if.no.acl.found=false`)."""
    rules: list[dict[str, str]] = []

    def allow(service: str, operation: str, resource: str, name: str, pattern: str = "literal") -> None:
        rules.append(
            {
                "principal": _principal(service),
                "operation": operation,
                "resource": resource,
                "name": name,
                "pattern": pattern,
            }
        )

    for service in SERVICES:
        # Reaching the cluster at all (metadata, the readiness ping, the outbox's cluster id).
        allow(service, "Describe", "cluster", "kafka-cluster")
    for topic in TOPICS:
        allow(topic.producer, "Write", "topic", topic.name)
        allow(topic.producer, "Describe", "topic", topic.name)
        for service, group in sorted(topic.consumers.items()):
            allow(service, "Read", "topic", topic.name)
            allow(service, "Describe", "topic", topic.name)
            allow(service, "Read", "group", group)
            allow(service, "Write", "topic", dead_letter_topic(topic.name))
            allow(service, "Describe", "topic", dead_letter_topic(topic.name))
    return rules


def plan() -> dict[str, Any]:
    topics: list[dict[str, Any]] = []
    for topic in TOPICS:
        configs = {
            "min.insync.replicas": str(MIN_INSYNC_REPLICAS),
            "retention.ms": str(topic.retention_days * 86_400_000),
        }
        topics.append(
            {
                "name": topic.name,
                "partitions": topic.partitions,
                "replication_factor": REPLICATION_FACTOR,
                "configs": configs,
                "key": KEY_PLAN,
                "partitioned_by": PARTITIONED_BY,
                "producer": topic.producer,
                "consumers": dict(sorted(topic.consumers.items())),
            }
        )
        if topic.consumers:
            topics.append(
                {
                    "name": dead_letter_topic(topic.name),
                    "partitions": DEAD_LETTER_PARTITIONS,
                    "replication_factor": REPLICATION_FACTOR,
                    "configs": {"min.insync.replicas": str(MIN_INSYNC_REPLICAS), "retention.ms": "-1"},
                    "key": "as the original message",
                    "partitioned_by": PARTITIONED_BY,
                    "producer": ",".join(sorted(topic.consumers)),
                    "consumers": {},
                }
            )
    return {
        "principals": {service: _principal(service) for service in SERVICES},
        "topics": topics,
        "acls": acl_rules(),
    }


def render_plan() -> str:
    return json.dumps(plan(), ensure_ascii=False, indent=2) + "\n"


def render_acls() -> str:
    """The `kafka-acls.sh` commands the Kafka set-up job runs (idempotent: adding twice is a no-op)."""
    lines = [
        "#!/bin/sh",
        "# Generated by `python -m hbs_shared.messaging.topics acls`: do not edit by hand.",
        "# Needs KAFKA_BOOTSTRAP and ADMIN_CONFIG (a client .properties file with the admin's SCRAM login).",
        "set -eu",
    ]
    for rule in acl_rules():
        resource = {
            "cluster": "--cluster",
            "topic": f"--topic {rule['name']}",
            "group": f"--group {rule['name']}",
        }[rule["resource"]]
        lines.append(
            'kafka-acls.sh --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$ADMIN_CONFIG" '
            f"--add --allow-principal {rule['principal']} --operation {rule['operation']} {resource} "
            f"--resource-pattern-type {rule['pattern']}"
        )
    return "\n".join(lines) + "\n"


async def create_topics(
    bootstrap: str,
    *,
    replication_factor: int = REPLICATION_FACTOR,
    login: KafkaLogin | None = None,
) -> list[str]:
    """Create what is missing, raise partitions that are too few; returns one line per change."""
    from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic

    wanted = plan()["topics"]
    options = (login or KafkaLogin()).client_options()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="hbs-topics", **options)
    await admin.start()
    changes: list[str] = []
    try:
        # Listing all topics asks for no topic by name: a broker that creates topics on a metadata
        # request for them (the embedded one does) creates none here.
        present = set(await admin.list_topics()) & {t["name"] for t in wanted}
        existing = {
            d["topic"]: len(d["partitions"])
            for d in (await admin.describe_topics(sorted(present)) if present else [])
            if d["error_code"] == 0
        }
        missing = [t for t in wanted if t["name"] not in existing]
        if missing:
            # A single broker (the embedded one, a test) cannot hold min.insync.replicas=2.
            replicated = replication_factor >= MIN_INSYNC_REPLICAS
            response = await admin.create_topics(
                [
                    NewTopic(
                        t["name"],
                        t["partitions"],
                        replication_factor,
                        topic_configs=t["configs"] if replicated else {},
                    )
                    for t in missing
                ]
            )
            for name, code, *rest in response.topic_errors:
                if code not in (0, 36):  # 36: created meanwhile by someone else
                    raise RuntimeError(f"{name}: could not be created (error {code} {rest})")
            changes.extend(f"created {t['name']} ({t['partitions']} partitions)" for t in missing)
        grow = {
            t["name"]: NewPartitions(t["partitions"])
            for t in wanted
            if t["name"] in existing and existing[t["name"]] < t["partitions"]
        }
        if grow:
            response = await admin.create_partitions(grow)
            for name, code, *rest in response.topic_errors:
                if code != 0:
                    raise RuntimeError(f"{name}: partitions not raised (error {code} {rest})")
            changes.extend(f"raised {name} to {p.total_count} partitions" for name, p in grow.items())
    finally:
        await admin.close()
    return changes


def login_from_environment(environ: dict[str, str]) -> KafkaLogin:
    """The admin's login for `create`: with a user and no protocol, SASL_PLAINTEXT (the brokers
    of deploy/k8s). Refused, naming the variable, when incomplete."""
    username = environ.get("KAFKA_SASL_USERNAME", "")
    default_protocol = KafkaSecurityProtocol.sasl_plaintext if username else KafkaSecurityProtocol.plaintext
    password = environ.get("KAFKA_SASL_PASSWORD")
    cafile = environ.get("KAFKA_SSL_CAFILE")
    protocol = environ.get("KAFKA_SECURITY_PROTOCOL", default_protocol)
    mechanism = environ.get("KAFKA_SASL_MECHANISM", KafkaSaslMechanism.scram_sha_512)
    if protocol not in set(KafkaSecurityProtocol):
        raise SystemExit(
            f"configuration error: KAFKA_SECURITY_PROTOCOL: not one of {list(KafkaSecurityProtocol)}"
        )
    if mechanism not in set(KafkaSaslMechanism):
        raise SystemExit(f"configuration error: KAFKA_SASL_MECHANISM: not one of {list(KafkaSaslMechanism)}")
    login = KafkaLogin(
        protocol=KafkaSecurityProtocol(protocol),
        mechanism=KafkaSaslMechanism(mechanism),
        username=username,
        password=SecretStr(password) if password is not None else None,
        ssl_cafile=Path(cafile) if cafile else None,
    )
    problems = login.problems()
    if problems:
        raise SystemExit("configuration error: " + "; ".join(problems))
    return login


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hbs_shared.messaging.topics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("plan", help="print the topic and ACL plan (JSON)")
    commands.add_parser("acls", help="print the kafka-acls.sh commands")
    create = commands.add_parser("create", help="create the planned topics on a broker")
    create.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    create.add_argument("--replication-factor", type=int, default=REPLICATION_FACTOR)
    args = parser.parse_args(argv)
    if args.command == "plan":
        sys.stdout.write(render_plan())
    elif args.command == "acls":
        sys.stdout.write(render_acls())
    else:
        changes = asyncio.run(
            create_topics(
                args.bootstrap,
                replication_factor=args.replication_factor,
                login=login_from_environment(dict(os.environ)),
            )
        )
        for line in changes or ["every planned topic exists with its partitions"]:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
