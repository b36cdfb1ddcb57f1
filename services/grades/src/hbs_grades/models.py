"""Grades' tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import func

from hbs_shared.db import UtcDateTime

_id_type = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class SheetState(StrEnum):
    """Workflow of a score sheet (Đ8 Step 1)."""

    open = "open"
    submitted = "submitted"
    signing = "signing"
    signed = "signed"


class Term(StrEnum):
    hk1 = "HK1"
    hk2 = "HK2"


class ScoreSheet(Base):
    """Sổ điểm: the scores of one class in one subject for one semester."""

    __tablename__ = "score_sheets"
    __table_args__ = (UniqueConstraint("school_id", "school_year", "class_name", "subject", "term"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    class_name: Mapped[str] = mapped_column(String(40))
    class_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    subject: Mapped[str] = mapped_column(String(120))
    """The subject's Vietnamese name (the API's `subject`)."""
    subject_code: Mapped[str] = mapped_column(String(40))
    assessment: Mapped[str] = mapped_column(String(10))
    """scored | comment (hbs_shared.curriculum.Assessment)."""
    regular_count: Mapped[int] = mapped_column(Integer)
    """ĐĐGtx per student, from the class plan's periods per year."""
    term: Mapped[str] = mapped_column(String(40))
    teacher_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    teacher_name: Mapped[str] = mapped_column(String(200))
    state: Mapped[SheetState] = mapped_column(String(20), default=SheetState.open)
    version: Mapped[int] = mapped_column(default=1)
    signing_request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    document_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    correction_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    """The correction (Đ9) this signed sheet is reopened for, until it is signed again."""
    sign_batch_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    """The teacher's "sign all ready sheets" batch that last asked to sign it (None: signed alone)."""
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.now(), onupdate=func.now()
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 — SQLAlchemy reads it as-is


class SheetEntry(Base):
    """One student's line on one sheet, as entered (texts are canonical: "8.5", "Đ", "CĐ")."""

    __tablename__ = "sheet_entries"

    sheet_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("score_sheets.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    regular: Mapped[list[str | None]] = mapped_column(JSON, default=list)
    midterm: Mapped[str | None] = mapped_column(String(4), nullable=True)
    final: Mapped[str | None] = mapped_column(String(4), nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="assessed")
    result: Mapped[str | None] = mapped_column(String(4), nullable=True)
    """The line's semester result (ĐTBmhk or Đ/CĐ), recomputed whenever the line is written;
    None while an assessment is missing or the student is exempt / not assessed."""


class EntryChange(Base):
    """The audit of every change to a sheet's cells: who, when, old → new, why (once submitted)."""

    __tablename__ = "entry_changes"

    id: Mapped[int] = mapped_column(_id_type, primary_key=True, autoincrement=True)
    sheet_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    column: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    changed_by_name: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sheet_state: Mapped[str] = mapped_column(String(20))
    sheet_version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    correction_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    """Set when the change was made under a correction after signing: the year record counts it."""


class ConductChange(Base):
    """The audit of every change to conduct, attendance, summer training and re-examination."""

    __tablename__ = "conduct_changes"

    id: Mapped[int] = mapped_column(_id_type, primary_key=True, autoincrement=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    class_name: Mapped[str] = mapped_column(String(40), index=True)
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    term: Mapped[str | None] = mapped_column(String(8), nullable=True)
    """HK1 / HK2, or None for a year-end value (summer training, re-examination)."""
    column: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    changed_by_name: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Student(Base):
    """Grades' copy of a student, from identity's events: what a class list and the year record's
    front page need. Empty text: identity has not sent it (yet) or has none."""

    __tablename__ = "students"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    national_id: Mapped[str] = mapped_column(String(32))
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(10))
    disability: Mapped[bool] = mapped_column(Boolean, default=False)
    birthplace: Mapped[str] = mapped_column(String(300), default="", server_default="")
    ethnicity: Mapped[str] = mapped_column(String(60), default="", server_default="")
    nationality: Mapped[str] = mapped_column(String(60), default="Việt Nam", server_default="Việt Nam")
    address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    father_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    mother_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    guardian_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    policy_group: Mapped[str] = mapped_column(String(200), default="", server_default="")


class Enrolment(Base):
    """A student in a class for a school year; `left_on` set when they left or moved."""

    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("student_id", "school_year", "class_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64))
    school_year: Mapped[str] = mapped_column(String(9))
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    class_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    class_name: Mapped[str] = mapped_column(String(40), index=True)
    grade_level: Mapped[int] = mapped_column(Integer)
    enrolled_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    left_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)


class Assignment(Base):
    """A teaching (subject_teacher) or homeroom (homeroom_teacher) assignment, from identity."""

    __tablename__ = "assignments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    school_id: Mapped[str] = mapped_column(String(64))
    school_year: Mapped[str] = mapped_column(String(9))
    kind: Mapped[str] = mapped_column(String(20))
    teacher_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    teacher_name: Mapped[str] = mapped_column(String(200))
    class_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    class_name: Mapped[str] = mapped_column(String(40), index=True)
    grade_level: Mapped[int] = mapped_column(Integer)
    subject_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean)


