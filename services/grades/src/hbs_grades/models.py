"""Grades' tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import func


class Base(DeclarativeBase):
    pass


class SheetState(StrEnum):
    """Workflow of a score sheet (Đ8 Step 1)."""

    open = "open"
    submitted = "submitted"
    signing = "signing"
    signed = "signed"


class ScoreSheet(Base):
    """Sổ điểm: the scores of one class in one subject for one term."""

    __tablename__ = "score_sheets"
    __table_args__ = (UniqueConstraint("school_id", "school_year", "class_name", "subject", "term"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    class_name: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))
    term: Mapped[str] = mapped_column(String(40))
    teacher_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    teacher_name: Mapped[str] = mapped_column(String(200))
    state: Mapped[SheetState] = mapped_column(String(20), default=SheetState.open)
    version: Mapped[int] = mapped_column(default=1)
    signing_request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    document_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 — SQLAlchemy reads it as-is
