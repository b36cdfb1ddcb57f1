"""Passwords hashed with Argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_COSTS = {
    "standard": PasswordHasher(),
    "test": PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1),
}
_hasher = _COSTS["standard"]
# Verifying against this when the user does not exist keeps timing the same for unknown names.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def use_cost(cost: str) -> None:
    """New hashes (and the unknown-name dummy) with these parameters; stored hashes keep their own."""
    global _hasher, _DUMMY_HASH
    if _COSTS[cost] is not _hasher:
        _hasher = _COSTS[cost]
        _DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def is_usable(password_hash: str) -> bool:
    """Whether the account has ever been given a password (a new one holds an unusable marker)."""
    return password_hash.startswith("$argon2")