class ClassSubject(Base):
    """The class plan: a subject the class studies this year and its periods per year."""

    __tablename__ = "class_subjects"
    __table_args__ = (UniqueConstraint("school_id", "school_year", "class_name", "subject_code"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64))
    school_year: Mapped[str] = mapped_column(String(9))
    class_name: Mapped[str] = mapped_column(String(40))
    subject_code: Mapped[str] = mapped_column(String(40))
    periods_per_year: Mapped[int] = mapped_column(Integer)
    assessment: Mapped[str] = mapped_column(String(10))


class TermRecord(Base):
    """Per student and semester: conduct (set by the homeroom teacher) and attendance."""

    __tablename__ = "term_records"

    school_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    school_year: Mapped[str] = mapped_column(String(9), primary_key=True)
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    term: Mapped[str] = mapped_column(String(4), primary_key=True)
    conduct: Mapped[str | None] = mapped_column(String(2), nullable=True)
    conduct_comment: Mapped[str] = mapped_column(Text, default="")
    absent_excused: Mapped[int] = mapped_column(Integer, default=0)
    absent_unexcused: Mapped[int] = mapped_column(Integer, default=0)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.now(), onupdate=func.now()
    )


class YearExtra(Base):
    """After the year: summer conduct training's re-evaluation and re-examination results."""

    __tablename__ = "year_extras"

    school_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    school_year: Mapped[str] = mapped_column(String(9), primary_key=True)
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    summer_training: Mapped[str | None] = mapped_column(String(2), nullable=True)
    reexam: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """subject code → the re-assessed result ("5.5" or "Đ"/"CĐ")."""
    reexam_choice: Mapped[list[str] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True, default=None
    )
    """Subject codes the student chose to retake (entered by the homeroom teacher): None while not
    recorded, [] when they retake none."""


class RecordState(StrEnum):
    """Workflow of a student's year record (Đ8 Steps 2–4)."""

    draft = "draft"
    signing_homeroom = "signing_homeroom"
    homeroom_signed = "homeroom_signed"
    signing_vice_principal = "signing_vice_principal"
    reviewed = "reviewed"
    signing_principal = "signing_principal"
    approved = "approved"
    revoked = "revoked"
    """Annulled by the board under minutes (Đ9): final; every signed version verifies as revoked."""


class YearRecord(Base):
    """Học bạ of one student for one school year: its workflow and its latest signed PDF."""

    __tablename__ = "year_records"
    __table_args__ = (UniqueConstraint("school_id", "school_year", "student_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    class_name: Mapped[str] = mapped_column(String(40), index=True)
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    state: Mapped[RecordState] = mapped_column(String(30), default=RecordState.draft)
    version: Mapped[int] = mapped_column(default=1)
    edition: Mapped[int] = mapped_column(Integer, default=1)
    """The record's version as signed (YearRecordContent.record_version): a new one after a return
    or a correction, whose signatures start again from the homeroom teacher."""
    remarks: Mapped[str] = mapped_column(Text, default="")
    """Nhận xét của giáo viên chủ nhiệm."""
    request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    batch_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    """The latest signed PDF (of this edition, or of the previous one while it is re-signed)."""
    document_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    edition_signed: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether `document_id` belongs to the current edition (the next signature builds on it)."""
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    returned_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=func.now(), onupdate=func.now()
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 — SQLAlchemy reads it as-is


class CorrectionMinutes:
    """What every correction after signing keeps (Đ9): the board's minutes (biên bản), who opened
    it, and the signed version it replaces (that stays stored and verifies as superseded)."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    minutes_number: Mapped[str] = mapped_column(String(60))
    minutes_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    opened_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    opened_by_name: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    superseded_document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class RecordCorrection(CorrectionMinutes, Base):
    """Điều chỉnh học bạ đã phê duyệt: conduct, attendance or remarks reopened under the board's
    minutes; the sealed version stays stored and verifies as superseded once signed again."""

    __tablename__ = "record_corrections"

    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)


class RecordRevocation(CorrectionMinutes, Base):
    """Thu hồi học bạ: an approved record annulled under the board's minutes; signing is told
    (`grades.record.revoked`) and every signed version of it then verifies as revoked."""

    __tablename__ = "record_revocations"

    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True, unique=True)


