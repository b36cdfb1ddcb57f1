"""Make a backup of a running installation, check one, restore one into an empty installation.

The backup is one file, `hbs-backup-<date>_<time>.hbsbak` (Vietnam's time, Asia/Ho_Chi_Minh),
encrypted and authenticated as `crypto` describes; inside, a tar (gzip level 1) of:

    databases/<service>.sqlite3 | databases/<service>.pgdump     one per service, taken while it runs
    documents/ab/<sha256>.pdf                                      signing's document store
    manifest.json                                                  last: every file's SHA-256 and size,
                                                                   every table's rows, the summary counts

Consistency: each database is one snapshot (SQLite's online backup, or pg_dump in an exported
snapshot); signing's is taken before the document store is read, and the store only ever gains
files (each written before the row naming it commits), so every document the snapshot names is
in the backup (checked: a backup that would miss one fails). Between services, the snapshots are
seconds apart: a restore requeues every outbox event, and each consumer's inbox drops those it
had applied, so an event one service had sent and another had not yet applied arrives again.

A restore refuses before writing anything: a wrong key (by its key id), a damaged or altered
file (a chunk's tag, then every file's SHA-256 against the manifest), a manifest naming files
that are not there or the reverse, and an installation that is not empty.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast

from pydantic import BaseModel, ValidationError

from hbs_shared.backup import databases
from hbs_shared.backup.crypto import (
    BackupError,
    Damaged,
    DecryptingReader,
    EncryptingWriter,
    key_fingerprint,
    read_header,
)
from hbs_shared.backup.installation import (
    DOCUMENT_NAME,
    DOCUMENT_REFS,
    DOCUMENTS_SERVICE,
    SERVICES,
    Installation,
)
from hbs_shared.display import SCHOOL_TIME, school_time_text

FORMAT = "hbs-backup"
FORMAT_VERSION = 1
SUFFIX = ".hbsbak"
MANIFEST = "manifest.json"
_COPY_BYTES = 1024 * 1024
_MEMBER = re.compile(r"^(databases/[a-z]+\.(sqlite3|pgdump)|documents/[0-9a-f]{2}/[0-9a-f]{64}\.pdf)$")
SUMMARY: dict[str, tuple[str, str]] = {
    "students": ("identity", "students"),
    "staff": ("identity", "staff"),
    "parents": ("identity", "parents"),
    "sheets": ("grades", "score_sheets"),
    "records": ("grades", "year_records"),
    "documents": ("signing", "documents"),
}
"""The counts a person checks after a restore: name → (service, table)."""

Log = Callable[[str], None]


class NotEmpty(BackupError):
    """A restore into an installation that already holds data."""


class FileEntry(BaseModel):
    path: str
    sha256: str
    bytes: int


class DatabaseEntry(BaseModel):
    service: str
    engine: str
    file: str
    revision: str | None
    tables: dict[str, int]


class Manifest(BaseModel):
    format: str = FORMAT
    version: int = FORMAT_VERSION
    created_at: str
    """UTC, ISO 8601."""
    created_local: str
    """dd/mm/yyyy HH:mm in Vietnam's time, as people read it."""
    key_id: str
    databases: list[DatabaseEntry]
    files: list[FileEntry]
    counts: dict[str, int]
    """students, staff, parents, people, sheets, records, documents (rows), document_files."""
    seconds: float = 0.0


@dataclass(frozen=True)
class Created:
    path: Path
    manifest: Manifest
    bytes: int
    seconds: float


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    requeued_events: int
    seconds: float


def backup_name(moment: datetime) -> str:
    local = moment.astimezone(SCHOOL_TIME)
    return f"hbs-backup-{local:%Y-%m-%d_%H%M%S}{SUFFIX}"


def summary_counts(tables: dict[str, dict[str, int]], document_files: int) -> dict[str, int]:
    found = {name: tables.get(service, {}).get(table, 0) for name, (service, table) in SUMMARY.items()}
    found["people"] = found["students"] + found["staff"] + found["parents"]
    found["document_files"] = document_files
    return found


