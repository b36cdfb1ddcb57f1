"""TOTP secrets sealed at rest with AES-GCM, bound to their account by the associated data.

A stolen database (or backup) then does not give the second factor away; a sealed value copied
onto another account does not open there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hbs_shared.settings import DEV_SECRET_PREFIX

SEALED_PREFIX = "v1."
_NONCE_BYTES = 12


class UnsealError(Exception):
    """The value was not sealed with this key for this account."""


def encryption_key(setting: str) -> bytes:
    """32 bytes from the setting: base64 of a real key, or derived from a `dev-only-` value."""
    if setting.startswith(DEV_SECRET_PREFIX):
        return hashlib.sha256(setting.encode()).digest()
    try:
        key = base64.b64decode(
            setting.strip() + "=" * (-len(setting.strip()) % 4), altchars=b"-_", validate=True
        )
    except (binascii.Error, ValueError):
        raise ValueError("must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)") from None
    if len(key) != 32:
        raise ValueError(f"must be 32 bytes in base64, got {len(key)} bytes")
    return key


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


class TotpSealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, secret: str, account_id: uuid.UUID) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), account_id.bytes)
        return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, value: str, account_id: uuid.UUID) -> str:
        if not is_sealed(value):
            raise UnsealError("not a sealed value")
        try:
            raw = base64.urlsafe_b64decode(value[len(SEALED_PREFIX) :])
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], account_id.bytes).decode()
        except (binascii.Error, ValueError, InvalidTag):
            raise UnsealError("wrong key or account, or damaged value") from None
