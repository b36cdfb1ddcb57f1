"""A class-subject's sheets follow the class plan and the assignments from identity."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import ScoreSheet, SheetState, Term
from hbs_grades.plan.service import PlanService
from hbs_grades.results import regular_count_for_periods
from hbs_grades.sheets.cells import semester_result
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.sheets.workflow import EDITABLE
from hbs_shared.curriculum import Assessment
from hbs_shared.problems import Problem


class SheetSetup:
    def __init__(self, sheets: ScoreSheetRepository | None = None, plan: PlanService | None = None) -> None:
        self.sheets = sheets or ScoreSheetRepository()
        self.plan = plan or PlanService()

    async def ensure_class_subject_sheets(
        self,
        session: AsyncSession,
        *,
        school_id: str,
        school_year: str,
        class_name: str,
        subject_code: str,
        teacher_id: uuid.UUID,
        teacher_name: str,
        class_id: uuid.UUID | None = None,
        terms: Sequence[Term] = (Term.hk1, Term.hk2),
    ) -> int:
        """The class-subject's sheets for `terms` (idempotent). An existing sheet not yet sent to
        signing follows the assignment to its current teacher."""
        planned = await self.plan.ensure(session, school_id, school_year, class_name, subject_code)
        created = 0
        for term in terms:
            sheet = await self.sheets.find(
                session, school_id, school_year, class_name, planned.name, term.value
            )
            if sheet is None:
                self.sheets.add(
                    session,
                    ScoreSheet(
                        school_id=school_id,
                        school_year=school_year,
                        class_name=class_name,
                        class_id=class_id,
                        subject=planned.name,
                        subject_code=planned.code,
                        assessment=planned.assessment.value,
                        regular_count=planned.regular_count,
                        term=term.value,
                        teacher_id=teacher_id,
                        teacher_name=teacher_name,
                        state=SheetState.open,
                    ),
                )
                created += 1
                continue
            if class_id is not None and sheet.class_id is None:
                sheet.class_id = class_id
            if sheet.teacher_id != teacher_id and SheetState(sheet.state) in EDITABLE:
                sheet.teacher_id = teacher_id
                sheet.teacher_name = teacher_name
        await session.flush()
        return created

    async def recompute(self, session: AsyncSession, sheet: ScoreSheet) -> None:
        """Rewrite every line's stored result (after the sheet's regular count changed)."""
        assessment = Assessment(sheet.assessment)
        lines: list[dict[str, object]] = [
            {
                "sheet_id": sheet.id,
                "student_id": student_id,
                "regular": cells.regular_slots(sheet.regular_count),
                "result": semester_result(cells, assessment, sheet.regular_count),
            }
            for student_id, cells in (await self.sheets.cells(session, sheet.id)).items()
        ]
        await self.sheets.write_lines(session, [], lines)

    async def require_no_regular_beyond(
        self, session: AsyncSession, sheets: Sequence[ScoreSheet], periods_per_year: int
    ) -> None:
        """Fewer regular assessments must not drop scores already entered in the columns cut."""
        count = regular_count_for_periods(periods_per_year)
        for sheet in sheets:
            for entry in (await self.sheets.entries(session, sheet.id)).values():
                if any(value is not None for value in entry.regular[count:]):
                    raise Problem(
                        409,
                        "Đã có điểm ở cột ĐĐGtx sẽ bị bỏ, không giảm được số tiết",
                        f"sheet {sheet.id} has regular scores beyond {count}",
                        field="periods_per_year",
                    )
