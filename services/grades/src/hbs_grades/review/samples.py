"""Đ4.2 and Đ8 step 3: the vice-principal's random check of a class's year records.

A draw stores its seed (from `secrets`), the sorted population and the sample size rule, so anyone
auditing can draw it again (`review.draw`, documented there) and compare. Each sampled record is
marked correct, or returned with a reason to whoever must act: the subject's teacher for a score,
the homeroom teacher otherwise (the record goes back to a draft through the give-back path). The
class can be signed at step 3 only when its current sample has passed: every record marked correct.
Samples are never deleted; a new draw supersedes the previous one and both stay on record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades import audit
from hbs_grades.access import BOARD_ROLES, OVERSIGHT_ROLES, require_class_reader
from hbs_grades.models import RecordState, ReviewItem, ReviewSample, ReviewSettings, Student, YearRecord
from hbs_grades.records.repository import YearRecordRepository
from hbs_grades.records.workflow import RECORDS
from hbs_grades.review.draw import ALGORITHM, draw, new_seed
from hbs_grades.review.repository import ReviewRepository
from hbs_grades.roster.repository import RosterRepository
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_shared.auth import Principal
from hbs_shared.problems import Problem
from hbs_shared.roles import Role

if TYPE_CHECKING:
    from hbs_grades.records.service import YearRecordService

DEFAULT_SHARE_PERCENT = 10
DEFAULT_MINIMUM = 3
Verdict = Literal["correct", "returned"]
SampleState = Literal["open", "passed", "returned"]
CHECKABLE = (
    RecordState.homeroom_signed,
    RecordState.signing_vice_principal,
    RecordState.reviewed,
    RecordState.signing_principal,
    RecordState.approved,
)
"""A record is checked as the homeroom teacher signed it: not while it is a draft again."""
SAMPLE_NOT_FOUND = Problem(404, "Không tìm thấy mẫu kiểm tra", "no such review sample", field="sample_id")


def state_of(items: list[ReviewItem]) -> SampleState:
    if any(i.verdict == "returned" for i in items):
        return "returned"
    return "passed" if items and all(i.verdict == "correct" for i in items) else "open"


@dataclass
class SampleView:
    sample: ReviewSample
    items: list[ReviewItem]
    students: dict[uuid.UUID, Student]
    records: dict[uuid.UUID, YearRecord]

    @property
    def state(self) -> SampleState:
        return state_of(self.items)


@dataclass(frozen=True)
class Redraw:
    sample_id: uuid.UUID
    algorithm: str
    stored: list[str]
    drawn: list[str]

    @property
    def identical(self) -> bool:
        return self.stored == self.drawn


async def outstanding(
    session: AsyncSession,
    school_id: str,
    school_year: str,
    class_name: str,
    repo: ReviewRepository | None = None,
) -> list[str]:
    """What keeps step 3 closed for the class (Vietnamese); empty when its sample has passed."""
    repo = repo or ReviewRepository()
    samples = [s for s in await repo.samples(session, school_id, school_year, class_name) if not s.superseded]
    if not samples:
        return ["chưa chọn mẫu kiểm tra"]
    items = await repo.items(session, [samples[0].id])
    pending = sum(1 for i in items if i.verdict == "pending")
    returned = sum(1 for i in items if i.verdict == "returned")
    out = []
    if pending:
        out.append(f"{pending} học bạ trong mẫu chưa kiểm tra")
    if returned:
        out.append(f"{returned} học bạ trong mẫu đã trả lại, chưa kiểm tra lại")
    return out


class ReviewSamples:
    def __init__(self, records: YearRecordService, repo: ReviewRepository | None = None) -> None:
        self.records = records
        self.repo = repo or ReviewRepository()
        self.record_repo = YearRecordRepository()
        self.roster = RosterRepository()
        self.sheets = ScoreSheetRepository()

    # ------------------------------------------------------------------ settings

    async def settings(self, session: AsyncSession, principal: Principal) -> tuple[int, int]:
        if not principal.has_role(*OVERSIGHT_ROLES):
            raise Problem(403, "Chỉ Ban Giám hiệu xem được cỡ mẫu kiểm tra", "overseers only", field="role")
        return await self._size_rule(session, principal.school_id)

    async def _size_rule(self, session: AsyncSession, school_id: str) -> tuple[int, int]:
        row = await self.repo.settings(session, school_id)
        return (row.share_percent, row.minimum) if row else (DEFAULT_SHARE_PERCENT, DEFAULT_MINIMUM)

    async def update_settings(
        self, session: AsyncSession, principal: Principal, share_percent: int, minimum: int
    ) -> tuple[int, int]:
        if not principal.has_role(Role.principal):
            raise Problem(403, "Chỉ Hiệu trưởng đặt cỡ mẫu kiểm tra", "principal only", field="role")
        row = await self.repo.settings(session, principal.school_id)
        if row is None:
            row = ReviewSettings(school_id=principal.school_id)
            self.repo.add(session, row)
        row.share_percent, row.minimum = share_percent, minimum
        row.updated_by_name, row.updated_at = principal.name, datetime.now(UTC)
        await session.flush()
        await audit.record(
            session,
            school_id=principal.school_id,
            actor=principal,
            action=audit.AuditAction.review_settings_changed,
            subject=None,
            details={"share_percent": share_percent, "minimum": minimum},
        )
        return share_percent, minimum

    # ------------------------------------------------------------------ drawing, reading

    async def draw(
        self, session: AsyncSession, principal: Principal, school_year: str, class_name: str
    ) -> SampleView:
        if not principal.has_role(*BOARD_ROLES):
            raise Problem(403, "Chỉ Ban Giám hiệu chọn mẫu kiểm tra", "board only", field="role")
        await require_class_reader(session, self.roster, principal, school_year, class_name)
        lines = await self.records._ensure(session, principal.school_id, school_year, class_name)
        if not lines:
            raise Problem(404, "Không tìm thấy lớp", "no student in this class", field="class_name")
        share, minimum = await self._size_rule(session, principal.school_id)
        population = sorted(str(r.id) for r, _ in lines)
        seed = new_seed()
        chosen = draw(seed, population, share, minimum)
        await self.repo.supersede(session, principal.school_id, school_year, class_name)
        sample = ReviewSample(
            id=uuid.uuid4(),
            school_id=principal.school_id,
            school_year=school_year,
            class_name=class_name,
            seed=seed,
            population=population,
            share_percent=share,
            minimum=minimum,
            drawn_by=principal.user_id,
            drawn_by_name=principal.name,
            drawn_at=datetime.now(UTC),
            superseded=False,
        )
        self.repo.add(session, sample)
        await session.flush()  # the items' foreign key needs the sample's row first
        by_id = {str(r.id): r for r, _ in lines}
        for rank, record_id in enumerate(chosen, start=1):
            self.repo.add(
                session,
                ReviewItem(
                    sample_id=sample.id,
                    record_id=uuid.UUID(record_id),
                    student_id=by_id[record_id].student_id,
                    rank=rank,
                    verdict="pending",
                    history=[],
                ),
            )
        await session.flush()
        await audit.record(
            session,
            school_id=principal.school_id,
            actor=principal,
            action=audit.AuditAction.sample_drawn,
            subject=("sample", sample.id),
            details={
                "class_name": class_name,
                "school_year": school_year,
                "seed": seed,
                "algorithm": ALGORITHM,
                "share_percent": share,
                "minimum": minimum,
                "population_size": len(population),
                "sampled": [by_id[r].student_id for r in chosen],
                "students": [s.full_name for r, s in lines if str(r.id) in set(chosen)],
            },
        )
        return (await self._views(session, [sample]))[0]

    async def history(
        self, session: AsyncSession, principal: Principal, school_year: str, class_name: str
    ) -> list[SampleView]:
        """Every sample of the class, newest (current) first."""
        await require_class_reader(session, self.roster, principal, school_year, class_name)
        samples = await self.repo.samples(session, principal.school_id, school_year, class_name)
        return await self._views(session, samples)

    async def _views(self, session: AsyncSession, samples: list[ReviewSample]) -> list[SampleView]:
        items = await self.repo.items(session, [s.id for s in samples])
        schools = {s.id: s.school_id for s in samples}
        students: dict[uuid.UUID, Student] = {}
        records: dict[uuid.UUID, YearRecord] = {}
        for item in items:
            school_id = schools[item.sample_id]
            if item.student_id not in students and (
                s := await self.roster.student(session, school_id, item.student_id)
            ):
                students[item.student_id] = s
            if item.record_id not in records and (
                r := await self.record_repo.get(session, school_id, item.record_id)
            ):
                records[item.record_id] = r
        return [SampleView(s, [i for i in items if i.sample_id == s.id], students, records) for s in samples]

    async def _visible(
        self, session: AsyncSession, principal: Principal, sample_id: uuid.UUID
    ) -> ReviewSample:
        sample = await self.repo.sample(session, principal.school_id, sample_id)
        if sample is None:
            raise SAMPLE_NOT_FOUND
        try:
            await require_class_reader(session, self.roster, principal, sample.school_year, sample.class_name)
        except Problem:
            raise SAMPLE_NOT_FOUND from None
        return sample

    async def redraw(self, session: AsyncSession, principal: Principal, sample_id: uuid.UUID) -> Redraw:
        """Draw again from the stored seed, population and size rule; compare with what was stored."""
        sample = await self._visible(session, principal, sample_id)
        items = await self.repo.items(session, [sample.id])
        stored = [str(i.record_id) for i in sorted(items, key=lambda i: i.rank)]
        drawn = draw(sample.seed, sample.population, sample.share_percent, sample.minimum)
        return Redraw(sample.id, ALGORITHM, stored, drawn)

    # ------------------------------------------------------------------ verdicts

    async def verdict(
        self,
        session: AsyncSession,
        principal: Principal,
        sample_id: uuid.UUID,
        record_id: uuid.UUID,
        *,
        verdict: Verdict,
        reason: str | None,
        subject_code: str | None,
    ) -> SampleView:
        if not principal.has_role(*BOARD_ROLES):
            raise Problem(403, "Chỉ Ban Giám hiệu kiểm tra mẫu", "board only", field="role")
        sample = await self._visible(session, principal, sample_id)
        if sample.superseded:
            raise Problem(
                409,
                "Mẫu này đã được thay bằng lần chọn mẫu sau",
                "the sample is superseded",
                field="sample_id",
            )
        item = await self.repo.item(session, sample.id, record_id)
        record = await self.record_repo.get(session, sample.school_id, record_id)
        if item is None or record is None:
            raise Problem(404, "Học bạ không thuộc mẫu kiểm tra này", "not in this sample", field="record_id")
        state = RecordState(record.state)
        entry: dict[str, Any] = {
            "verdict": verdict,
            "by": principal.name,
            "at": datetime.now(UTC).isoformat(),
        }
        if verdict == "correct":
            if state not in CHECKABLE:
                raise Problem(
                    409,
                    f"Học bạ đang ở trạng thái “{RECORDS.label(state)}”: GVCN ký lại rồi mới kiểm tra được",
                    "only a record the homeroom teacher signed is checked",
                    field="record_id",
                )
            item.reason, item.returned_to, item.returned_to_name = None, None, None
        else:
            if not reason or len(reason.strip()) < 5:
                raise Problem(422, "Hãy ghi lý do trả lại", "a return needs a reason", field="reason")
            to, name = await self._who_acts(session, sample, subject_code)
            item.reason, item.returned_to, item.returned_to_name = reason.strip(), to, name
            entry.update(reason=item.reason, returned_to=to, returned_to_name=name)
            if to == "homeroom" and state in (RecordState.homeroom_signed, RecordState.reviewed):
                # The existing give-back path (a draft again, signed again from step 2, audited).
                await self.records.give_back(
                    session,
                    principal,
                    school_year=sample.school_year,
                    reason=f"Kiểm tra mẫu: {item.reason}",
                    record_id=record.id,
                )
        item.verdict = verdict
        item.decided_by_name, item.decided_at = principal.name, datetime.now(UTC)
        item.history = [*item.history, entry]
        await session.flush()
        await audit.record(
            session,
            school_id=principal.school_id,
            actor=principal,
            action=audit.AuditAction.sample_verdict,
            subject=("record", record.id),
            details=await audit.record_details(
                session,
                record,
                sample_id=sample.id,
                verdict=verdict,
                reason=item.reason,
                returned_to_name=item.returned_to_name,
                record_state=RecordState(record.state).value,
            ),
        )
        return (await self._views(session, [sample]))[0]

    async def _who_acts(
        self, session: AsyncSession, sample: ReviewSample, subject_code: str | None
    ) -> tuple[str, str]:
        """The subject's teacher (semester II's sheet, else I's) for a score; else the homeroom teacher."""
        if subject_code:
            sheets = [
                s
                for s in await self.sheets.for_class(
                    session, sample.school_id, sample.school_year, sample.class_name
                )
                if s.subject_code == subject_code
            ]
            if not sheets:
                raise Problem(422, "Lớp không học môn này", "no sheet of this subject", field="subject_code")
            sheet = max(sheets, key=lambda s: s.term)
            return subject_code, f"{sheet.teacher_name} (môn {sheet.subject})"
        homeroom = await self.roster.homeroom_teachers(
            session, sample.school_id, sample.school_year, sample.class_name
        )
        return "homeroom", homeroom[0].teacher_name if homeroom else "Giáo viên chủ nhiệm"
