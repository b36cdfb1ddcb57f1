"""The portal's only table: web sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hbs_shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class WebSession(Base):
    """A signed-in browser; the cookie holds a random id, the table its SHA-256."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    user_id: Mapped[str] = mapped_column(String(36))
    username: Mapped[str] = mapped_column(String(120))
    display_name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    csrf_token: Mapped[str] = mapped_column(String(64))
    refresh_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    pending_step: Mapped[str | None] = mapped_column(String(20), nullable=True)
    """"password" while the first sign-in's password change is pending (restricted token)."""
    school_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """The signed-in person's school as the header shows it; None until first asked, "" for none."""
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
