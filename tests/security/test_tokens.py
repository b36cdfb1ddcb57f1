"""Token attacks against identity, grades and signing: every forged, stale, misdirected or
withdrawn access token is 401 at every service."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hbs_shared.devstack.drive import SystemClient
from tests.security.world import HTTP, OWN_PASSWORD, World, check, new_parent, sign_in

pytestmark = [pytest.mark.broker, pytest.mark.hsm]

# An endpoint of each service that any valid, unrestricted token may call.
PROBES = {"identity": "/me", "grades": "/sheets", "signing": "/signing-pin"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def identity_key(system: SystemClient) -> Ed25519PrivateKey:
    """The development stack's token key (a file in its data folder): to mint tokens that differ
    from a real one in exactly one claim."""
    key = serialization.load_pem_private_key(
        (system.stack.data_dir / "identity-jwt-ed25519.pem").read_bytes(), password=None
    )
    assert isinstance(key, Ed25519PrivateKey)
    return key


def kid_of(system: SystemClient) -> str:
    return str(HTTP.get(system.stack.url("identity") + "/.well-known/jwks.json").json()["keys"][0]["kid"])


def statuses(system: SystemClient, token: str) -> dict[str, int]:
    return {
        service: HTTP.get(
            system.stack.url(service) + path, headers={"authorization": f"Bearer {token}"}, timeout=30
        ).status_code
        for service, path in PROBES.items()
    }


def assert_refused_everywhere(system: SystemClient, token: str, what: str) -> None:
    got = statuses(system, token)
    assert got == dict.fromkeys(PROBES, 401), f"{what}: {got}"


@pytest.fixture(scope="module")
def admin_claims(world: World) -> dict[str, Any]:
    """The claims of a real token of the demo's admin (quantri), renewed."""
    return claims_of(sign_in(world.system, "quantri"))


def forge(claims: dict[str, Any], key: Ed25519PrivateKey, kid: str, **changes: Any) -> str:
    return jwt.encode({**claims, **changes}, key, algorithm="EdDSA", headers={"kid": kid})


def test_a_real_token_passes_everywhere(world: World) -> None:
    """The control: the probes below fail only because of what each attack changes."""
    assert statuses(world.system, sign_in(world.system, "quantri")) == dict.fromkeys(PROBES, 200)
    minted = forge(
        claims_of(sign_in(world.system, "quantri")),
        identity_key(world.system),
        kid_of(world.system),
        iat=int(time.time()),
        exp=int(time.time()) + 120,
    )
    assert statuses(world.system, minted) == dict.fromkeys(PROBES, 200)


def test_alg_none_is_refused(world: World, admin_claims: dict[str, Any]) -> None:
    kid = kid_of(world.system)
    for alg in ("none", "None", "NONE"):
        header = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
        body = b64(json.dumps({**admin_claims, "roles": ["system_admin", "principal"]}).encode())
        assert_refused_everywhere(world.system, f"{header}.{body}.", f"alg {alg}")


def test_hs256_signed_with_the_public_key_is_refused(world: World, admin_claims: dict[str, Any]) -> None:
    jwk = HTTP.get(world.system.stack.url("identity") + "/.well-known/jwks.json").json()["keys"][0]
    raw = unb64(jwk["x"])
    public = identity_key(world.system).public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for secret in (raw, pem, jwk["x"].encode(), json.dumps(jwk).encode()):
        header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}).encode())
        body = b64(json.dumps({**admin_claims, "roles": ["principal"]}).encode())
        signature = b64(hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest())
        assert_refused_everywhere(world.system, f"{header}.{body}.{signature}", "HS256 with the public key")


def test_forged_roles_signed_with_another_key_are_refused(world: World, admin_claims: dict[str, Any]) -> None:
    mine = Ed25519PrivateKey.generate()
    teacher = claims_of(sign_in(world.system, "gv.toan"))
    forged_roles = {**teacher, "roles": ["principal", "system_admin"]}
    # Same kid as identity's key, an unknown kid, no kid at all.
    assert_refused_everywhere(world.system, forge(forged_roles, mine, kid_of(world.system)), "identity's kid")
    assert_refused_everywhere(world.system, forge(forged_roles, mine, "0123456789abcdef"), "unknown kid")
    no_kid = jwt.encode(forged_roles, mine, algorithm="EdDSA")
    assert_refused_everywhere(world.system, no_kid, "no kid")
    # A real token whose payload was edited after signing.
    real = sign_in(world.system, "gv.toan").split(".")
    edited = b64(json.dumps(forged_roles).encode())
    assert_refused_everywhere(world.system, f"{real[0]}.{edited}.{real[2]}", "edited payload")