class SheetCorrection(CorrectionMinutes, Base):
    """Điều chỉnh sau khi ký: a signed sheet reopened under minutes (biên bản) confirmed by the board."""

    __tablename__ = "sheet_corrections"

    sheet_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    new_document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    present: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Who was present at the minutes' meeting: one free line each (name and role)."""
    cells: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """The cells under the correction: {student_id, column, old_value}; only these may change."""
    minutes_request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    minutes_document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    """The minutes' PDF as the board member who opened the correction signed it."""
    minutes_signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    minutes_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReviewSettings(Base):
    """Đ4.2: how large the vice-principal's random sample of a class's records is, per school."""

    __tablename__ = "review_settings"

    school_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    share_percent: Mapped[int] = mapped_column(Integer)
    minimum: Mapped[int] = mapped_column(Integer)
    updated_by_name: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReviewSample(Base):
    """Mẫu kiểm tra: one random draw of a class's year records, with everything needed to draw it
    again (seed, population, share, minimum). Never deleted; a later draw supersedes it."""

    __tablename__ = "review_samples"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    class_name: Mapped[str] = mapped_column(String(40), index=True)
    seed: Mapped[str] = mapped_column(String(64))
    """64 hex digits from `secrets`: the HMAC key of the draw."""
    population: Mapped[list[str]] = mapped_column(JSON)
    """The class's record ids at the draw, sorted."""
    share_percent: Mapped[int] = mapped_column(Integer)
    minimum: Mapped[int] = mapped_column(Integer)
    drawn_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    drawn_by_name: Mapped[str] = mapped_column(String(200))
    drawn_at: Mapped[datetime] = mapped_column(UtcDateTime())
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)


class ReviewItem(Base):
    """One sampled record and the vice-principal's verdict on it (history kept in `history`)."""

    __tablename__ = "review_items"

    sample_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("review_samples.id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    rank: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(10), default="pending")
    """pending | correct | returned."""
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    returned_to: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """A subject code (its sheet's teacher must act) or "homeroom"."""
    returned_to_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class PersonalDataCheck(Base):
    """Đ6.1: the homeroom teacher checked a student's front page against the birth certificate and
    the original file. `fingerprint` is the front page as checked: when identity's later
    student-updated event changes grades' copy, it no longer matches and the check is stale."""

    __tablename__ = "personal_data_checks"

    school_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    school_year: Mapped[str] = mapped_column(String(9), primary_key=True)
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    class_name: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(12))
    """verified | discrepancy."""
    fields: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    fingerprint: Mapped[str] = mapped_column(String(64))
    change_request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    checked_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    checked_by_name: Mapped[str] = mapped_column(String(200))
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StaffContact(Base):
    """A teacher's e-mail address, from identity's assignment events: where reminders go."""

    __tablename__ = "staff_contacts"

    teacher_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)


class Reminder(Base):
    """Nhắc: a reminder to a person about what they still have to do (Đ4.1), from a board member
    or sent by itself before a window closes; shown in the portal until read, e-mailed when SMTP
    is configured."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("dedupe_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    recipient_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    recipient_name: Mapped[str] = mapped_column(String(200))
    sender_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    """None: sent by itself as a closing date approached."""
    sender_name: Mapped[str] = mapped_column(String(200))
    step: Mapped[str] = mapped_column(String(20))
    term: Mapped[str | None] = mapped_column(String(4), nullable=True)
    class_name: Mapped[str | None] = mapped_column(String(40), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(120), nullable=True)
    sheet_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    email_state: Mapped[str] = mapped_column(String(20))
    """none (no address or no SMTP) | pending | sending | sent | failed (after the last attempt)."""
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    emailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    """The last attempt's moment (the sending moment once `sent`)."""
    dedupe_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    """Automatic reminders: what and how many days before, so each goes out once (restarts too)."""