def describe_counts(counts: dict[str, int]) -> str:
    order = ("people", "students", "staff", "parents", "sheets", "records", "documents", "document_files")
    return ", ".join(f"{name} {counts.get(name, 0)}" for name in order)


class _Hashing:
    """Reads through a file, hashing what passes."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def _add(tar: tarfile.TarFile, name: str, path: Path, mtime: float) -> FileEntry:
    info = tarfile.TarInfo(name)
    info.size = path.stat().st_size
    info.mtime = int(mtime)
    info.mode = 0o600
    with path.open("rb") as source:
        hashing = _Hashing(source)
        tar.addfile(info, cast(BinaryIO, hashing))  # tarfile only calls .read()
    if hashing.size != info.size:
        raise BackupError(f"{path} changed size while it was read")
    return FileEntry(path=name, sha256=hashing.digest.hexdigest(), bytes=hashing.size)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_backup(
    installation: Installation,
    key: bytes,
    out_dir: Path,
    *,
    now: datetime | None = None,
    log: Log = lambda _: None,
) -> Created:
    """Back up every service's database and the document store while the system runs."""
    started = time.monotonic()
    moment = now or datetime.now(UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / backup_name(moment)
    serial = 1
    while final.exists():
        serial += 1
        final = out_dir / backup_name(moment).replace(SUFFIX, f"-{serial}{SUFFIX}")
    partial = out_dir / f".{final.name}.partial"
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".hbs-backup-") as staging_name:
        staging = Path(staging_name)
        entries: list[DatabaseEntry] = []
        staged: list[tuple[str, Path]] = []
        referenced: frozenset[str] = frozenset()
        for service in SERVICES:
            url = installation.databases[service]
            engine = databases.engine_of(url)
            name = f"databases/{service}.{'sqlite3' if engine == databases.SQLITE else 'pgdump'}"
            dest = staging / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            refs = DOCUMENT_REFS if service == DOCUMENTS_SERVICE else None
            try:
                snap = databases.snapshot(url, dest, refs)
            except BackupError as error:
                raise BackupError(f"{service}: {error}") from None
            if service == DOCUMENTS_SERVICE:
                referenced = snap.references
            entries.append(
                DatabaseEntry(
                    service=service, engine=engine, file=name, revision=snap.revision, tables=snap.tables
                )
            )
            staged.append((name, dest))
            rows = sum(snap.tables.values())
            log(f"{service}: {engine} snapshot, {rows} rows in {len(snap.tables)} tables")
        # After signing's snapshot: the store only gains files, so it holds all the snapshot names.
        documents = installation.document_files()
        present = {DOCUMENT_NAME.match(name).group(1) for name in documents}  # type: ignore[union-attr]
        missing = sorted(referenced - present)
        if missing:
            raise BackupError(
                f"signing's document store {installation.documents} lacks {len(missing)} documents its "
                f"database names (first: {missing[0]}): the store is damaged; nothing was written"
            )
        files: list[FileEntry] = []
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                writer = EncryptingWriter(out, key)
                with (
                    gzip.GzipFile(
                        fileobj=cast(BinaryIO, writer), mode="wb", compresslevel=1, mtime=0
                    ) as packed,
                    tarfile.open(fileobj=packed, mode="w|", format=tarfile.PAX_FORMAT) as tar,
                ):
                    mtime = moment.timestamp()
                    for name, path in staged:
                        files.append(_add(tar, name, path, mtime))
                    for name, path in documents.items():
                        entry = _add(tar, f"documents/{name}", path, mtime)
                        if entry.sha256 != DOCUMENT_NAME.match(name).group(1):  # type: ignore[union-attr]
                            raise BackupError(
                                f"signing's document store: {name} does not match its SHA-256 (the "
                                "file is damaged in the store); nothing was written"
                            )
                        files.append(entry)
                    tables = {entry.service: entry.tables for entry in entries}
                    manifest = Manifest(
                        created_at=moment.astimezone(UTC).isoformat(timespec="seconds"),
                        created_local=school_time_text(moment),
                        key_id=key_fingerprint(key),
                        databases=entries,
                        files=files,
                        counts=summary_counts(tables, len(documents)),
                        seconds=round(time.monotonic() - started, 2),
                    )
                    body = manifest.model_dump_json(indent=1).encode()
                    info = tarfile.TarInfo(MANIFEST)
                    info.size, info.mtime, info.mode = len(body), int(mtime), 0o600
                    tar.addfile(info, io.BytesIO(body))
                writer.close()
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, final)
            _fsync_dir(out_dir)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    seconds = time.monotonic() - started
    log(f"backup written: {final} ({final.stat().st_size} bytes) in {seconds:.1f} s")
    return Created(final, manifest, final.stat().st_size, seconds)


