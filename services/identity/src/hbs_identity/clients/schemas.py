"""HTTP shapes of outside systems' registration (the office) and of OAuth 2 (RFC 6749 §4.4, §5)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hbs_shared.auth import CLIENT_SCOPES

ScopeName = Literal["verify", "records.read", "national.export"]
assert set(get_args(ScopeName)) == set(CLIENT_SCOPES)


class ClientIn(BaseModel):
    """An outside system to register: its name and what it may do."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Trường Đại học Sư phạm Hà Nội", "scopes": ["verify"]}]}
    )

    name: str = Field(min_length=1, max_length=200)
    scopes: list[ScopeName] = Field(min_length=1, max_length=len(CLIENT_SCOPES))

    @field_validator("name")
    @classmethod
    def _stripped(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a name is required")
        return value

    @field_validator("scopes")
    @classmethod
    def _distinct(cls, value: list[ScopeName]) -> list[ScopeName]:
        return sorted(set(value))


class ClientOut(BaseModel):
    """A registered outside system (never its secret)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f0c8a4e-1d2b-4c5e-9f60-7a8b9c0d1e2f",
                    "client_id": "hbsc_4b1f0e9a7c2d5e8f3a6b",
                    "name": "Trường Đại học Sư phạm Hà Nội",
                    "scopes": ["verify"],
                    "created_at": "2026-12-06T08:00:00Z",
                    "revoked_at": None,
                    "active": True,
                }
            ]
        }
    )

    id: uuid.UUID
    client_id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    active: bool


class ClientCreated(ClientOut):
    """The registration with its secret: shown this once, only its hash is kept."""

    client_secret: str


class ClientToken(BaseModel):
    """RFC 6749 §5.1: the access token of an outside system."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6IjhkM2Y…",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "scope": "verify",
                }
            ]
        }
    )

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scope: str


OAuthErrorCode = Literal[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
]


class OAuthError(BaseModel):
    """RFC 6749 §5.2: the token endpoint's error (application/json, not a problem document)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"error": "invalid_client", "error_description": "client authentication failed"}]
        }
    )

    error: OAuthErrorCode
    error_description: str


class TokenForm(BaseModel):
    """RFC 6749 §4.4.2, as application/x-www-form-urlencoded. The client authenticates with HTTP
    Basic (client_secret_basic) or with `client_id` and `client_secret` here, not both."""

    grant_type: Literal["client_credentials"]
    scope: str | None = Field(default=None, max_length=200, description="space-delimited; default: all")
    client_id: str | None = Field(default=None, max_length=64)
    client_secret: str | None = Field(default=None, max_length=200)


class IntrospectionForm(BaseModel):
    """RFC 7662 §2.1, plus what the token is being used for (recorded in the audit trail)."""

    token: str = Field(max_length=4000)
    use: str | None = Field(default=None, max_length=200, description="e.g. `GET /v1/status/{sha256}`")


class Introspection(BaseModel):
    """RFC 7662 §2.2: whether the token is active; nothing the token does not itself carry."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"active": True, "client_id": "hbsc_4b1f0e9a7c2d5e8f3a6b", "scope": "verify"}]
        }
    )

    active: bool
    client_id: str | None = None
    scope: str | None = None
