"""Message keys and partitions: a key is `<school_id>:<aggregate id>`; the partition is chosen by
the school part alone, so one school's events (of one topic) stay on one partition in the order
they were committed, and a province's schools spread over the partitions.

No consumer reads the key for meaning: the envelope carries the school and the payload the
aggregate; the key only places the message (and its dead letter, which keeps it)."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka.partitioner import DefaultPartitioner

KEY_SEPARATOR = ":"
"""Never in a school id (SCHOOL_ID_PATTERN: lower-case letters, digits and hyphens)."""


def message_key(school_id: str, aggregate_key: str) -> str:
    return f"{school_id}{KEY_SEPARATOR}{aggregate_key}"


def partition_part(key: str) -> str:
    """What chooses the partition: the school of a `<school>:<aggregate>` key, else the whole key
    (a key made elsewhere, e.g. a test's, is placed as Kafka's default partitioner would)."""
    return key.split(KEY_SEPARATOR, 1)[0]


def school_partitioner(
    key: bytes | None, all_partitions: Sequence[int], available: Sequence[int] | None
) -> int:
    """aiokafka's partitioner interface: Kafka's default (murmur2, as the Java client) over the
    school part only; a keyless record goes to any available partition, as by default."""
    school = None if key is None else key.split(KEY_SEPARATOR.encode(), 1)[0]
    return int(DefaultPartitioner()(school, all_partitions, available))