def unpack(path: Path, key: bytes, staging: Path) -> Manifest:
    """Decrypt, authenticate and unpack a backup into `staging`, then check every file against
    the manifest. Raises WrongKey or Damaged; writes nowhere but `staging`."""
    seen: dict[str, FileEntry] = {}
    body = b""
    try:
        with path.open("rb") as source:
            reader = DecryptingReader(source, key, path.name)
            with (
                gzip.GzipFile(fileobj=cast(BinaryIO, reader), mode="rb") as unpacked,
                tarfile.open(fileobj=unpacked, mode="r|") as tar,
            ):
                for member in tar:
                    name = member.name
                    if not member.isreg() or name in seen or not (name == MANIFEST or _MEMBER.match(name)):
                        raise Damaged(f"{path.name}: unexpected entry {name!r} in the backup")
                    extracted = tar.extractfile(member)
                    assert extracted is not None
                    if name == MANIFEST:
                        body = extracted.read()
                        seen[name] = FileEntry(path=name, sha256="", bytes=len(body))
                        continue
                    target = staging / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    hashing = _Hashing(cast(BinaryIO, extracted))
                    with target.open("wb") as out:
                        while chunk := hashing.read(_COPY_BYTES):
                            out.write(chunk)
                    seen[name] = FileEntry(path=name, sha256=hashing.digest.hexdigest(), bytes=hashing.size)
            reader.drain()  # the end too: a file cut short or extended fails here
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise BackupError(f"no backup at {path}") from None
        raise Damaged(f"{path.name}: the archive inside is unreadable ({error})") from None
    if not body:
        raise Damaged(f"{path.name}: no manifest")
    try:
        manifest = Manifest.model_validate_json(body)
    except ValidationError as error:
        raise Damaged(f"{path.name}: the manifest is malformed ({error.error_count()} errors)") from None
    if (manifest.format, manifest.version) != (FORMAT, FORMAT_VERSION):
        raise Damaged(
            f"{path.name}: format {manifest.format} {manifest.version} is not {FORMAT} {FORMAT_VERSION}"
        )
    listed = {entry.path: entry for entry in manifest.files}
    found = {name: entry for name, entry in seen.items() if name != MANIFEST}
    for name in sorted(set(listed) - set(found)):
        raise Damaged(f"{path.name}: {name} is in the manifest but not in the backup")
    for name in sorted(set(found) - set(listed)):
        raise Damaged(f"{path.name}: {name} is in the backup but not in the manifest")
    for name, entry in listed.items():
        if (found[name].sha256, found[name].bytes) != (entry.sha256, entry.bytes):
            raise Damaged(f"{path.name}: {name} does not match its SHA-256 in the manifest")
    services = [entry.service for entry in manifest.databases]
    if sorted(services) != sorted(SERVICES) or any(e.file not in listed for e in manifest.databases):
        raise Damaged(f"{path.name}: the manifest names the databases {services}, expected {list(SERVICES)}")
    return manifest


def verify_backup(path: Path, key: bytes, *, staging_dir: Path | None = None) -> Manifest:
    """Everything a restore checks before it writes, without restoring."""
    with tempfile.TemporaryDirectory(dir=staging_dir, prefix=".hbs-verify-") as staging:
        return unpack(path, key, Path(staging))


