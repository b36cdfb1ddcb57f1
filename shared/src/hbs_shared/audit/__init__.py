"""A tamper-evident audit trail (Đ9.2): append-only, hash-chained, one chain per service database.

`chain` is the pure chain (canonical form, hash, `verify`), `store` its tables and the append
that runs in the action's own transaction, `cli` the `verify` command every service exposes.
"""

from hbs_shared.audit.chain import GENESIS, Break, Entry, Fault, Head, Report, verify
from hbs_shared.audit.store import (
    STANDARD,
    Layout,
    append,
    audit_head,
    audit_trail,
    metadata,
    verify_stored,
)

__all__ = [
    "GENESIS",
    "STANDARD",
    "Break",
    "Entry",
    "Fault",
    "Head",
    "Layout",
    "Report",
    "append",
    "audit_head",
    "audit_trail",
    "metadata",
    "verify",
    "verify_stored",
]
