"""The Ed25519 key that signs access tokens, and its public JWKS (with the keys it replaced, during
a rotation: tokens they signed verify until they expire)."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from hbs_identity.models import Account, OAuthClient
from hbs_shared.auth import TOKEN_AUDIENCE, TOKEN_ISSUER

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The `kid` of a key: the start of the SHA-256 of its raw public bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_keys(pem: str) -> list[Ed25519PublicKey]:
    """Every Ed25519 public key of a PEM bundle (blocks one after the other); a private key, any
    other kind of key or text that is not PEM is refused (ValueError)."""
    blocks = [m.group(0) for m in _PEM_BLOCK.finditer(pem)]
    if pem.strip() and not blocks:
        raise ValueError("not PEM: expected -----BEGIN PUBLIC KEY----- blocks")
    keys: list[Ed25519PublicKey] = []
    for block in blocks:
        if "PRIVATE KEY" in block.splitlines()[0]:
            raise ValueError("a private key: give the public key (openssl pkey -in old.pem -pubout)")
        key = serialization.load_pem_public_key(block.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("only Ed25519 public keys sign HBS access tokens")
        keys.append(key)
    return keys


class TokenIssuer:
    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        lifetime_seconds: int,
        previous: Sequence[Ed25519PublicKey] = (),
    ) -> None:
        """`previous`: the public keys this one replaced, still served in the JWKS (rotation)."""
        self._key = private_key
        self.lifetime_seconds = lifetime_seconds
        self.kid = key_id(private_key.public_key())
        self._previous = {key_id(k): k for k in previous if key_id(k) != self.kid}

    @classmethod
    def from_pem(
        cls, pem: str, lifetime_seconds: int, previous: Sequence[Ed25519PublicKey] = ()
    ) -> TokenIssuer:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("HBS_IDENTITY_JWT_PRIVATE_KEY must be an Ed25519 private key (PEM)")
        return cls(key, lifetime_seconds, previous)

    @classmethod
    def from_file(
        cls, path: Path, lifetime_seconds: int, previous: Sequence[Ed25519PublicKey] = ()
    ) -> TokenIssuer:
        """Development: a key kept in the data folder, made on first start."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            path.write_bytes(pem)
            path.chmod(0o600)
        return cls.from_pem(path.read_text(), lifetime_seconds, previous)

    def issue(self, account: Account, restricted: list[str] | None = None) -> str:
        """An access token. A `restricted` one (password change or TOTP set-up pending) carries
        no roles, so no service grants it anything; identity lets it finish the pending step."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": TOKEN_ISSUER,
            "aud": TOKEN_AUDIENCE,
            "sub": str(account.id),
            "iat": now,
            "exp": now + self.lifetime_seconds,
            "jti": uuid.uuid4().hex,
            "preferred_username": account.username,
            "name": account.full_name,
            "roles": [] if restricted else sorted(account.roles),
            "school_id": account.school_id,
        }
        if restricted:
            claims["restricted"] = restricted
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})

    def issue_client(self, client: OAuthClient, scopes: list[str], lifetime_seconds: int) -> tuple[str, str]:
        """An outside system's access token (RFC 9068 shape: `client_id`, `scope`, no roles) and
        its `jti`. Services accept it only where `require_scope` asks for one of its scopes."""
        now = int(time.time())
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "iss": TOKEN_ISSUER,
            "aud": TOKEN_AUDIENCE,
            "sub": str(client.id),
            "iat": now,
            "exp": now + lifetime_seconds,
            "jti": jti,
            "client_id": client.client_id,
            "name": client.name,
            "scope": " ".join(scopes),
            "school_id": client.school_id,
        }
        token = jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid, "typ": "at+jwt"})
        return token, jti

    def jwks(self) -> dict[str, Any]:
        """The signing key first, then the previous ones (they verify, never sign)."""
        keys = [(self.kid, self._key.public_key()), *self._previous.items()]
        return {"keys": [_jwk(kid, key) for kid, key in keys]}


def _jwk(kid: str, key: Ed25519PublicKey) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(key))
    jwk.update(kid=kid, use="sig", alg="EdDSA")
    return jwk