def restore_backup(
    path: Path,
    key: bytes,
    installation: Installation,
    *,
    staging_dir: Path | None = None,
    log: Log = lambda _: None,
) -> Restored:
    """Bring a backup back into an EMPTY installation (every database without tables, no stored
    document). Everything is checked before anything is written."""
    started = time.monotonic()
    try:
        with path.open("rb") as source:
            read_header(source, key, path.name)  # a wrong key is named before any other work
    except FileNotFoundError:
        raise BackupError(f"no backup at {path}") from None
    reasons = installation.occupied()
    if reasons:
        raise NotEmpty(
            "restore refused: a backup is restored only into an empty installation (new, empty "
            "databases and document store; the services stopped). Found: " + "; ".join(reasons)
        )
    with tempfile.TemporaryDirectory(dir=staging_dir, prefix=".hbs-restore-") as staging_name:
        staging = Path(staging_name)
        manifest = unpack(path, key, staging)
        for entry in manifest.databases:
            kind = databases.engine_of(installation.databases[entry.service])
            if kind != entry.engine:
                raise BackupError(
                    f"restore refused: {entry.service}'s database in the backup is {entry.engine}, this "
                    f"installation's is {kind} (restore into the same kind of database)"
                )
        log(f"{path.name}: authenticated, {len(manifest.files)} files match the manifest")
        # Nothing was written to the installation until here.
        by_service = {entry.service: entry for entry in manifest.databases}
        for service in SERVICES:
            entry = by_service[service]
            databases.restore(staging / entry.file, installation.databases[service])
            log(f"{service}: database restored ({entry.engine})")
        installation.documents.mkdir(parents=True, exist_ok=True)
        restored_files = 0
        for item in manifest.files:
            if not item.path.startswith("documents/"):
                continue
            target = installation.documents / item.path.removeprefix("documents/")
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.partial")
            shutil.copyfile(staging / item.path, partial)
            os.replace(partial, target)
            restored_files += 1
        log(f"signing: {restored_files} documents restored to {installation.documents}")
    # Proven, not assumed: the restored databases hold exactly the rows the backup counted.
    referenced: frozenset[str] = frozenset()
    for service in SERVICES:
        entry = by_service[service]
        refs = DOCUMENT_REFS if service == DOCUMENTS_SERVICE else None
        now = databases.counts(installation.databases[service], refs)
        if service == DOCUMENTS_SERVICE:
            referenced = now.references
        if now.tables != entry.tables:
            differ = sorted(
                t for t in set(now.tables) | set(entry.tables) if now.tables.get(t) != entry.tables.get(t)
            )
            raise BackupError(
                f"{service}: after the restore the rows differ from the backup's in {', '.join(differ[:5])}"
            )
    stored = {DOCUMENT_NAME.match(n).group(1) for n in installation.document_files()}  # type: ignore[union-attr]
    if referenced - stored:
        lost = len(referenced - stored)
        raise BackupError(f"after the restore, {lost} documents are missing from the store")
    requeued = 0
    for service in SERVICES:
        entry = by_service[service]
        if "outbox" in entry.tables:
            requeued += databases.execute(
                installation.databases[service],
                "UPDATE outbox SET sent_at = NULL, sent_to = NULL, attempts = 0, last_error = NULL "
                "WHERE sent_at IS NOT NULL",
            )
    seconds = time.monotonic() - started
    log(f"restored {path.name} (made {manifest.created_local}) in {seconds:.1f} s")
    log(f"counts: {describe_counts(manifest.counts)}")
    return Restored(manifest, requeued, seconds)


def newest(folder: Path) -> Path:
    """The newest backup in a folder."""
    found = sorted(
        (p for p in folder.glob(f"hbs-backup-*{SUFFIX}") if p.is_file()), key=lambda p: p.stat().st_mtime
    )
    if not found:
        raise BackupError(f"no backup ({'hbs-backup-*' + SUFFIX}) in {folder}")
    return found[-1]
