"""The chain in a service's database: its tables, appending in the committing transaction, and
reading it back to verify.

Appending is safe with concurrent writers: an entry is queued on the session and written just
before that transaction commits, after its own flush, by first *updating* the chain's one head
row (`audit_head`). The update takes the row's lock on PostgreSQL (a second transaction waits
there and then reads the head the first one committed) and the database's write lock on
SQLite, so two transactions never take the same number or link to the same previous entry;
`seq` is unique besides. Taking the head last keeps its lock short and means a transaction
holding it never waits for another row lock (no deadlock with the action's own rows).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Uuid,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from hbs_shared.audit.chain import GENESIS, Entry, Head, Report, Walk, link
from hbs_shared.db import UtcDateTime

metadata = MetaData()

_seq_type = BigInteger().with_variant(Integer(), "sqlite")

audit_head = Table(
    "audit_head",
    metadata,
    Column("chain", String(40), primary_key=True),
    Column("seq", _seq_type, nullable=False),
    Column("hash", String(64), nullable=False),
)
"""One row per chain: the last entry's number and hash. Locked by every append."""

CHAIN = "audit"
"""The one chain of a service's database."""

GENESIS_ROW = {"chain": CHAIN, "seq": 0, "hash": GENESIS}


@event.listens_for(audit_head, "after_create")
def _genesis(target: Table, connection: Connection, **_: Any) -> None:
    connection.execute(insert(target).values(**GENESIS_ROW))


audit_trail = Table(
    "audit_trail",
    metadata,
    Column("seq", _seq_type, primary_key=True, autoincrement=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False, index=True),
    Column("school_id", String(64), nullable=False, index=True),
    Column("actor_id", Uuid, nullable=True, index=True),
    Column("actor_name", String(200), nullable=False),
    Column("action", String(60), nullable=False, index=True),
    Column("subject_kind", String(40), nullable=True),
    Column("subject_id", String(64), nullable=True, index=True),
    Column("details", JSON, nullable=False),
)
"""The standard trail (grades', and any new service's)."""

CANONICAL = (
    "seq",
    "prev_hash",
    "hash",
    "occurred_at",
    "school_id",
    "actor_id",
    "actor_name",
    "action",
    "subject_kind",
    "subject_id",
    "details",
)


@dataclass(frozen=True, eq=False)
class Layout:
    """Where a service keeps its chain: the entries' table, which of its columns holds each
    canonical field (a trail older than the chain names them its own way), extra protected
    columns, and the column that orders the rows as they were written."""

    service: str
    table: Table = audit_trail
    head: Table = audit_head
    columns: Mapping[str, str] = field(default_factory=dict)
    extra: tuple[str, ...] = ()
    order_by: str = "seq"

    def column(self, name: str) -> str:
        return self.columns.get(name, name)

    def col(self, name: str) -> Any:
        return self.table.c[self.column(name)]


STANDARD = Layout("grades")


@dataclass(frozen=True)
class Pending:
    layout: Layout
    occurred_at: datetime
    school_id: str
    actor_id: uuid.UUID | None
    actor_name: str
    action: str
    subject_kind: str | None
    subject_id: str | None
    details: Mapping[str, Any]
    extra: Mapping[str, str | None]


_PENDING = "hbs_audit_pending"


def append(
    session: AsyncSession | Session,
    layout: Layout,
    *,
    school_id: str,
    actor_id: uuid.UUID | None,
    actor_name: str,
    action: str,
    subject_kind: str | None = None,
    subject_id: object | None = None,
    details: Mapping[str, Any] | None = None,
    extra: Mapping[str, str | None] | None = None,
) -> None:
    """Queue one entry; it is chained and written as this session's transaction commits (and
    forgotten if it rolls back)."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    pending: list[Pending] | None = sync.info.get(_PENDING)
    if pending is None:
        pending = sync.info[_PENDING] = []
        # (a unit test's stand-in session only collects the entries)
        if isinstance(sync, Session) and not event.contains(sync, "before_commit", _write_pending):
            event.listen(sync, "before_commit", _write_pending)
            event.listen(sync, "after_rollback", _forget_pending)
    pending.append(
        Pending(
            layout,
            datetime.now(UTC),
            school_id,
            actor_id,
            actor_name,
            str(action),
            subject_kind,
            None if subject_id is None else str(subject_id),
            dict(details or {}),
            dict(extra or {}),
        )
    )


def pending_actions(session: AsyncSession | Session) -> list[str]:
    """The actions queued in this session and not yet written (for tests)."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    return [item.action for item in sync.info.get(_PENDING) or []]


def _forget_pending(sync: Session) -> None:
    sync.info.pop(_PENDING, None)


def _write_pending(sync: Session) -> None:
    # Runs inside the commit's greenlet, so the synchronous session may talk to the database.
    pending: list[Pending] = sync.info.pop(_PENDING, None) or []
    if not pending:
        return
    sync.flush()  # the action's own row locks first; the head's last
    layouts: list[Layout] = []
    for item in pending:
        if not any(item.layout is known for known in layouts):
            layouts.append(item.layout)
    for layout in layouts:
        _write_chain(sync, layout, [p for p in pending if p.layout is layout])


