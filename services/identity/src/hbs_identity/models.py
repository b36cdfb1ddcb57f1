"""Identity's tables: accounts, the school's structure and its people."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql import false, func, text

from hbs_shared.db import UtcDateTime
from hbs_shared.roles import SIGNERS


class Base(DeclarativeBase):
    pass


def _parent() -> Any:
    """A many-to-one that is never loaded: it only tells the unit of work to insert the parent
    row first (without relationships SQLAlchemy orders inserts by class name)."""
    return relationship(lazy="raise", viewonly=False)


class Account(Base):
    """Tài khoản: one person's sign-in to HBS. Its id is the person's id (staff, student or parent)."""

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    disabled: Mapped[bool] = mapped_column(default=False)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    kind: Mapped[str] = mapped_column(String(16), default="staff", server_default="staff")
    """staff | student | parent"""
    phone: Mapped[str | None] = mapped_column(String(20), unique=True, default=None)
    """Parents may sign in with their phone number (Đ9)."""
    totp_secret: Mapped[str | None] = mapped_column(String(200), default=None)
    """The base32 TOTP secret sealed with AES-GCM (accounts/sealing.py); set at enrolment, in use
    once `totp_enabled`."""
    totp_enabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    signer: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Has ever held a role that signs (SIGNER_ROLES). It stays true when the roles change, so
    taking the role away does not reopen single-admin resets (the two-person rule)."""


SIGNER_ROLES: frozenset[str] = SIGNERS
"""Roles whose holders sign documents: their factors are reset only with a second approval."""


@event.listens_for(Account.roles, "set")
def _remember_signer(target: Account, value: list[str] | None, _old: object, _initiator: object) -> None:
    if SIGNER_ROLES.intersection(value or ()):
        target.signer = True


class School(Base):
    __tablename__ = "schools"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    authority: Mapped[str] = mapped_column(String(200), default="")
    """Cơ quan chủ quản, e.g. Sở GD&ĐT Hưng Yên."""
    province: Mapped[str] = mapped_column(String(100), default="")


class SchoolYear(Base):
    """Năm học, e.g. 2026-2027, with its two semesters."""

    __tablename__ = "school_years"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(9))
    semester1_start: Mapped[date] = mapped_column(Date)
    semester1_end: Mapped[date] = mapped_column(Date)
    semester2_start: Mapped[date] = mapped_column(Date)
    semester2_end: Mapped[date] = mapped_column(Date)
    current: Mapped[bool] = mapped_column(default=False)


class Department(Base):
    """Tổ chuyên môn."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(120))


class Staff(Base):
    """A member of staff; `id` is also their account id."""

    __tablename__ = "staff"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("accounts.id"), primary_key=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    search_name: Mapped[str] = mapped_column(String(200), index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("departments.id"), default=None)
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    account: Mapped[Account] = _parent()
    department: Mapped[Department | None] = _parent()


class Student(Base):
    """Học sinh; `id` is also their account id. Personal data is versioned (StudentVersion)."""

    __tablename__ = "students"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    national_id: Mapped[str] = mapped_column(String(32), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    search_name: Mapped[str] = mapped_column(String(200), index=True)
    date_of_birth: Mapped[date] = mapped_column(Date)
    birthplace: Mapped[str] = mapped_column(String(200))
    gender: Mapped[str] = mapped_column(String(6))
    ethnicity: Mapped[str] = mapped_column(String(40))
    nationality: Mapped[str] = mapped_column(String(60))
    address: Mapped[str] = mapped_column(String(300))
    citizen_id: Mapped[str | None] = mapped_column(String(12), default=None)
    father_name: Mapped[str | None] = mapped_column(String(200), default=None)
    father_occupation: Mapped[str | None] = mapped_column(String(120), default=None)
    mother_name: Mapped[str | None] = mapped_column(String(200), default=None)
    mother_occupation: Mapped[str | None] = mapped_column(String(120), default=None)
    guardian_name: Mapped[str | None] = mapped_column(String(200), default=None)
    guardian_occupation: Mapped[str | None] = mapped_column(String(120), default=None)
    policy_group: Mapped[str | None] = mapped_column(String(200), default=None)
    disability: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)


class StudentVersion(Base):
    """One version of a student's personal data: what, who, when and why."""

    __tablename__ = "student_versions"
    __table_args__ = (UniqueConstraint("student_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("students.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_fields: Mapped[list[str]] = mapped_column(JSON)
    changed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    changed_by_name: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reason: Mapped[str] = mapped_column(Text)
    student: Mapped[Student] = _parent()


class Parent(Base):
    """Phụ huynh / người giám hộ; `id` is also their account id."""

    __tablename__ = "parents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("accounts.id"), primary_key=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    search_name: Mapped[str] = mapped_column(String(200), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    account: Mapped[Account] = _parent()


class ParentLink(Base):
    __tablename__ = "parent_links"

    parent_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("parents.id"), primary_key=True)
    student_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("students.id"), primary_key=True, index=True
    )
    relationship: Mapped[str] = mapped_column(String(16))
    """father | mother | guardian"""
    parent: Mapped[Parent] = _parent()
    student: Mapped[Student] = _parent()


