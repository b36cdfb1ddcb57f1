"""Web sessions: a random cookie id, stored hashed, bound to one access token and a CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_portal.models import WebSession

COOKIE = "hbs_session"


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class WebSessionRepository:
    async def create(
        self,
        session: AsyncSession,
        *,
        access_token: str,
        user_id: str,
        username: str,
        display_name: str,
        roles: list[str],
        lifetime: timedelta,
        refresh_token: str | None = None,
        pending_step: str | None = None,
    ) -> str:
        session_id = secrets.token_urlsafe(32)
        session.add(
            WebSession(
                id_hash=_hash(session_id),
                access_token=access_token,
                user_id=user_id,
                username=username,
                display_name=display_name,
                roles=roles,
                csrf_token=secrets.token_urlsafe(24),
                expires_at=datetime.now(UTC) + lifetime,
                refresh_token=refresh_token,
                pending_step=pending_step,
            )
        )
        return session_id

    async def find(self, session: AsyncSession, session_id: str | None) -> WebSession | None:
        if not session_id or len(session_id) > 100:
            return None
        found = await session.get(WebSession, _hash(session_id))
        if found is None:
            return None
        if found.expires_at <= datetime.now(UTC):
            await session.delete(found)
            return None
        return found

    async def replace_tokens(
        self,
        session: AsyncSession,
        id_hash: str,
        access_token: str,
        refresh_token: str | None,
        pending_step: str | None = None,
        roles: list[str] | None = None,
    ) -> None:
        """New tokens; `roles` too when a pending step ends (a restricted token carries none)."""
        values: dict[str, object] = {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "pending_step": pending_step,
        }
        if roles is not None:
            values["roles"] = roles
        await session.execute(update(WebSession).where(WebSession.id_hash == id_hash).values(values))

    async def remember_school(self, session: AsyncSession, id_hash: str, school_name: str) -> None:
        await session.execute(
            update(WebSession).where(WebSession.id_hash == id_hash).values(school_name=school_name)
        )

    async def delete(self, session: AsyncSession, session_id: str) -> None:
        await session.execute(delete(WebSession).where(WebSession.id_hash == _hash(session_id)))


def csrf_ok(web_session: WebSession, submitted: str) -> bool:
    return hmac.compare_digest(web_session.csrf_token, submitted)
