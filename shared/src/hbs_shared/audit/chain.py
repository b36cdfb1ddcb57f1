"""The hash chain itself, pure: the canonical form of an entry, its hash, and the check that
names the first broken link.

Each entry carries its sequence number, the previous entry's hash and its own hash, SHA-256
over the canonical serialisation of every field (sorted-key JSON, UTF-8, times in UTC ISO).
Editing an entry changes its hash; deleting one leaves a gap in the numbers and a link that
points at nothing; moving one breaks both. Anyone who can rewrite the whole chain after an
edit can still hide it: the head's hash, kept and shown elsewhere, is what pins it down.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

GENESIS = "0" * 64
"""The `prev_hash` of the first entry."""


def utc_iso(moment: datetime) -> str:
    """A moment as the chain writes it: UTC, ISO 8601, always with microseconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a naive moment read back from the database is UTC
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def plain(details: Mapping[str, Any]) -> dict[str, Any]:
    """Details as JSON gives them back (UUIDs, dates and enums as strings, tuples as lists), so
    the hash computed before the write is the one computed again after reading."""
    loaded = json.loads(json.dumps(dict(details), default=_json_default, ensure_ascii=False))
    assert isinstance(loaded, dict)
    return {k: v for k, v in loaded.items() if v is not None}


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, (uuid.UUID, StrEnum)):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


@dataclass(frozen=True)
class Entry:
    """One link of the chain as stored: the hashed fields, then the link itself."""

    seq: int
    prev_hash: str
    occurred_at: datetime
    school_id: str
    actor_id: str | None
    actor_name: str
    action: str
    subject_kind: str | None
    subject_id: str | None
    details: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, str | None] = field(default_factory=dict)
    """Further columns a service's trail keeps and protects (identity: the caller's address)."""
    hash: str = ""

    def canonical(self) -> bytes:
        body: dict[str, Any] = {
            "seq": self.seq,
            "prev_hash": self.prev_hash,
            "occurred_at": utc_iso(self.occurred_at),
            "school_id": self.school_id,
            "actor": {"id": self.actor_id, "name": self.actor_name},
            "action": self.action,
            "subject": {"kind": self.subject_kind, "id": self.subject_id},
            "details": dict(self.details),
        }
        if self.extra:
            body["extra"] = dict(self.extra)
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def computed_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def sealed(self) -> Entry:
        """This entry with its own hash filled in."""
        return replace(self, hash=self.computed_hash())


class Fault(StrEnum):
    edited = "edited"
    """The stored hash is not the hash of the entry's content."""
    missing = "missing"
    """Sequence numbers skip: entries were deleted before this one."""
    out_of_order = "out_of_order"
    """A number repeats or goes back: entries moved, were inserted or duplicated."""
    broken_link = "broken_link"
    """The entry does not point at the hash of the one before it."""
    truncated = "truncated"
    """The chain ends before its recorded head: the last entries were deleted."""


_WHAT = {
    Fault.edited: "entry {seq} was changed after it was written (its hash does not match its content)",
    Fault.missing: "entries {expected}..{before} are missing before entry {seq} (deleted)",
    Fault.out_of_order: "entry {seq} is out of order (expected {expected}): moved, inserted or duplicated",
    Fault.broken_link: "entry {seq} does not follow the entry before it (its previous hash differs)",
    Fault.truncated: "the chain ends at entry {last} but its head says {head}: the last entries were deleted",
}


@dataclass(frozen=True)
class Break:
    """The first broken link."""

    seq: int
    """The sequence number of the entry where the chain breaks (for `truncated`, the head's)."""
    fault: Fault
    message: str


@dataclass(frozen=True)
class Head:
    """The chain's last link as the head row records it."""

    seq: int
    hash: str


@dataclass(frozen=True)
class Report:
    checked: int
    last_seq: int
    last_hash: str
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify(entries: Iterable[Entry], head: Head | None = None) -> Report:
    """Walk the chain in the order given and stop at the first broken link."""
    walk = Walk()
    for entry in entries:
        if not walk.step(entry):
            break
    return walk.report(head)


class Walk:
    """The check one entry at a time, so a long chain is verified without holding it whole."""

    def __init__(self) -> None:
        self.expected, self.prev, self.checked = 1, GENESIS, 0
        self.broken: Break | None = None

    def step(self, entry: Entry) -> bool:
        """Check the next entry; False once the chain is broken (stop reading)."""
        if self.broken is None:
            self.broken = _check(entry, self.expected, self.prev)
            if self.broken is None:
                self.expected, self.prev, self.checked = entry.seq + 1, entry.hash, self.checked + 1
        return self.broken is None

    def report(self, head: Head | None = None) -> Report:
        last = self.expected - 1
        if self.broken is not None:
            return Report(self.checked, last, self.prev, self.broken)
        if head is not None and (head.seq != last or (last and head.hash != self.prev)):
            if head.seq > last:
                fault = Fault.truncated
                message = _WHAT[fault].format(last=last, head=head.seq)
            else:
                fault = Fault.edited
                message = f"the chain's head (entry {head.seq}) does not match its last entry {last}"
            return Report(self.checked, last, self.prev, Break(head.seq, fault, message))
        return Report(self.checked, last, self.prev, None)


def _check(entry: Entry, expected: int, prev: str) -> Break | None:
    if entry.hash != entry.computed_hash():
        return Break(entry.seq, Fault.edited, _WHAT[Fault.edited].format(seq=entry.seq))
    if entry.seq > expected:
        message = _WHAT[Fault.missing].format(seq=entry.seq, expected=expected, before=entry.seq - 1)
        return Break(entry.seq, Fault.missing, message)
    if entry.seq < expected:
        message = _WHAT[Fault.out_of_order].format(seq=entry.seq, expected=expected)
        return Break(entry.seq, Fault.out_of_order, message)
    if entry.prev_hash != prev:
        return Break(entry.seq, Fault.broken_link, _WHAT[Fault.broken_link].format(seq=entry.seq))
    return None


def link(
    previous: Head,
    *,
    occurred_at: datetime,
    school_id: str,
    actor_id: str | None,
    actor_name: str,
    action: str,
    subject_kind: str | None,
    subject_id: str | None,
    details: Mapping[str, Any],
    extra: Mapping[str, str | None] | None = None,
) -> Entry:
    """The next entry after `previous`, sealed."""
    return Entry(
        seq=previous.seq + 1,
        prev_hash=previous.hash,
        occurred_at=occurred_at,
        school_id=school_id,
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        subject_kind=subject_kind,
        subject_id=subject_id,
        details=plain(details),
        extra=dict(extra or {}),
    ).sealed()
