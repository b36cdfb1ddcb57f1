"""Backups (issue 13 §1) without the stack: a small installation of four databases and a document
store is backed up, refused when tampered with or opened with the wrong key (nothing written),
refused into a non-empty installation, and restored with every row and file. The databases are
SQLite, or PostgreSQL with HBS_TEST_DATABASE=postgresql (pg_dump/pg_restore)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from hbs_shared.backup import (
    SERVICES,
    BackupError,
    Created,
    Damaged,
    Installation,
    NotEmpty,
    WrongKey,
    create_backup,
    restore_backup,
    verify_backup,
    write_new_key,
)
from hbs_shared.backup import databases as dbs
from hbs_shared.backup.archive import backup_name
from hbs_shared.backup.crypto import HEADER_BYTES, DecryptingReader, EncryptingWriter
from hbs_shared.db import Database

pytestmark = pytest.mark.db

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def pdf(n: int) -> bytes:
    return b"%PDF-1.7\n" + f"document {n}\n".encode() * 50 + b"%%EOF\n"


async def make_installation(databases: Any, root: Path, *, documents: int = 3) -> Installation:
    """Four services' databases with a few tables (signing's names its documents) and a store."""
    urls = {service: databases.new(service) for service in SERVICES}
    store = root / "documents"
    digests = []
    for n in range(documents):
        content = pdf(n)
        digest = hashlib.sha256(content).hexdigest()
        (store / digest[:2]).mkdir(parents=True, exist_ok=True)
        (store / digest[:2] / f"{digest}.pdf").write_bytes(content)
        digests.append(digest)
    for service, url in urls.items():
        db = Database(url)
        try:
            async with db.engine.begin() as connection:
                await connection.execute(
                    text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
                )
                await connection.execute(text("INSERT INTO alembic_version VALUES ('0007')"))
                await connection.execute(
                    text(
                        "CREATE TABLE outbox (id INTEGER PRIMARY KEY, body TEXT, sent_at VARCHAR(40), "
                        "sent_to VARCHAR(64), attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)"
                    )
                )
                for i in range(5):
                    await connection.execute(
                        text("INSERT INTO outbox VALUES (:i, :b, :s, 'cluster', 0, NULL)"),
                        {"i": i, "b": f"event {i} của {service}", "s": "2026-12-01" if i < 4 else None},
                    )
                if service == "identity":
                    await connection.execute(
                        text("CREATE TABLE students (id INTEGER PRIMARY KEY, name TEXT)")
                    )
                    for i in range(7):
                        await connection.execute(
                            text("INSERT INTO students VALUES (:i, :n)"),
                            {"i": i, "n": f"Nguyễn Thị Hằng {i}"},
                        )
                if service == "signing":
                    await connection.execute(
                        text("CREATE TABLE documents (id INTEGER PRIMARY KEY, sha256 TEXT)")
                    )
                    for i, digest in enumerate(digests):
                        await connection.execute(
                            text("INSERT INTO documents VALUES (:i, :d)"), {"i": i, "d": digest}
                        )
        finally:
            await db.dispose()
    return Installation(urls, store)


def empty_installation(databases: Any, root: Path) -> Installation:
    return Installation({service: databases.new(service) for service in SERVICES}, root / "documents")


def untouched(installation: Installation) -> bool:
    return not installation.occupied() and not installation.documents.exists()


@pytest.fixture(scope="module")
async def made(databases: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Installation, Created]:
    """One installation and its backup, for the tests that only read them (PostgreSQL databases
    are slow to create)."""
    root = tmp_path_factory.mktemp("school")
    source = await make_installation(databases, root)
    return source, create_backup(source, KEY, root / "backups")


@pytest.fixture(scope="module")
def refused_into(databases: Any, tmp_path_factory: pytest.TempPathFactory) -> Installation:
    """An empty installation the refusal tests aim at; each checks it stays untouched."""
    return empty_installation(databases, tmp_path_factory.mktemp("fresh"))


async def test_a_backup_restores_every_row_and_document_into_an_empty_installation(
    databases: Any, tmp_path: Path, made: tuple[Installation, Created]
) -> None:
    source, created = made
    assert created.path.name.startswith("hbs-backup-")
    assert created.path.suffix == ".hbsbak"
    assert created.manifest.counts["students"] == 7
    assert created.manifest.counts["documents"] == created.manifest.counts["document_files"] == 3
    assert b"Nguy" not in created.path.read_bytes()  # encrypted, names and all
    assert oct(created.path.stat().st_mode & 0o777) == "0o600"

    target = empty_installation(databases, tmp_path / "fresh")
    restored = restore_backup(created.path, KEY, target)

    for service in SERVICES:
        assert dbs.counts(target.databases[service]).tables == dbs.counts(source.databases[service]).tables
    assert sorted(target.document_files()) == sorted(source.document_files())
    for name, path in source.document_files().items():
        assert (target.documents / name).read_bytes() == path.read_bytes()
    # Every event some service had sent goes out again (the inboxes drop those already applied).
    assert restored.requeued_events == 4 * len(SERVICES)
    assert (
        dbs.execute(target.databases["grades"], "UPDATE outbox SET attempts = 0 WHERE sent_at IS NULL") == 5
    )


async def test_a_wrong_key_is_refused_before_anything_is_written(
    made: tuple[Installation, Created], refused_into: Installation
) -> None:
    created, target = made[1], refused_into
    with pytest.raises(WrongKey, match="another backup key"):
        restore_backup(created.path, OTHER_KEY, target)
    with pytest.raises(WrongKey):
        verify_backup(created.path, OTHER_KEY)
    assert untouched(target)


@pytest.mark.parametrize("where", ["header", "first block", "middle", "last byte"])
async def test_a_flipped_byte_is_refused_before_anything_is_written(
    made: tuple[Installation, Created], refused_into: Installation, tmp_path: Path, where: str
) -> None:
    created = made[1]
    content = bytearray(created.path.read_bytes())
    position = {"header": 20, "first block": HEADER_BYTES + 5, "middle": len(content) // 2, "last byte": -1}
    content[position[where]] ^= 0x01
    tampered = tmp_path / "tampered.hbsbak"
    tampered.write_bytes(bytes(content))
    with pytest.raises(Damaged, match="damaged or was altered"):
        restore_backup(tampered, KEY, refused_into)
    with pytest.raises(Damaged, match="damaged or was altered"):
        verify_backup(tampered, KEY)
    assert untouched(refused_into)


async def test_a_cut_or_extended_backup_is_refused(
    made: tuple[Installation, Created], refused_into: Installation, tmp_path: Path
) -> None:
    content, target = made[1].path.read_bytes(), refused_into
    for name, changed in (("cut", content[:-100]), ("extended", content + b"\x00" * 16), ("empty", b"")):
        path = tmp_path / f"{name}.hbsbak"
        path.write_bytes(changed)
        with pytest.raises(Damaged):
            restore_backup(path, KEY, target)
    assert untouched(target)


async def test_a_restore_into_a_non_empty_installation_is_refused_naming_why(
    databases: Any, tmp_path: Path, made: tuple[Installation, Created]
) -> None:
    source, created = made
    busy = Installation(source.databases, tmp_path / "busy" / "documents")
    (busy.documents / "ab").mkdir(parents=True)
    (busy.documents / "ab" / "left-over").write_bytes(b"x")
    with pytest.raises(NotEmpty) as refused:
        restore_backup(created.path, KEY, busy)
    reason = str(refused.value)
    assert "empty installation" in reason
    for service in SERVICES:
        assert f"{service}: the database" in reason
    assert "document store" in reason
    assert "1 files" in reason
    # Only the store holds something: still refused, and the databases stay empty.
    target = empty_installation(databases, tmp_path / "fresh")
    (target.documents / "ab").mkdir(parents=True)
    (target.documents / "ab" / "left-over").write_bytes(b"x")
    with pytest.raises(NotEmpty, match="document store"):
        restore_backup(created.path, KEY, target)
    assert len(target.occupied()) == 1  # the store is the only reason: the databases stayed empty


async def test_a_backup_that_would_miss_a_document_is_not_written(databases: Any, tmp_path: Path) -> None:
    source = await make_installation(databases, tmp_path / "school")
    next(iter(source.document_files().values())).unlink()
    with pytest.raises(BackupError, match="lacks 1 documents"):
        create_backup(source, KEY, tmp_path / "b")
    assert not list((tmp_path / "b").iterdir())


def test_the_name_carries_the_date_in_vietnam_time() -> None:
    assert backup_name(datetime(2026, 12, 6, 22, 30, 5, tzinfo=UTC)) == "hbs-backup-2026-12-07_053005.hbsbak"


def test_chunks_cannot_be_dropped_reordered_or_cut_at_a_boundary() -> None:
    out = io.BytesIO()
    writer = EncryptingWriter(out, KEY, chunk_bytes=64)
    plain = os.urandom(64 * 5 + 10)
    writer.write(plain)
    writer.close()
    sealed = out.getvalue()
    assert DecryptingReader(io.BytesIO(sealed), KEY, "b").read() == plain
    block = 64 + 16
    head, blocks = sealed[:HEADER_BYTES], sealed[HEADER_BYTES:]
    chunks = [blocks[i : i + block] for i in range(0, len(blocks), block)]
    variants = {
        "cut at a boundary": head + b"".join(chunks[:3]),
        "a block dropped": head + b"".join(chunks[:1] + chunks[2:]),
        "two blocks swapped": head + b"".join([chunks[1], chunks[0], *chunks[2:]]),
        "a block repeated": head + b"".join([chunks[0], *chunks]),
    }
    for what, variant in variants.items():
        with pytest.raises(Damaged):
            DecryptingReader(io.BytesIO(variant), KEY, what).read()
    with pytest.raises(WrongKey):
        DecryptingReader(io.BytesIO(sealed), OTHER_KEY, "b")


def test_the_command_makes_a_key_once_and_refuses_a_wrong_one(tmp_path: Path) -> None:
    key_file = tmp_path / "backup.key"
    write_new_key(key_file)
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert len(base64.b64decode(key_file.read_text())) == 32
    again = subprocess.run(
        [sys.executable, "-m", "hbs_shared.backup", "keygen", str(key_file)], capture_output=True, text=True
    )
    assert again.returncode == 1
    assert "never overwritten" in again.stderr
    other = tmp_path / "other.key"
    other.write_text(base64.b64encode(OTHER_KEY).decode())
    backup = tmp_path / "hbs-backup-2026-12-07_053005.hbsbak"
    out = io.BytesIO()
    writer = EncryptingWriter(out, base64.b64decode(key_file.read_text()))
    writer.write(b"not a tar")
    writer.close()
    backup.write_bytes(out.getvalue())
    refused = subprocess.run(
        [sys.executable, "-m", "hbs_shared.backup", "restore", str(tmp_path), "--key-file", str(other),
         "--data-dir", str(tmp_path / "fresh")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "made with another backup key" in refused.stderr
    assert not (tmp_path / "fresh").exists()
