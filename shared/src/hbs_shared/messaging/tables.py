"""The outbox and inbox tables, present in every service's database."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.sql import func

from hbs_shared.db import UtcDateTime

metadata = MetaData()

# Integer on SQLite so the column is the rowid alias (auto-increment); BIGINT elsewhere.
_id_type = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    metadata,
    Column("id", _id_type, primary_key=True, autoincrement=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("topic", String(200), nullable=False),
    Column("partition_key", String(200), nullable=False),
    Column("event_type", String(120), nullable=False),
    Column("correlation_id", String(64), nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, server_default=func.now()),
    Column("sent_at", UtcDateTime(), nullable=True, index=True),
    # The broker's cluster id that acknowledged it: a broker with another id lost it (resent).
    Column("sent_to", String(64), nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
)

inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(120), nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("event_type", String(120), nullable=False),
    Column("processed_at", UtcDateTime(), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
)