def _write_chain(sync: Session, layout: Layout, pending: Sequence[Pending]) -> None:
    head_table = layout.head
    where = head_table.c.chain == CHAIN
    locked = sync.execute(
        update(head_table)
        .where(where)
        .values(seq=head_table.c.seq)
        .returning(head_table.c.seq, head_table.c.hash)
    ).one_or_none()
    if locked is None:
        sync.execute(insert(head_table).values(**GENESIS_ROW))
        head = Head(0, GENESIS)
    else:
        head = Head(int(locked.seq), str(locked.hash))
    rows: list[dict[str, Any]] = []
    for item in pending:
        entry = link(
            head,
            occurred_at=item.occurred_at,
            school_id=item.school_id,
            actor_id=None if item.actor_id is None else str(item.actor_id),
            actor_name=item.actor_name,
            action=item.action,
            subject_kind=item.subject_kind,
            subject_id=item.subject_id,
            details=item.details,
            extra={name: item.extra.get(name) for name in layout.extra},
        )
        rows.append(_row(layout, entry, item.actor_id))
        head = Head(entry.seq, entry.hash)
    sync.execute(insert(layout.table), rows)
    sync.execute(update(head_table).where(where).values(seq=head.seq, hash=head.hash))


def _row(layout: Layout, entry: Entry, actor_id: uuid.UUID | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "seq": entry.seq,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
        "occurred_at": entry.occurred_at,
        "school_id": entry.school_id,
        "actor_id": actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "subject_kind": entry.subject_kind,
        "subject_id": entry.subject_id,
        "details": dict(entry.details),
    }
    row = {layout.column(name): value for name, value in values.items()}
    row.update(entry.extra)
    return row


def entry_of(layout: Layout, row: Any) -> Entry:
    """A stored row as the chain sees it."""
    m = row._mapping
    actor = m[layout.column("actor_id")]
    seq = m[layout.column("seq")]
    return Entry(
        seq=-1 if seq is None else int(seq),
        prev_hash=m[layout.column("prev_hash")] or "",
        occurred_at=m[layout.column("occurred_at")],
        school_id=m[layout.column("school_id")],
        actor_id=None if actor is None else str(actor),
        actor_name=m[layout.column("actor_name")],
        action=m[layout.column("action")],
        subject_kind=m[layout.column("subject_kind")],
        subject_id=m[layout.column("subject_id")],
        details=dict(m[layout.column("details")] or {}),
        extra={name: m[name] for name in layout.extra},
        hash=m[layout.column("hash")] or "",
    )


async def head_of(session: AsyncSession, layout: Layout) -> Head | None:
    row = (
        await session.execute(
            select(layout.head.c.seq, layout.head.c.hash).where(layout.head.c.chain == CHAIN)
        )
    ).one_or_none()
    return None if row is None else Head(int(row.seq), str(row.hash))


async def stored_entries(session: AsyncSession, layout: Layout, batch: int = 1000) -> AsyncIterator[Entry]:
    """Every entry in the order it was written, a batch at a time (keyset on the order column)."""
    order = layout.table.c[layout.order_by]
    last: Any = None
    while True:
        query = select(layout.table).order_by(order).limit(batch)
        if last is not None:
            query = query.where(order > last)
        rows = (await session.execute(query)).all()
        for row in rows:
            yield entry_of(layout, row)
        if len(rows) < batch:
            return
        last = rows[-1]._mapping[layout.order_by]


async def verify_stored(session: AsyncSession, layout: Layout) -> Report:
    """Check the whole chain of this database, from its first entry to its head."""
    head = await head_of(session, layout)  # read first: entries appended meanwhile are not "extra"
    walk = Walk()
    async for entry in stored_entries(session, layout):
        if not walk.step(entry) or (head is not None and entry.seq >= head.seq):
            break
    return walk.report(head)


def listing(
    layout: Layout,
    school_id: str,
    *,
    actions: Sequence[str] = (),
    actor_id: uuid.UUID | None = None,
    subject_kind: str | None = None,
    subject_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[Any]:
    """A school's entries, newest first, filtered (the caller adds limit and offset)."""
    query = select(layout.table).where(layout.col("school_id") == school_id)
    if actions:
        query = query.where(layout.col("action").in_(list(actions)))
    if actor_id is not None:
        query = query.where(layout.col("actor_id") == actor_id)
    if subject_kind is not None:
        query = query.where(layout.col("subject_kind") == subject_kind)
    if subject_id is not None:
        query = query.where(layout.col("subject_id") == subject_id)
    if since is not None:
        query = query.where(layout.col("occurred_at") >= since)
    if until is not None:
        query = query.where(layout.col("occurred_at") < until)
    return query.order_by(layout.table.c[layout.order_by].desc())


def count_of(query: Select[Any]) -> Select[Any]:
    return select(func.count()).select_from(query.order_by(None).subquery())
