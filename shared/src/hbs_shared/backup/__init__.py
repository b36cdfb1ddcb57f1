"""Encrypted, verified backups of a running installation, and their restore (issue 13 §1).

`python -m hbs_shared.backup create | verify | restore | keygen` (the admin command, in the
production image); `make backup` / `make restore` run it on the demo. See `archive` for the file
and its checks, `crypto` for the encryption, docs/operations.md for the runbook."""

from hbs_shared.backup.archive import (
    Created,
    Manifest,
    NotEmpty,
    Restored,
    create_backup,
    newest,
    restore_backup,
    verify_backup,
)
from hbs_shared.backup.crypto import BackupError, BadKey, Damaged, WrongKey, read_key_file, write_new_key
from hbs_shared.backup.installation import SERVICES, Installation

__all__ = [
    "SERVICES",
    "BackupError",
    "BadKey",
    "Created",
    "Damaged",
    "Installation",
    "Manifest",
    "NotEmpty",
    "Restored",
    "WrongKey",
    "create_backup",
    "newest",
    "read_key_file",
    "restore_backup",
    "verify_backup",
    "write_new_key",
]
