"""Signing's audit trail (issue 13): the packages that left and entered the school, hash-chained in
signing's database (tables `audit_trail`, `audit_head`, migration 0011). `python -m
hbs_signing.audit verify` checks the chain."""

from hbs_shared.audit.store import Layout

LAYOUT = Layout("signing")