class SchoolClass(Base):
    """Lớp: one class in one school year (10A1 of 2026-2027)."""

    __tablename__ = "classes"
    __table_args__ = (UniqueConstraint("school_year_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    school_year_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("school_years.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    grade_level: Mapped[int] = mapped_column(Integer)
    school_year: Mapped[SchoolYear] = _parent()


class Enrolment(Base):
    """A student in a class from a date; `left_on` closes it (moved, transferred, …). History is kept."""

    __tablename__ = "enrolments"
    __table_args__ = (Index("ix_enrolments_student_year", "student_id", "school_year_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("students.id"))
    class_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("classes.id"), index=True)
    school_year_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("school_years.id"))
    enrolled_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date, default=None)
    leave_reason: Mapped[str | None] = mapped_column(String(20), default=None)
    """moved | transferred | dropped_out | graduated | other"""
    previous_class_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    student: Mapped[Student] = _parent()
    school_class: Mapped[SchoolClass] = _parent()
    school_year: Mapped[SchoolYear] = _parent()


class Assignment(Base):
    """Phân công: a subject teacher for (class, subject), or the homeroom teacher of a class."""

    __tablename__ = "assignments"
    __table_args__ = (
        Index(
            "uq_assignments_active",
            "class_id",
            "kind",
            "subject_code",
            unique=True,
            sqlite_where=text("active AND subject_code IS NOT NULL"),
            postgresql_where=text("active AND subject_code IS NOT NULL"),
        ),
        Index(
            "uq_assignments_homeroom",
            "class_id",
            unique=True,
            sqlite_where=text("active AND kind = 'homeroom_teacher'"),
            postgresql_where=text("active AND kind = 'homeroom_teacher'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    teacher_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("staff.id"), index=True)
    class_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("classes.id"))
    subject_code: Mapped[str | None] = mapped_column(String(40), default=None)
    school_year_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("school_years.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    teacher: Mapped[Staff] = _parent()
    school_class: Mapped[SchoolClass] = _parent()
    school_year: Mapped[SchoolYear] = _parent()


class AuditEntry(Base):
    """Nhật ký: every sign-in, failure and administrative action, hash-chained (issue 11): written
    only through `hbs_identity.audit` (the shared chain), never by the ORM."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    actor_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40), default=None)
    object_id: Mapped[str | None] = mapped_column(String(64), default=None)
    source: Mapped[str | None] = mapped_column(String(64), default=None)
    """The caller's address, for sign-ins."""
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RefreshToken(Base):
    """A rotating refresh token (only its SHA-256 is stored). Each use replaces it by a new one of
    the same family; presenting a used one again revokes the whole family (it was stolen)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("accounts.id"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    account: Mapped[Account] = _parent()


class SignInThrottle(Base):
    """Failed sign-ins per key (`account:<id>`, `login:<name>` for a name that finds nobody, or
    `addr:<address>`) and the lock they earned."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class FactorReset(Base):
    """Yêu cầu đặt lại: a request to reset one factor (password, TOTP, signing PIN) of an account,
    applied only once a board member other than the requester and the owner approves it."""

    __tablename__ = "factor_resets"
    __table_args__ = (
        Index(
            "uq_factor_resets_pending",
            "user_id",
            "factor",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("accounts.id"), index=True)
    factor: Mapped[str] = mapped_column(String(16))
    """password | totp | signing_pin"""
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), index=True)
    """pending | approved | rejected"""
    requested_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    requested_by_name: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    decided_by_name: Mapped[str | None] = mapped_column(String(200), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    decision_reason: Mapped[str | None] = mapped_column(Text, default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    """When the owner acknowledged the notice of an approved reset."""
    account: Mapped[Account] = _parent()


class StudentChangeRequest(Base):
    """Yêu cầu sửa thông tin cá nhân (Đ6.1): the homeroom teacher found the front page differs from
    the birth certificate or the original file; the office applies it (a new version of the
    student's personal data, through the ordinary update) or rejects it with a reason."""

    __tablename__ = "student_change_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    student_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("students.id"), index=True)
    changes: Mapped[dict[str, str]] = mapped_column(JSON)
    """Field → the value the documents show."""
    current: Mapped[dict[str, str]] = mapped_column(JSON)
    """Field → the value identity held when it was asked."""
    note: Mapped[str] = mapped_column(Text)
    student_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), index=True)
    """pending | applied | rejected"""
    requested_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    requested_by_name: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    decided_by_name: Mapped[str | None] = mapped_column(String(200), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    decision_reason: Mapped[str | None] = mapped_column(Text, default=None)
    applied_version: Mapped[int | None] = mapped_column(Integer, default=None)


class OAuthClient(Base):
    """Hệ thống bên ngoài: an outside system (a receiving school, a university, the province)
    registered by the office for OAuth 2 client credentials. Only the Argon2id hash of its secret
    is kept; revoking it stops its tokens at their next use."""

    __tablename__ = "oauth_clients"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
