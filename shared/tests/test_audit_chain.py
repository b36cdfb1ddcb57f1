"""The audit trail's hash chain: every edit, deletion, insertion and reordering is found and
named by its entry's number; on a real database, concurrent writers never share a link."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update

from hbs_shared.audit import chain
from hbs_shared.audit.chain import GENESIS, Entry, Fault, Head, link, verify
from hbs_shared.audit.store import STANDARD, append, audit_head, audit_trail, metadata, verify_stored
from hbs_shared.db import Database

T0 = datetime(2026, 12, 6, 7, 30, tzinfo=UTC)


def build(n: int) -> list[Entry]:
    entries: list[Entry] = []
    head = Head(0, GENESIS)
    for i in range(n):
        entry = link(
            head,
            occurred_at=T0 + timedelta(minutes=i),
            school_id="s1",
            actor_id=str(uuid.uuid4()),
            actor_name="Nguyễn Thị Hoa",
            action="sheet_submitted",
            subject_kind="sheet",
            subject_id=str(uuid.uuid4()),
            details={"score": "8,5", "i": i},
        )
        entries.append(entry)
        head = Head(entry.seq, entry.hash)
    return entries


def first_break(entries: list[Entry], head: Head | None = None) -> tuple[int, Fault, str]:
    broken = verify(entries, head).broken
    assert broken is not None, "the chain should be broken"
    return broken.seq, broken.fault, broken.message


async def stored_break(db: Database) -> tuple[int, Fault] | None:
    async with db.transaction() as session:
        broken = (await verify_stored(session, STANDARD)).broken
    return None if broken is None else (broken.seq, broken.fault)


def test_an_untouched_chain_is_intact_up_to_its_head() -> None:
    entries = build(5)
    report = verify(entries, Head(5, entries[-1].hash))
    assert (report.intact, report.checked, report.last_seq) == (True, 5, 5)


def test_an_edited_entry_is_named() -> None:
    entries = build(5)
    entries[2] = replace(entries[2], details={"score": "9,5", "i": 2})
    assert first_break(entries)[:2] == (3, Fault.edited)
    assert "entry 3" in first_break(entries)[2]


def test_an_edit_that_recomputes_its_own_hash_breaks_the_next_link() -> None:
    entries = build(5)
    entries[1] = replace(entries[1], actor_name="Trần Văn Bình").sealed()
    assert first_break(entries)[:2] == (3, Fault.broken_link)


def test_a_deleted_entry_is_named_by_the_gap() -> None:
    entries = build(5)
    del entries[1]
    assert first_break(entries)[:2] == (3, Fault.missing)
    assert "2..2" in first_break(entries)[2]


def test_deleting_the_last_entries_is_found_against_the_head() -> None:
    entries = build(5)
    assert first_break(entries[:3], Head(5, entries[-1].hash))[:2] == (5, Fault.truncated)


def test_swapped_entries_are_named() -> None:
    entries = build(5)
    entries[1], entries[2] = entries[2], entries[1]
    assert first_break(entries)[:2] == (3, Fault.missing)
    swapped_seq = [replace(e, seq=s).sealed() for e, s in zip(build(3), (1, 3, 2), strict=True)]
    assert first_break(swapped_seq)[0] == 3


def test_an_inserted_entry_is_named() -> None:
    entries = build(4)
    forged = link(
        Head(2, entries[1].hash),
        occurred_at=T0,
        school_id="s1",
        actor_id=None,
        actor_name="x",
        action="sheet_submitted",
        subject_kind=None,
        subject_id=None,
        details={},
    )
    entries.insert(2, forged)
    assert first_break(entries)[:2] == (3, Fault.out_of_order)


def test_the_canonical_form_is_sorted_utf8_json_with_utc_times() -> None:
    entry = build(1)[0]
    assert entry.canonical().decode("utf-8").startswith('{"action":"sheet_submitted","actor":')
    assert "Nguyễn Thị Hoa" in entry.canonical().decode("utf-8")
    hanoi = replace(entry, occurred_at=T0.astimezone(chain.UTC).replace(tzinfo=None))
    assert hanoi.computed_hash() == entry.computed_hash()
    assert '"occurred_at":"2026-12-06T07:30:00.000000+00:00"' in entry.canonical().decode()


# --- on the real database ---------------------------------------------------------------------


@pytest.fixture
async def db(databases: Any) -> Any:
    database = Database(databases.new("audit"))
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def write(db: Database, action: str, n: int = 1) -> None:
    async with db.transaction() as session:
        for i in range(n):
            append(
                session,
                STANDARD,
                school_id="s1",
                actor_id=uuid.uuid4(),
                actor_name="Lê Văn An",
                action=action,
                subject_kind="sheet",
                subject_id=uuid.uuid4(),
                details={"i": i, "when": T0, "who": uuid.UUID(int=7)},
            )


@pytest.mark.db
async def test_entries_written_in_transactions_verify_and_an_sql_edit_is_named(db: Database) -> None:
    await write(db, "sheet_submitted", 3)
    await write(db, "sheet_returned", 2)
    async with db.transaction() as session:
        report = await verify_stored(session, STANDARD)
    assert (report.intact, report.last_seq) == (True, 5)
    async with db.transaction() as session:
        await session.execute(text("UPDATE audit_trail SET actor_name = 'Kẻ Gian' WHERE seq = 4"))
    assert await stored_break(db) == (4, Fault.edited)


@pytest.mark.db
async def test_a_rolled_back_action_leaves_no_entry(db: Database) -> None:
    async def failing_action() -> None:
        async with db.transaction() as session:
            append(session, STANDARD, school_id="s1", actor_id=None, actor_name="x", action="a")
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError):
        await failing_action()
    await write(db, "after")
    async with db.transaction() as session:
        seqs = (await session.execute(select(audit_trail.c.seq))).scalars().all()
        report = await verify_stored(session, STANDARD)
    assert (list(seqs), report.intact) == ([1], True)


@pytest.mark.db
async def test_a_deleted_row_and_a_deleted_tail_are_named(db: Database) -> None:
    await write(db, "a", 4)
    async with db.transaction() as session:
        await session.execute(text("DELETE FROM audit_trail WHERE seq = 4"))
    assert await stored_break(db) == (4, Fault.truncated)
    async with db.transaction() as session:
        await session.execute(text("DELETE FROM audit_trail WHERE seq = 2"))
    assert await stored_break(db) == (3, Fault.missing)


@pytest.mark.db
async def test_concurrent_writers_never_take_the_same_link(db: Database) -> None:
    async def writer(k: int) -> None:
        async with db.transaction() as session:
            # the writer's own work first, then a pause so the transactions overlap
            await session.execute(update(audit_head).values(chain=audit_head.c.chain).where(False))
            append(session, STANDARD, school_id="s1", actor_id=None, actor_name=f"w{k}", action="a")
            await asyncio.sleep(0.01)

    await asyncio.gather(*(writer(k) for k in range(12)))
    async with db.transaction() as session:
        report = await verify_stored(session, STANDARD)
        names = (await session.execute(select(audit_trail.c.actor_name))).scalars().all()
    assert (report.intact, report.last_seq) == (True, 12)
    assert sorted(names) == sorted(f"w{k}" for k in range(12))
