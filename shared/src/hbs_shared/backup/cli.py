"""`python -m hbs_shared.backup`: the administrator's backup command (production and demo).

    keygen FILE                 a new random AES-256 key, in a file only its owner can read
    create [--out DIR]          back up the running installation into DIR (HBS_BACKUP_DIR)
    verify FILE                 decrypt and check a backup completely, restore nothing
    restore FILE|DIR            restore a backup (a folder: its newest) into an EMPTY installation

The installation is found from the services' own settings (HBS_<SERVICE>_DATABASE_URL or the
SQLite files in HBS_<SERVICE>_DATA_DIR; the store in HBS_SIGNING_DATA_DIR); `--data-dir` stands for
every service's data folder (the demo's var/demo). The key: `--key-file`, HBS_BACKUP_KEY_FILE, or
HBS_BACKUP_KEY (base64). Exit 0 done, 1 refused or failed (the reason on stderr), 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from hbs_shared.backup.archive import (
    create_backup,
    describe_counts,
    newest,
    restore_backup,
    verify_backup,
)
from hbs_shared.backup.crypto import (
    BackupError,
    BadKey,
    key_fingerprint,
    parse_key,
    read_key_file,
    write_new_key,
)
from hbs_shared.backup.installation import Installation


class BackupSettings(BaseSettings):
    """The backup command's settings (environment prefix HBS_BACKUP_)."""

    model_config = SettingsConfigDict(env_prefix="HBS_BACKUP_", extra="ignore")

    key_file: Path | None = None
    """File holding the backup key: 32 random bytes in base64 (`keygen` makes one)."""
    key: SecretStr | None = None
    """The key itself in base64, when a secret store hands it over as a variable instead."""
    dir: Path = Path("var/backups")
    """Where `create` writes backups."""
    staging_dir: Path | None = None
    """Where work files go while a backup is made or checked (default: the system's temp folder
    for restore and verify, the backup folder for create); needs the backup's size, unpacked."""


def _key(settings: BackupSettings, key_file: Path | None) -> bytes:
    path = key_file or settings.key_file
    if path is not None:
        return read_key_file(path)
    if settings.key is not None:
        return parse_key(settings.key.get_secret_value(), "HBS_BACKUP_KEY")
    raise BadKey("no backup key: give --key-file, or set HBS_BACKUP_KEY_FILE (or HBS_BACKUP_KEY)")


def _settings() -> BackupSettings | None:
    try:
        return BackupSettings()
    except ValidationError as error:
        for item in error.errors():
            name = "HBS_BACKUP_" + "_".join(str(part) for part in item["loc"]).upper()
            print(f"configuration error: {name}: {item['msg']}", file=sys.stderr)
        return None


def _say(line: str) -> None:
    print(line, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hbs_shared.backup", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen", help="write a new random backup key to FILE (never overwrites)")
    keygen.add_argument("file", type=Path)
    for name, text in (
        ("create", "back up the running installation"),
        ("verify", "decrypt and check a backup without restoring it"),
        ("restore", "restore a backup into an empty installation"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--key-file", type=Path, help="the backup key (default HBS_BACKUP_KEY_FILE)")
        command.add_argument("--staging-dir", type=Path, help="work folder (default HBS_BACKUP_STAGING_DIR)")
        if name == "create":
            command.add_argument("--out", type=Path, help="folder for the backup (default HBS_BACKUP_DIR)")
        else:
            command.add_argument("backup", type=Path, help="the backup file, or a folder: its newest")
        if name != "verify":
            command.add_argument("--data-dir", type=Path, help="every service's data folder (the demo)")
    args = parser.parse_args(argv)
    settings = _settings()
    if settings is None:
        return 2
    try:
        if args.command == "keygen":
            made = write_new_key(args.file)
            _say(f"backup key written to {args.file} (key id {key_fingerprint(made)}); keep a copy apart")
            return 0
        key = _key(settings, args.key_file)
        staging = args.staging_dir or settings.staging_dir
        if args.command == "create":
            installation = Installation.from_settings(args.data_dir)
            created = create_backup(installation, key, args.out or settings.dir, log=_say)
            _say(
                f"backup_s={created.seconds:.1f} bytes={created.bytes} file={created.path} "
                f"key_id={created.manifest.key_id}"
            )
            _say(f"counts: {describe_counts(created.manifest.counts)}")
            return 0
        path = newest(args.backup) if args.backup.is_dir() else args.backup
        if args.command == "verify":
            manifest = verify_backup(path, key, staging_dir=staging)
            files = len(manifest.files)
            _say(f"{path}: intact, made {manifest.created_local}, {files} files match the manifest")
            _say(f"counts: {describe_counts(manifest.counts)}")
            return 0
        installation = Installation.from_settings(args.data_dir)
        restored = restore_backup(path, key, installation, staging_dir=staging, log=_say)
        _say(
            f"restore_s={restored.seconds:.1f} file={path} events_requeued={restored.requeued_events}; "
            "start the services now (they migrate to this version at start-up)"
        )
        return 0
    except BackupError as error:
        print(f"{args.command}: {error}", file=sys.stderr, flush=True)
        return 1
