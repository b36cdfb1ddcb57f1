"""The tables of time windows (Đ5), their extensions and the moments each step was done."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hbs_grades.models import Base, _id_type
from hbs_shared.db import UtcDateTime


class TimeWindow(Base):
    """Thời hạn: the school's opening and closing dates of one step in one period of a year."""

    __tablename__ = "time_windows"
    __table_args__ = (UniqueConstraint("school_id", "school_year", "period", "step"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    period: Mapped[str] = mapped_column(String(4))
    """HK1 / HK2 for score entry and step 1; `year` for the year record's steps 2–4."""
    step: Mapped[int] = mapped_column(Integer)
    """0 = score entry, 1–4 = Đ8's signing steps."""
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    """Inclusive: the window closes at the end of this day, Asia/Ho_Chi_Minh."""
    set_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    set_by_name: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WindowExtension(Base):
    """Gia hạn: a later closing date for one teacher or one class, granted by the board with a reason."""

    __tablename__ = "window_extensions"
    __table_args__ = (
        CheckConstraint(
            "(teacher_id IS NULL) <> (class_name IS NULL)", name="ck_window_extensions_teacher_or_class"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    period: Mapped[str] = mapped_column(String(4))
    step: Mapped[int] = mapped_column(Integer)
    teacher_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    teacher_name: Mapped[str] = mapped_column(String(200), default="")
    class_name: Mapped[str | None] = mapped_column(String(40), nullable=True)
    closes_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    granted_by_name: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StepMark(Base):
    """A moment of the workflow the compliance report counts: a step done for one item (a sheet
    or a record) by its person, or a record returned to its homeroom teacher."""

    __tablename__ = "step_marks"

    id: Mapped[int] = mapped_column(_id_type, primary_key=True, autoincrement=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    period: Mapped[str] = mapped_column(String(4))
    step: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    """`done` or `returned`."""
    item_kind: Mapped[str] = mapped_column(String(10))
    """`sheet` or `record`."""
    item_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    class_name: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120), default="")
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    person_name: Mapped[str] = mapped_column(String(200), default="")
    request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    """The signing request a signature step waits on; `done_at` is set by signing's reply."""
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
