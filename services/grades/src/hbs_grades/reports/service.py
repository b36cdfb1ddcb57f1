"""Results of students, classes and subjects: read the entered data, run the pure engine.

Results are never stored: every read computes them from what is entered now, so a change to any
input (a score, an exemption, conduct, absences, a re-examination) shows at once everywhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.conduct.repository import ConductRepository
from hbs_grades.models import ScoreSheet, Student, Term, TermRecord, YearExtra
from hbs_grades.plan.repository import PlanRepository
from hbs_grades.results import (
    DEFAULT_RULES,
    Level,
    PassMark,
    RulesConfig,
    Status,
    StudentYearInput,
    StudentYearResult,
    SubjectYearInput,
    compute_student_year,
)
from hbs_grades.roster.repository import RosterRepository
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_shared.curriculum import Assessment, subject


@dataclass(frozen=True)
class SubjectColumn:
    code: str
    name: str
    assessment: Assessment


@dataclass(frozen=True)
class StudentResults:
    student: Student
    class_name: str
    result: StudentYearResult


@dataclass
class ClassResults:
    school_year: str
    class_name: str
    grade_level: int | None
    subjects: list[SubjectColumn]
    students: list[StudentResults] = field(default_factory=list)


_MARKS = {mark.value: mark for mark in PassMark}


def _value(text: str | None, assessment: Assessment) -> Decimal | PassMark | None:
    if text is None:
        return None
    return Decimal(text) if assessment is Assessment.scored else _MARKS[text]


def _level(code: str | None) -> Level | None:
    return Level.from_code(code) if code else None


class ResultsService:
    def __init__(
        self,
        rules: RulesConfig = DEFAULT_RULES,
        sheets: ScoreSheetRepository | None = None,
        roster: RosterRepository | None = None,
        plans: PlanRepository | None = None,
        conduct: ConductRepository | None = None,
    ) -> None:
        self.rules = rules
        self.sheets = sheets or ScoreSheetRepository()
        self.roster = roster or RosterRepository()
        self.plans = plans or PlanRepository()
        self.conduct = conduct or ConductRepository()

    async def school(self, session: AsyncSession, school_id: str, school_year: str) -> list[ClassResults]:
        """Every result of every student of the school, class by class."""
        lists = await self.roster.school_lists(session, school_id, school_year)
        return await self._compute(session, school_id, school_year, lists)

    async def for_class(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        class_name: str,
        *,
        students: Sequence[Student] | None = None,
        sheets: Sequence[ScoreSheet] | None = None,
    ) -> ClassResults:
        """One class's results; a caller that already holds the class's current list (in class-list
        order) and its sheets passes them, so neither is read again."""
        if students is None:
            students = await self.roster.class_list(session, school_id, school_year, class_name)
        computed = await self._compute(
            session, school_id, school_year, {class_name: list(students)}, given_sheets=sheets
        )
        return computed[0]

    async def for_student(
        self, session: AsyncSession, school_id: str, school_year: str, student_id: uuid.UUID
    ) -> StudentResults | None:
        enrolment = await self.roster.current_class(session, school_id, student_id, school_year)
        if enrolment is None:
            return None
        results = await self.for_class(session, school_id, school_year, enrolment.class_name)
        return next((s for s in results.students if s.student.id == student_id), None)

    async def _compute(
        self,
        session: AsyncSession,
        school_id: str,
        school_year: str,
        lists: dict[str, list[Student]],
        *,
        given_sheets: Sequence[ScoreSheet] | None = None,
    ) -> list[ClassResults]:
        if not lists:  # a school year with no classes (yet): nothing to compute
            return []
        classes = set(lists)
        whole_school = len(lists) > 1
        student_ids = [s.id for students in lists.values() for s in students]
        if whole_school:
            sheets = [
                s
                for s in await self.sheets.for_school(session, school_id, school_year)
                if s.class_name in classes
            ]
            plan_rows = [
                p
                for p in await self.plans.for_school(session, school_id, school_year)
                if p.class_name in classes
            ]
            grades = await self.roster.class_grades(session, school_id, school_year)
        else:
            # One class reads only its own rows (the year end asks class by class: never the school's).
            (name,) = classes
            sheets = (
                list(given_sheets)
                if given_sheets is not None
                else await self.sheets.for_class(session, school_id, school_year, name)
            )
            plan_rows = await self.plans.for_class(session, school_id, school_year, name)
            level = await self.roster.class_grade(session, school_id, school_year, name)
            grades = {} if level is None else {name: level}
        cells = await self._semester_results(session, school_id, school_year, sheets)
        records = await self.conduct.term_records(
            session, school_id, school_year, None if whole_school else student_ids
        )
        extras = await self.conduct.year_extras(
            session, school_id, school_year, None if whole_school else student_ids
        )

        by_class: dict[str, dict[tuple[str, str], ScoreSheet]] = {}
        for sheet in sheets:
            by_class.setdefault(sheet.class_name, {})[(sheet.subject_code, sheet.term)] = sheet
        subjects_of: dict[str, dict[str, SubjectColumn]] = {name: {} for name in classes}
        for row in plan_rows:
            subjects_of[row.class_name][row.subject_code] = SubjectColumn(
                row.subject_code, subject(row.subject_code).name, Assessment(row.assessment)
            )
        for sheet in sheets:
            subjects_of[sheet.class_name].setdefault(
                sheet.subject_code,
                SubjectColumn(sheet.subject_code, sheet.subject, Assessment(sheet.assessment)),
            )

        out: list[ClassResults] = []
        for class_name in sorted(classes):
            columns = sorted(subjects_of[class_name].values(), key=lambda c: _catalogue_order(c.code))
            results = ClassResults(school_year, class_name, grades.get(class_name), columns)
            class_sheets = by_class.get(class_name, {})
            for student in lists[class_name]:
                inputs = [self._subject_input(column, student.id, class_sheets, cells) for column in columns]
                one = records.get((student.id, Term.hk1.value))
                two = records.get((student.id, Term.hk2.value))
                extra = extras.get(student.id)
                year_input = StudentYearInput(
                    subjects=self._with_reexam(inputs, extra),
                    conduct1=_level(one.conduct) if one else None,
                    conduct2=_level(two.conduct) if two else None,
                    absent_sessions=_absences(one) + _absences(two),
                    summer_training=_level(extra.summer_training) if extra else None,
                    reexam_choice=extra.reexam_choice if extra else None,
                )
                results.students.append(
                    StudentResults(student, class_name, compute_student_year(year_input, self.rules))
                )
            out.append(results)
        return out

    async def _semester_results(
        self, session: AsyncSession, school_id: str, school_year: str, sheets: Sequence[ScoreSheet]
    ) -> dict[tuple[str, str], tuple[Decimal | PassMark | None, Status]]:
        """Each entry's semester result by (sheet key, student key), as stored with the line when it
        was written, read as raw rows (tens of thousands: plain SQL is several times faster)."""
        if not sheets:
            return {}
        by_key = {_key(sheet.id): sheet for sheet in sheets}
        found: dict[tuple[str, str], tuple[Decimal | PassMark | None, Status]] = {}
        query = (
            "SELECT e.sheet_id, e.student_id, e.result, e.status"
            " FROM sheet_entries e JOIN score_sheets s ON s.id = e.sheet_id"
            " WHERE s.school_id = :school_id AND s.school_year = :school_year"
        )
        params = {"school_id": school_id, "school_year": school_year}
        classes = {sheet.class_name for sheet in sheets}
        if len(classes) == 1:
            query += " AND s.class_name = :class_name"
            params["class_name"] = classes.pop()
        rows = await session.execute(text(query), params)
        for sheet_id, student_id, result, status in rows.all():
            sheet_key = _key(sheet_id)
            sheet = by_key.get(sheet_key)
            if sheet is None:
                continue
            value = _value(result, _ASSESSMENT[sheet.assessment]) if status == "assessed" else None
            found[(sheet_key, _key(student_id))] = (value, _STATUS[status])
        return found

    @staticmethod
    def _subject_input(
        column: SubjectColumn,
        student_id: uuid.UUID,
        sheets: dict[tuple[str, str], ScoreSheet],
        results: dict[tuple[str, str], tuple[Decimal | PassMark | None, Status]],
    ) -> SubjectYearInput:
        values: list[Decimal | PassMark | None] = []
        statuses: list[Status] = []
        student = student_id.hex
        for term in (Term.hk1.value, Term.hk2.value):
            sheet = sheets.get((column.code, term))
            value, status = (
                results.get((sheet.id.hex, student), (None, Status.assessed))
                if sheet is not None
                else (None, Status.assessed)
            )
            values.append(value)
            statuses.append(status)
        return SubjectYearInput(
            column.code, column.assessment, values[0], values[1], status1=statuses[0], status2=statuses[1]
        )

    @staticmethod
    def _with_reexam(inputs: list[SubjectYearInput], extra: YearExtra | None) -> list[SubjectYearInput]:
        if extra is None or not extra.reexam:
            return inputs
        out = []
        for item in inputs:
            text = extra.reexam.get(item.code)
            if text is not None:
                item = SubjectYearInput(
                    item.code,
                    item.assessment,
                    item.semester1,
                    item.semester2,
                    item.status1,
                    item.status2,
                    reexam=_value(str(text), item.assessment),
                )
            out.append(item)
        return out


_STATUS = {status.value: status for status in Status}
_ASSESSMENT = {assessment.value: assessment for assessment in Assessment}


def _key(value: object) -> str:
    """A uuid as 32 hex digits, whatever the driver returned (SQLite text, PostgreSQL uuid)."""
    if isinstance(value, str) and len(value) == 32:
        return value
    return value.hex if isinstance(value, uuid.UUID) else str(value).replace("-", "")


def _absences(record: TermRecord | None) -> int:
    return 0 if record is None else record.absent_excused + record.absent_unexcused


_ORDER = {code: index for index, code in enumerate(
    ["NGU_VAN", "TOAN", "NGOAI_NGU_1", "LICH_SU", "GDTC", "GDQPAN", "HDTN_HN", "GD_DIA_PHUONG",
     "DIA_LI", "GDKT_PL", "VAT_LI", "HOA_HOC", "SINH_HOC", "CONG_NGHE", "TIN_HOC", "AM_NHAC",
     "MI_THUAT", "CHUYEN_DE"]
)}  # fmt: skip


def _catalogue_order(code: str) -> tuple[int, str]:
    return (_ORDER.get(code, 99), code)
