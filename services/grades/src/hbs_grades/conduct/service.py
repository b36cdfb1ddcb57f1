"""Conduct and attendance per semester, summer training and re-examination results (Đ6)."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.conduct.repository import ConductRepository
from hbs_grades.models import ConductChange, RecordState, Student, Term, TermRecord, YearExtra
from hbs_grades.plan.repository import PlanRepository
from hbs_grades.records.repository import YearRecordRepository
from hbs_grades.results import Level
from hbs_grades.roster.repository import RosterRepository
from hbs_grades.sheets.cells import CellError, normalise_cell
from hbs_grades.sheets.entry import CellProblem, cells_problem
from hbs_shared.auth import Principal
from hbs_shared.curriculum import Assessment

_LEVELS = {
    "T": Level.tot, "TỐT": Level.tot,
    "K": Level.kha, "KHÁ": Level.kha,
    "Đ": Level.dat, "ĐẠT": Level.dat, "D": Level.dat,
    "CĐ": Level.chua_dat, "CHƯA ĐẠT": Level.chua_dat, "CD": Level.chua_dat,
}  # fmt: skip
MAX_SESSIONS = 200


def parse_level(text: str | None) -> str | None:
    """A rating as typed (T / K / Đ / CĐ or the words), as its code; None if empty."""
    cleaned = " ".join(unicodedata.normalize("NFC", text or "").strip().upper().split())
    if not cleaned:
        return None
    level = _LEVELS.get(cleaned)
    if level is None:
        raise CellError(f"“{text}” không hợp lệ: T (Tốt), K (Khá), Đ (Đạt) hoặc CĐ (Chưa đạt)")
    return level.code


def parse_sessions(value: object) -> int:
    text = str(value if value is not None else "0").strip() or "0"
    if not text.isdigit() or int(text) > MAX_SESSIONS:
        raise CellError(f"“{value}” không hợp lệ: số buổi nghỉ là số nguyên từ 0 đến {MAX_SESSIONS}")
    return int(text)


_TERM_DEFAULTS: dict[str, object] = {
    "conduct": None,
    "conduct_comment": "",
    "absent_excused": 0,
    "absent_unexcused": 0,
}
SIGNED_RECORD = "học bạ năm học của học sinh đã được ký: cần Ban Giám hiệu trả lại cho GVCN trước khi sửa"


def _differs(old: object, new: object) -> bool:
    return (None if old is None else str(old)) != (None if new is None else str(new))


def _not_in_class(index: int, student_id: uuid.UUID) -> CellProblem:
    return CellProblem(index, student_id, "", "student_id", str(student_id), "học sinh không có trong lớp")


@dataclass(frozen=True)
class TermChange:
    student_id: uuid.UUID
    term: Term
    values: Mapping[str, object]
    """Any of conduct, conduct_comment, absent_excused, absent_unexcused."""


@dataclass(frozen=True)
class ExtraChange:
    student_id: uuid.UUID
    values: Mapping[str, object]
    """summer_training (a rating code), reexam_choice (the subject codes the student retakes, None
    to clear) and/or reexam (subject code → result)."""


NOT_SENT = "học sinh không phải kiểm tra lại (theo kết quả cả năm hiện có)"
NO_CHOICE = "chưa ghi các môn học sinh chọn kiểm tra lại: chọn môn trước khi nhập kết quả"
NOT_CHOSEN = "học sinh không chọn kiểm tra lại môn này: bỏ kết quả hoặc chọn môn"
NONE_CHOSEN = "không môn nào"
"""How an empty choice reads in the change log (None there means "not recorded")."""


def _choice_text(choice: Sequence[str] | None) -> str | None:
    if choice is None:
        return None
    return ", ".join(choice) or NONE_CHOSEN


def _parse_choice(value: object, sent: Sequence[str]) -> tuple[list[str] | None, str | None]:
    """The retaken subjects in subject order, or the reason the choice is refused."""
    if value is None:
        return None, None
    if not isinstance(value, (list, tuple)) or not all(isinstance(code, str) for code in value):
        return None, "danh sách mã môn không hợp lệ"
    if value and not sent:
        return None, NOT_SENT
    unknown = [code for code in value if code not in sent]
    if unknown:
        return None, f"môn {', '.join(unknown)} không thuộc các môn phải kiểm tra lại ({', '.join(sent)})"
    return [code for code in sent if code in value], None


@dataclass(frozen=True)
class ClassConduct:
    students: list[Student]
    records: dict[tuple[uuid.UUID, str], TermRecord]
    extras: dict[uuid.UUID, YearExtra]


class ConductService:
    def __init__(
        self,
        conduct: ConductRepository | None = None,
        roster: RosterRepository | None = None,
        plans: PlanRepository | None = None,
    ) -> None:
        self.conduct = conduct or ConductRepository()
        self.roster = roster or RosterRepository()
        self.plans = plans or PlanRepository()
        self.records = YearRecordRepository()

    async def _signed(
        self, session: AsyncSession, school_id: str, school_year: str, student_ids: Sequence[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Students whose year record carries a signature: what it shows must not change under it."""
        found = await self.records.for_students(session, school_id, school_year, student_ids)
        return {
            student_id
            for student_id, record in found.items()
            if RecordState(record.state) is not RecordState.draft
        }

    async def view(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> ClassConduct:
        students = await self.roster.class_list(session, school_id, school_year, class_name)
        ids = [s.id for s in students]
        return ClassConduct(
            students,
            await self.conduct.term_records(session, school_id, school_year, ids),
            await self.conduct.year_extras(session, school_id, school_year, ids),
        )

    async def save_terms(
        self,
        session: AsyncSession,
        principal: Principal,
        school_year: str,
        class_name: str,
        rows: Sequence[TermChange],
    ) -> ClassConduct:
        """All or nothing: a refused cell is named by student and column."""
        current = await self.view(session, principal.school_id, school_year, class_name)
        names = {s.id: s.full_name for s in current.students}
        signed = await self._signed(session, principal.school_id, school_year, list(names))
        problems: list[CellProblem] = []
        parsed: list[tuple[TermChange, dict[str, object]]] = []
        for index, row in enumerate(rows):
            if row.student_id not in names:
                problems.append(_not_in_class(index, row.student_id))
                continue
            clean: dict[str, object] = {}
            for key, value in row.values.items():
                try:
                    if key == "conduct":
                        clean[key] = parse_level(None if value is None else str(value))
                    elif key in ("absent_excused", "absent_unexcused"):
                        clean[key] = parse_sessions(value)
                    else:
                        clean[key] = str(value or "").strip()[:2000]
                except CellError as error:
                    problems.append(
                        CellProblem(index, row.student_id, names[row.student_id], key, str(value), str(error))
                    )
            if row.student_id in signed:
                stored = current.records.get((row.student_id, row.term.value))
                for key, value in clean.items():
                    before = getattr(stored, key) if stored is not None else _TERM_DEFAULTS.get(key)
                    if _differs(before, value):
                        problems.append(
                            CellProblem(
                                index, row.student_id, names[row.student_id], key, str(value), SIGNED_RECORD
                            )
                        )
            parsed.append((row, clean))
        if problems:
            raise cells_problem(problems)
        for row, clean in parsed:
            record = current.records.get((row.student_id, row.term.value))
            if record is None:
                record = TermRecord(
                    school_id=principal.school_id,
                    school_year=school_year,
                    student_id=row.student_id,
                    term=row.term.value,
                    conduct=None,
                    conduct_comment="",
                    absent_excused=0,
                    absent_unexcused=0,
                )
                self.conduct.add(session, record)
                current.records[(row.student_id, row.term.value)] = record
            for key, value in clean.items():
                self._log(
                    session,
                    principal,
                    school_year,
                    class_name,
                    row.student_id,
                    row.term.value,
                    key,
                    getattr(record, key),
                    value,
                )
                setattr(record, key, value)
            record.updated_by = principal.user_id
            record.updated_at = datetime.now(UTC)
        await session.flush()
        return current

    def _log(
        self,
        session: AsyncSession,
        principal: Principal,
        school_year: str,
        class_name: str,
        student_id: uuid.UUID,
        term: str | None,
        column: str,
        old: object,
        new: object,
    ) -> None:
        """One change-log row per value that really changes (who, when, old → new)."""
        before = None if old is None else str(old)
        after = None if new is None else str(new)
        if before == after:
            return
        self.conduct.add(
            session,
            ConductChange(
                school_id=principal.school_id,
                school_year=school_year,
                class_name=class_name,
                student_id=student_id,
                term=term,
                column=column,
                old_value=before,
                new_value=after,
                changed_by=principal.user_id,
                changed_by_name=principal.name,
                changed_at=datetime.now(UTC),
            ),
        )

    async def changes(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> list[ConductChange]:
        return await self.conduct.changes(session, school_id, school_year, class_name)

    async def save_extras(
        self,
        session: AsyncSession,
        principal: Principal,
        school_year: str,
        class_name: str,
        rows: Sequence[ExtraChange],
        sent: Mapping[uuid.UUID, Sequence[str]] | None = None,
    ) -> ClassConduct:
        """`sent`: per student, the subjects they were sent to re-examination in (from the results
        engine); a choice must be among them, and a result needs its subject chosen."""
        sent = sent or {}
        current = await self.view(session, principal.school_id, school_year, class_name)
        names = {s.id: s.full_name for s in current.students}
        signed = await self._signed(session, principal.school_id, school_year, list(names))
        plan = {
            p.subject_code: Assessment(p.assessment)
            for p in await self.plans.for_class(session, principal.school_id, school_year, class_name)
        }
        problems: list[CellProblem] = []
        parsed: list[tuple[ExtraChange, dict[str, object]]] = []
        for index, row in enumerate(rows):
            if row.student_id not in names:
                problems.append(_not_in_class(index, row.student_id))
                continue
            name = names[row.student_id]
            clean: dict[str, object] = {}
            if "summer_training" in row.values:
                value = row.values["summer_training"]
                try:
                    clean["summer_training"] = parse_level(None if value is None else str(value))
                except CellError as error:
                    problems.append(
                        CellProblem(index, row.student_id, name, "summer_training", str(value), str(error))
                    )
            reexam = row.values.get("reexam")
            results: dict[str, str] = {}
            if isinstance(reexam, Mapping):
                for code, value in reexam.items():
                    column = f"reexam.{code}"
                    if code not in plan:
                        problems.append(
                            CellProblem(
                                index, row.student_id, name, column, str(value), "lớp không học môn này"
                            )
                        )
                        continue
                    try:
                        text = normalise_cell(plan[code], None if value is None else str(value))
                    except CellError as error:
                        problems.append(
                            CellProblem(index, row.student_id, name, column, str(value), str(error))
                        )
                        continue
                    if text is not None:
                        results[code] = text
                clean["reexam"] = results
            stored = current.extras.get(row.student_id)
            choice = stored.reexam_choice if stored else None
            if "reexam_choice" in row.values:
                given, why = _parse_choice(row.values["reexam_choice"], sent.get(row.student_id, ()))
                if why is not None:
                    value = row.values["reexam_choice"]
                    problems.append(
                        CellProblem(index, row.student_id, name, "reexam_choice", str(value), why)
                    )
                else:
                    clean["reexam_choice"] = choice = given
            if "reexam_choice" in clean or "reexam" in clean:
                # A result only for a subject the student retakes (the choice as it will be stored).
                entered = results if "reexam" in clean else dict((stored.reexam if stored else None) or {})
                problems.extend(
                    CellProblem(
                        index,
                        row.student_id,
                        name,
                        f"reexam.{code}",
                        str(entered[code]),
                        NO_CHOICE if choice is None else NOT_CHOSEN,
                    )
                    for code in sorted(entered)
                    if choice is None or code not in choice
                )
            if row.student_id in signed:
                if "summer_training" in clean and _differs(
                    stored.summer_training if stored else None, clean["summer_training"]
                ):
                    problems.append(
                        CellProblem(index, row.student_id, name, "summer_training", None, SIGNED_RECORD)
                    )
                if "reexam" in clean and clean["reexam"] != dict((stored.reexam if stored else None) or {}):
                    problems.append(CellProblem(index, row.student_id, name, "reexam", None, SIGNED_RECORD))
                if "reexam_choice" in clean and clean["reexam_choice"] != (
                    stored.reexam_choice if stored else None
                ):
                    problems.append(
                        CellProblem(index, row.student_id, name, "reexam_choice", None, SIGNED_RECORD)
                    )
            parsed.append((row, clean))
        if problems:
            raise cells_problem(problems)
        for row, clean in parsed:
            extra = current.extras.get(row.student_id)
            if extra is None:
                extra = YearExtra(
                    school_id=principal.school_id,
                    school_year=school_year,
                    student_id=row.student_id,
                    summer_training=None,
                    reexam={},
                    reexam_choice=None,
                )
                self.conduct.add(session, extra)
                current.extras[row.student_id] = extra
            if "summer_training" in clean:
                self._log(
                    session,
                    principal,
                    school_year,
                    class_name,
                    row.student_id,
                    None,
                    "summer_training",
                    extra.summer_training,
                    clean["summer_training"],
                )
                extra.summer_training = clean["summer_training"]  # type: ignore[assignment]
            if "reexam_choice" in clean:
                new_choice = clean["reexam_choice"]
                self._log(
                    session,
                    principal,
                    school_year,
                    class_name,
                    row.student_id,
                    None,
                    "reexam_choice",
                    _choice_text(extra.reexam_choice),
                    _choice_text(new_choice),  # type: ignore[arg-type]
                )
                extra.reexam_choice = new_choice  # type: ignore[assignment]
            if "reexam" in clean:
                new_reexam = dict(clean["reexam"])  # type: ignore[call-overload]
                old_reexam = dict(extra.reexam or {})
                for code in sorted(set(old_reexam) | set(new_reexam)):
                    self._log(
                        session,
                        principal,
                        school_year,
                        class_name,
                        row.student_id,
                        None,
                        f"reexam.{code}",
                        old_reexam.get(code),
                        new_reexam.get(code),
                    )
                extra.reexam = new_reexam
        await session.flush()
        return current
