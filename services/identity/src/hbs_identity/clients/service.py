"""Outside systems (OAuth 2 client credentials): registered and revoked by the office, each token
issued and each use recorded in identity's audit trail. Never commits."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from hbs_identity.accounts.passwords import hash_password, verify_password
from hbs_identity.authz.policy import Scope
from hbs_identity.clients.repository import ClientRepository
from hbs_identity.clients.schemas import ClientCreated, ClientIn, ClientOut, OAuthErrorCode
from hbs_identity.errors import not_found
from hbs_identity.models import OAuthClient
from hbs_identity.tokens.keys import TokenIssuer
from hbs_identity.unit import Actor, Unit
from hbs_shared.auth import CLIENT_SCOPES, Principal


class OAuthFailure(Exception):
    """RFC 6749 §5.2: an error of the token endpoint, with its HTTP status."""

    def __init__(self, error: OAuthErrorCode, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error: OAuthErrorCode = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class IssuedClientToken:
    access_token: str
    expires_in: int
    scopes: list[str]


def _out(client: OAuthClient) -> ClientOut:
    return ClientOut(
        id=client.id,
        client_id=client.client_id,
        name=client.name,
        scopes=list(client.scopes),
        created_at=client.created_at,
        revoked_at=client.revoked_at,
        active=client.revoked_at is None,
    )


class ClientService:
    def __init__(self, issuer: TokenIssuer, lifetime_seconds: int) -> None:
        self.issuer = issuer
        self.lifetime_seconds = lifetime_seconds
        self.clients = ClientRepository()

    async def register(self, unit: Unit, caller: Scope, body: ClientIn) -> ClientCreated:
        secret = secrets.token_urlsafe(32)
        client = OAuthClient(
            id=uuid.uuid4(),
            school_id=unit.school_id,
            client_id="hbsc_" + secrets.token_hex(10),
            name=body.name,
            secret_hash=hash_password(secret),
            scopes=list(body.scopes),
            created_at=datetime.now(UTC),
            created_by=caller.user_id,
        )
        self.clients.add(unit.session, client)
        unit.audit("client.registered", "client", client.id, client_id=client.client_id, scopes=client.scopes)
        return ClientCreated(**_out(client).model_dump(), client_secret=secret)

    async def listing(self, unit: Unit) -> list[ClientOut]:
        return [_out(c) for c in await self.clients.of_school(unit.session, unit.school_id)]

    async def revoke(self, unit: Unit, caller: Scope, client_uuid: uuid.UUID) -> ClientOut:
        client = await self.clients.get(unit.session, client_uuid)
        if client is None or client.school_id != unit.school_id:
            raise not_found("no such client")
        if client.revoked_at is None:
            client.revoked_at = datetime.now(UTC)
            client.revoked_by = caller.user_id
            unit.audit("client.revoked", "client", client.id, client_id=client.client_id)
        return _out(client)

    async def authenticate(self, unit: Unit, client_id: str, secret: str) -> OAuthClient | OAuthFailure:
        """The client whose secret this is; an unknown id costs the same hash as a known one.
        A failure is returned, not raised, so that its audit entry commits."""
        client = await self.clients.by_client_id(unit.session, client_id)
        matches = verify_password(client.secret_hash if client else None, secret)
        if client is None or not matches or client.revoked_at is not None:
            reason = "unknown client" if client is None else "wrong secret" if not matches else "revoked"
            unit.audit(
                "client.token_refused",
                "client",
                client.id if client else None,
                client_id=client_id[:64],
                reason=reason,
            )
            return OAuthFailure("invalid_client", "client authentication failed", 401)
        unit.actor = Actor(client.id, client.name)
        return client

    async def issue(
        self, unit: Unit, client: OAuthClient, requested: str | None
    ) -> IssuedClientToken | OAuthFailure:
        """RFC 6749 §4.4.3: a token with the requested scopes (all the registered ones if none)."""
        wanted = sorted(set(requested.split())) if requested and requested.strip() else list(client.scopes)
        refused = [s for s in wanted if s not in client.scopes]
        if refused:
            unit.audit(
                "client.token_refused",
                "client",
                client.id,
                client_id=client.client_id,
                reason="scope not registered",
                scopes=[s[:40] for s in refused[:5]],
            )
            unknown = [s for s in refused if s not in CLIENT_SCOPES]
            what = "unknown scope" if unknown else "scope not granted to this client"
            return OAuthFailure("invalid_scope", f"{what}: {' '.join(refused)[:100]}")
        token, jti = self.issuer.issue_client(client, wanted, self.lifetime_seconds)
        unit.audit(
            "client.token_issued",
            "client",
            client.id,
            client_id=client.client_id,
            scopes=wanted,
            jti=jti,
            expires_in=self.lifetime_seconds,
        )
        return IssuedClientToken(token, self.lifetime_seconds, wanted)

    async def use(self, unit: Unit, principal: Principal, use: str | None) -> bool:
        """RFC 7662: whether a client's (already verified) token is still good, recorded as a use
        of it, or as a refused one when the client was revoked since."""
        client = await self.clients.get(unit.session, principal.user_id)
        active = (
            client is not None
            and client.revoked_at is None
            and client.client_id == principal.client_id
            and client.school_id == principal.school_id
        )
        if client is not None:
            unit.actor = Actor(client.id, client.name)
        unit.audit(
            "client.token_used" if active else "client.use_refused",
            "client",
            principal.user_id,
            client_id=principal.client_id,
            use=(use or "")[:200],
            scopes=sorted(principal.scopes),
        )
        return active
