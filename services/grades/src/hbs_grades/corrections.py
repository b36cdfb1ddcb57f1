"""What the two corrections after signing share (Đ9): the board's minutes (biên bản), the row
that keeps them with the version replaced (`models.CorrectionMinutes`), and its SQL. A sheet's
correction is `sheets/corrections.py`, an approved record's `records/corrections.py`."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hbs_grades import audit
from hbs_grades.access import require_board
from hbs_grades.models import CorrectionMinutes
from hbs_shared.auth import Principal
from hbs_shared.problems import Problem


class Correctable(Protocol):
    """A signed aggregate (sheet or record) as a correction sees it."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def school_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def document_id(self) -> uuid.UUID | None: ...


Correction = TypeVar("Correction", bound=CorrectionMinutes)
Subject = TypeVar("Subject")
"""A `Correctable` (mypy cannot check SQLAlchemy models against a bound protocol here)."""


@dataclass(frozen=True)
class Minutes:
    """Biên bản: the board's minutes a correction after signing is opened under (Đ9)."""

    number: str
    on: date
    reason: str

    def label(self) -> str:
        return f"biên bản số {self.number} ngày {self.on:%d/%m/%Y}"

    def opened(self, principal: Principal, school_id: str, superseded: uuid.UUID | None) -> dict[str, Any]:
        """The columns every correction row keeps (`models.CorrectionMinutes`)."""
        return {
            "id": uuid.uuid4(),
            "school_id": school_id,
            "minutes_number": self.number,
            "minutes_date": self.on,
            "reason": self.reason,
            "opened_by": principal.user_id,
            "opened_by_name": principal.name,
            "opened_at": datetime.now(UTC),
            "superseded_document_id": superseded,
        }


class CorrectionRepository(Generic[Correction]):
    """All SQL of one kind of correction: `subject` is its column naming the sheet or record."""

    def __init__(self, model: type[Correction], subject: InstrumentedAttribute[uuid.UUID]) -> None:
        self.model = model
        self.subject = subject

    def add(self, session: AsyncSession, correction: Correction) -> None:
        session.add(correction)

    async def get(self, session: AsyncSession, school_id: str, correction_id: uuid.UUID) -> Correction | None:
        """The school's correction: an id of another school's is not found."""
        result = await session.execute(
            select(self.model).where(self.model.id == correction_id, self.model.school_id == school_id)
        )
        return result.scalar_one_or_none()

    async def of(self, session: AsyncSession, subject_id: uuid.UUID) -> list[Correction]:
        result = await session.execute(
            select(self.model).where(self.subject == subject_id).order_by(self.model.opened_at)
        )
        return list(result.scalars())


class Corrections(ABC, Generic[Subject, Correction]):
    """Opening a correction after signing, the same for a sheet and a record: by the board, on one it
    can see, at the version it read, in its final signed state, under minutes; the row keeps them
    with the version replaced, and the aggregate goes back to be signed again."""

    board_only: ClassVar[str]
    """The 403's title for anyone else than the board."""
    field: ClassVar[str]
    kind: ClassVar[str]
    """What the audit trail calls the aggregate: `sheet` or `record`."""
    opened_action: ClassVar[audit.AuditAction] = audit.AuditAction.correction_opened
    """The audit entry of an opening (a revocation records its own)."""

    def __init__(self, repository: CorrectionRepository[Correction]) -> None:
        self.repository = repository

    @abstractmethod
    async def visible(self, session: AsyncSession, principal: Principal, subject_id: uuid.UUID) -> Subject:
        """The aggregate, or 404 if the caller may not see it."""

    @abstractmethod
    def stale(self, expected: int, current: int) -> Problem: ...

    @abstractmethod
    def require_correctable(self, subject: Subject) -> None:
        """A 409 unless it is in its final signed state."""

    @abstractmethod
    async def reopen(
        self,
        session: AsyncSession,
        principal: Principal,
        subject: Subject,
        correction: Correction,
        minutes: Minutes,
    ) -> None:
        """Back to be signed again, under this correction."""

    @abstractmethod
    async def names(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        """What names the aggregate to a reader of the audit trail."""

    async def open(
        self,
        session: AsyncSession,
        principal: Principal,
        subject_id: uuid.UUID,
        *,
        expected: int,
        minutes: Minutes,
        fill: Callable[[Subject, Correction], Awaitable[Mapping[str, Any]]] | None = None,
    ) -> tuple[Subject, Correction]:
        """`fill` completes the row once every check passed (a sheet's minutes list their cells) and
        returns what the audit entry adds about it; a refusal there rolls the whole opening back."""
        subject = await self.visible(session, principal, subject_id)
        signed = cast(Correctable, subject)
        require_board(principal, self.board_only, self.field)
        if signed.version != expected:
            raise self.stale(expected, signed.version)
        self.require_correctable(subject)
        opened = minutes.opened(principal, signed.school_id, signed.document_id)
        correction = self.repository.model(**{self.repository.subject.key: signed.id}, **opened)
        self.repository.add(session, correction)
        await self.reopen(session, principal, subject, correction, minutes)
        filled = await fill(subject, correction) if fill is not None else {}
        await session.flush()
        await audit.record(
            session,
            school_id=signed.school_id,
            actor=principal,
            action=self.opened_action,
            subject=(self.kind, signed.id),
            details={
                **await self.names(session, subject),
                "correction_id": correction.id,
                "minutes_number": minutes.number,
                "minutes_date": minutes.on.isoformat(),
                "reason": minutes.reason,
                "superseded_document_id": signed.document_id,
                **filled,
            },
        )
        return subject, correction

    async def of(
        self, session: AsyncSession, principal: Principal, subject_id: uuid.UUID
    ) -> list[Correction]:
        subject = cast(Correctable, await self.visible(session, principal, subject_id))
        return await self.repository.of(session, subject.id)
