"""The backup file: a stream encrypted with AES-256-GCM in authenticated chunks.

Layout (all integers big-endian):

    magic "HBSBAK" · version (1 byte) · key id (8) · salt (32) · chunk size (4)   = the header
    chunk 0 · chunk 1 · … · final chunk            each = AES-256-GCM(plaintext) ‖ tag (16)

- The file's own key is HKDF-SHA256(backup key, salt): a fresh key per file, so the chunk
  counter never repeats a nonce under one key, however many backups one key makes.
- Chunk i's nonce is i (11 bytes) ‖ 1 if it is the last chunk, else 0 (the STREAM construction
  of Hoang, Reyhanitabar, Rogaway and Vizár): chunks cannot be reordered, dropped, repeated, and
  the file cannot be cut short or extended, without a tag failing. Every chunk authenticates the
  header as associated data, so a changed header fails too.
- The key id (HMAC-SHA256(backup key, "hbs-backup key id"), 8 bytes) tells a wrong key from a
  damaged file before any chunk is read.

Nothing decrypted is handed on before its chunk's tag checked out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import struct
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"HBSBAK"
VERSION = 1
KEY_BYTES = 32
SALT_BYTES = 32
TAG_BYTES = 16
CHUNK_BYTES = 1024 * 1024
_HEADER = struct.Struct(">6sB8s32sI")
HEADER_BYTES = _HEADER.size
_MAX_CHUNK = 64 * 1024 * 1024


class BackupError(Exception):
    """A backup or a restore refused or failed; the message says why, for the operator."""


class BadKey(BackupError):
    """The backup key is missing or malformed."""


class WrongKey(BackupError):
    """The backup was made with another key."""


class Damaged(BackupError):
    """The backup file is not what was written: damaged, cut short, extended or altered."""


def key_id(key: bytes) -> bytes:
    return hmac.new(key, b"hbs-backup key id", hashlib.sha256).digest()[:8]


def key_fingerprint(key: bytes) -> str:
    """The key id as hex, safe to print and log (it reveals nothing of the key)."""
    return key_id(key).hex()


def parse_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadKey(f"{source}: not base64 (expected 32 random bytes in base64)") from None
    if len(key) != KEY_BYTES:
        raise BadKey(f"{source}: {len(key)} bytes, expected {KEY_BYTES} (AES-256)")
    return key


def read_key_file(path: Path) -> bytes:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise BadKey(f"no backup key at {path} (HBS_BACKUP_KEY_FILE)") from None
    except OSError as error:
        raise BadKey(f"cannot read the backup key {path}: {error.strerror}") from None
    return parse_key(text, str(path))


def write_new_key(path: Path) -> bytes:
    """A new random key in a file only its owner can read; never overwrites one."""
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BadKey(f"{path} exists: a key is never overwritten") from None
    with os.fdopen(fd, "w") as out:
        out.write(base64.b64encode(key).decode() + "\n")
    return key


def _file_key(key: bytes, salt: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=b"hbs-backup v1 file key")
    return AESGCM(derived.derive(key))


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only binary file that encrypts into `out` (call `close()` to write the last chunk)."""

    def __init__(self, out: BinaryIO, key: bytes, chunk_bytes: int = CHUNK_BYTES) -> None:
        salt = secrets.token_bytes(SALT_BYTES)
        self._header = _HEADER.pack(MAGIC, VERSION, key_id(key), salt, chunk_bytes)
        self._aead = _file_key(key, salt)
        self._out = out
        self._chunk = chunk_bytes
        self._buffer = bytearray()
        self._index = 0
        self._closed = False
        self.plaintext_bytes = 0
        out.write(self._header)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write to a closed backup")
        self._buffer.extend(data)
        self.plaintext_bytes += len(data)
        while len(self._buffer) > self._chunk:
            # Strictly more than a chunk: the last chunk is only known at close().
            self._seal(bytes(self._buffer[: self._chunk]), last=False)
            del self._buffer[: self._chunk]
        return len(data)

    def flush(self) -> None:
        self._out.flush()

    def _seal(self, plaintext: bytes, *, last: bool) -> None:
        self._out.write(self._aead.encrypt(_nonce(self._index, last), plaintext, self._header))
        self._index += 1

    def close(self) -> None:
        if not self._closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True
            self._out.flush()


def read_header(source: BinaryIO, key: bytes, name: str) -> tuple[bytes, int]:
    """(the header, its chunk size) once it is ours and made with `key`; WrongKey or Damaged."""
    header = source.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES or not header.startswith(MAGIC):
        raise Damaged(f"{name} is not an HBS backup (no HBSBAK header)")
    _, version, made_with, _salt, chunk = _HEADER.unpack(header)
    if version != VERSION:
        raise Damaged(f"{name}: backup format version {version}, this program reads {VERSION}")
    if not hmac.compare_digest(made_with, key_id(key)):
        raise WrongKey(
            f"{name} was made with another backup key (key id {made_with.hex()}; the key given "
            f"has id {key_fingerprint(key)}): nothing was restored"
        )
    if not 0 < chunk <= _MAX_CHUNK:
        raise Damaged(f"{name}: the header is damaged (chunk size {chunk})")
    return header, chunk


class DecryptingReader:
    """A read-only binary file of the plaintext; every byte it returns was authenticated.

    Raises Damaged at the first chunk whose tag fails (or if the file ends early)."""

    def __init__(self, source: BinaryIO, key: bytes, name: str) -> None:
        self._source = source
        self._name = name
        self._header, chunk = read_header(source, key, name)
        salt = self._header[15:47]
        self._aead = _file_key(key, salt)
        self._sealed = chunk + TAG_BYTES
        self._index = 0
        self._pending = source.read(self._sealed)
        self._plain = b""
        self._offset = 0
        self._done = False

    def _next_chunk(self) -> None:
        current = self._pending
        self._pending = self._source.read(self._sealed)
        last = not self._pending
        if len(current) < TAG_BYTES or (not last and len(current) != self._sealed):
            raise Damaged(f"{self._name} is cut short or damaged (block {self._index})")
        try:
            self._plain = self._aead.decrypt(_nonce(self._index, last), current, self._header)
        except InvalidTag:
            raise Damaged(
                f"{self._name} is damaged or was altered: block {self._index} failed authentication"
                + (" (or the file was cut short)" if last else "")
            ) from None
        self._offset = 0
        self._index += 1
        self._done = last

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        wanted = size if size >= 0 else None
        while wanted is None or wanted > 0:
            if self._offset >= len(self._plain):
                if self._done:
                    break
                self._next_chunk()
                continue
            end = len(self._plain) if wanted is None else min(len(self._plain), self._offset + wanted)
            piece = self._plain[self._offset : end]
            self._offset = end
            parts.append(piece)
            if wanted is not None:
                wanted -= len(piece)
        return b"".join(parts)

    def drain(self) -> None:
        """Read (and authenticate) to the end."""
        while self.read(CHUNK_BYTES):
            pass