@pytest.mark.parametrize(
    ("what", "changes"),
    [
        ("wrong aud", {"aud": "another-system"}),
        ("wrong iss", {"iss": "hbs-identity-evil"}),
        ("expired", {"iat": int(time.time()) - 3600, "exp": int(time.time()) - 1800}),
        ("no exp", {"exp": None}),
    ],
)
def test_a_token_signed_by_identity_but_for_someone_else_or_out_of_date_is_refused(
    world: World, admin_claims: dict[str, Any], what: str, changes: dict[str, Any]
) -> None:
    claims = {**admin_claims, "iat": int(time.time()), "exp": int(time.time()) + 120, **changes}
    claims = {k: v for k, v in claims.items() if v is not None}
    token = jwt.encode(
        claims, identity_key(world.system), algorithm="EdDSA", headers={"kid": kid_of(world.system)}
    )
    assert_refused_everywhere(world.system, token, what)


def test_a_restricted_token_is_refused_everywhere_but_for_its_pending_step(world: World) -> None:
    """Hole 1: before the first-sign-in password change, the token opens only /auth/password."""
    _, login, password = new_parent(world)
    identity = world.system.stack.url("identity")
    first = check(HTTP.post(identity + "/auth/token", json={"username": login, "password": password}), 200)
    assert first["must_change_password"]
    assert first["refresh_token"] is None
    restricted = first["access_token"]
    assert claims_of(restricted)["restricted"] == ["password_change"]
    # Identity's /me answers a pending step too (the portal shows the security notices there).
    got = {
        service: status
        for service, status in statuses(world.system, restricted).items()
        if service != "identity"
    }
    for path in ("/school", "/students", "/authz/scope"):
        got[f"identity {path}"] = HTTP.get(
            identity + path, headers={"authorization": f"Bearer {restricted}"}
        ).status_code
    assert all(status == 401 for status in got.values()), f"restricted token: {got}"
    # A token identity signed with roles *and* the restriction is refused all the same.
    with_roles = forge(
        {**claims_of(sign_in(world.system, "quantri")), "restricted": ["password_change"]},
        identity_key(world.system),
        kid_of(world.system),
        iat=int(time.time()),
        exp=int(time.time()) + 120,
    )
    refused = {
        service: status
        for service, status in statuses(world.system, with_roles).items()
        if service != "identity"
    }
    refused["identity /school"] = HTTP.get(
        identity + "/school", headers={"authorization": f"Bearer {with_roles}"}
    ).status_code
    assert refused == dict.fromkeys(refused, 401), f"restricted with roles: {refused}"
    # Its own step still works.
    changed = HTTP.post(
        identity + "/auth/password",
        json={"current_password": password, "new_password": OWN_PASSWORD},
        headers={"authorization": f"Bearer {restricted}"},
    )
    assert changed.status_code == 200, changed.text
    assert statuses(world.system, changed.json()["access_token"]) == dict.fromkeys(PROBES, 200)


def _signed_in(world: World) -> tuple[str, dict[str, Any]]:
    parent_id, login, password = new_parent(world)
    identity = world.system.stack.url("identity")
    first = check(HTTP.post(identity + "/auth/token", json={"username": login, "password": password}), 200)
    check(
        HTTP.post(
            identity + "/auth/password",
            json={"current_password": password, "new_password": OWN_PASSWORD},
            headers={"authorization": f"Bearer {first['access_token']}"},
        ),
        200,
    )
    full = check(HTTP.post(identity + "/auth/token", json={"username": login, "password": OWN_PASSWORD}), 200)
    return parent_id, full


def test_a_disabled_accounts_token_and_refresh_are_refused(world: World) -> None:
    parent_id, issued = _signed_in(world)
    token, refresh = issued["access_token"], issued["refresh_token"]
    family = world.system.stack.url("grades") + "/family/students"
    assert HTTP.get(family, headers={"authorization": f"Bearer {token}"}).status_code == 200
    with world.system.client("identity", sign_in(world.system, "quantri")) as admin:
        check(admin.post(f"/accounts/{parent_id}/disable", json={"reason": "Kiểm tra khoá tài khoản"}), 200)
    identity = world.system.stack.url("identity")
    refreshed = HTTP.post(identity + "/auth/refresh", json={"refresh_token": refresh})
    assert refreshed.status_code == 401, refreshed.text
    got = {
        "identity /school": HTTP.get(
            identity + "/school", headers={"authorization": f"Bearer {token}"}
        ).status_code,
        # Grades asks identity about a family's children: identity refuses, so grades does.
        "grades /family/students": HTTP.get(family, headers={"authorization": f"Bearer {token}"}).status_code,
    }
    assert got == dict.fromkeys(got, 401), got


def test_a_reused_refresh_token_revokes_its_whole_family(world: World) -> None:
    _, issued = _signed_in(world)
    identity = world.system.stack.url("identity")
    first = issued["refresh_token"]
    second = check(HTTP.post(identity + "/auth/refresh", json={"refresh_token": first}), 200)["refresh_token"]
    reused = HTTP.post(identity + "/auth/refresh", json={"refresh_token": first})
    assert reused.status_code == 401, reused.text
    # The thief's replay also burnt the legitimate holder's newer token.
    after = HTTP.post(identity + "/auth/refresh", json={"refresh_token": second})
    assert after.status_code == 401, after.text
    garbage = HTTP.post(identity + "/auth/refresh", json={"refresh_token": uuid.uuid4().hex})
    assert garbage.status_code == 401
