"""Development only (the demo school): its sheets before identity's assignments arrive, and
made-up complete scores so the demo can sign at once. Never in production (the app refuses the seed)."""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from hbs_grades.models import SheetState, Term
from hbs_grades.results import Status, format_score
from hbs_grades.roster.repository import RosterRepository
from hbs_grades.sheets.cells import Cells, semester_result
from hbs_grades.sheets.repository import ScoreSheetRepository
from hbs_grades.sheets.setup import SheetSetup
from hbs_shared.curriculum import Assessment

DEMO_PLAN = (
    ("gv.toan", "10A1", "TOAN"),
    ("gv.toan", "10A2", "TOAN"),
    ("gv.toan", "11 Toán chuyên", "TOAN"),
    ("gv.van", "10A1", "NGU_VAN"),
)
"""The demo school's class-subjects the end-to-end flow signs (development seed only)."""


class DemoSheets:
    def __init__(
        self,
        setup: SheetSetup,
        sheets: ScoreSheetRepository | None = None,
        roster: RosterRepository | None = None,
    ) -> None:
        self.setup = setup
        self.sheets = sheets or ScoreSheetRepository()
        self.roster = roster or RosterRepository()

    async def seed_demo(self, session: AsyncSession, school_id: str, school_year: str) -> int:
        """The demo school's four class-subjects, HK1 (until identity publishes the assignments)."""
        from hbs_devtools.demo import demo_person  # development only: not in the production image

        created = 0
        for username, class_name, code in DEMO_PLAN:
            teacher = demo_person(username)
            created += await self.setup.ensure_class_subject_sheets(
                session,
                school_id=school_id,
                school_year=school_year,
                class_name=class_name,
                subject_code=code,
                teacher_id=teacher.user_id,
                teacher_name=teacher.full_name,
                terms=(Term.hk1,),
            )
        return created

    async def fill_demo(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> int:
        """Development only (the demo school): every current student of the class gets complete,
        made-up scores on each open sheet where they have no line yet, so the demo's sheets can be
        submitted and signed at once. Not audited: it is seed data, not a teacher's entry."""
        if class_name not in {class_name for _, class_name, _ in DEMO_PLAN}:
            return 0
        students = await self.roster.class_list(session, school_id, school_year, class_name)
        written = 0
        for sheet in await self.sheets.for_class(session, school_id, school_year, class_name):
            if SheetState(sheet.state) is not SheetState.open:
                continue
            stored = await self.sheets.cells(session, sheet.id)
            lines: list[dict[str, object]] = []
            for student in students:
                if student.id in stored:
                    continue
                rng = random.Random(f"{sheet.id}/{student.id}")

                def value(rng: random.Random = rng, assessment: str = sheet.assessment) -> str:
                    if assessment == Assessment.comment.value:
                        return "Đ"
                    return format_score(Decimal(rng.randint(10, 20)) / 2)

                cells = Cells([value() for _ in range(sheet.regular_count)], value(), value())
                lines.append(
                    {
                        "sheet_id": sheet.id,
                        "student_id": student.id,
                        "regular": cells.regular,
                        "midterm": cells.midterm,
                        "final": cells.final,
                        "comment": "",
                        "status": Status.assessed.value,
                        "result": semester_result(cells, Assessment(sheet.assessment), sheet.regular_count),
                    }
                )
            await self.sheets.write_lines(session, lines, [])
            written += len(lines)
        return written
