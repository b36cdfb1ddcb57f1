"""The record of national exports: what each export carried, to export only what changed since."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hbs_grades.models import Base
from hbs_shared.db import UtcDateTime


class NationalExport(Base):
    """Một lần xuất dữ liệu cho CSDL ngành: who, when, full or since which export, and the document."""

    __tablename__ = "national_exports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    """`toanbo` (full) or `thaydoi` (changes since `since_id`)."""
    since_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_by_name: Mapped[str] = mapped_column(String(200))
    students: Mapped[int] = mapped_column(Integer)
    """Students the document carries."""
    withdrawn: Mapped[int] = mapped_column(Integer)
    """Students the given export carried who have no sealed record now."""
    sha256: Mapped[str] = mapped_column(String(64))
    """Of the canonical JSON document (sorted keys, UTF-8)."""
    document: Mapped[bytes] = mapped_column(LargeBinary)
    """The JSON document, zlib-compressed: both forms are served from it again, checked each time."""


class NationalExportItem(Base):
    """What one student's data was at an export (all students with a sealed record then, whether
    the document carried them or not): the next export "since" this one compares against it."""

    __tablename__ = "national_export_items"

    export_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("national_exports.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    national_id: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the student's element in the national structure (`document.fingerprint`)."""
