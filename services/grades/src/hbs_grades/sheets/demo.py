"""Development only (the demo's schools): their sheets before identity's assignments arrive, and
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
from hbs_shared.db import serialise

DEMO_PLAN = (
    ("gv.toan", "10A1", "TOAN"),
    ("gv.toan", "10A2", "TOAN"),
    ("gv.toan", "11 Toán chuyên", "TOAN"),
    ("gv.van", "10A1", "NGU_VAN"),
)
"""Each demo school's class-subjects the end-to-end flow signs (development seed only): the second
school has the same three small-demo classes, with its own teachers."""


def is_demo_school(school_id: str) -> bool:
    """One of hbs_devtools.demo.DEMO_SCHOOLS: a school the province creates gets no made-up data."""
    from hbs_devtools.demo import DEMO_SCHOOLS  # development only: not in the production image

    return any(school.id == school_id for school in DEMO_SCHOOLS)


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
        """A demo school's four class-subjects, HK1 (until identity publishes the assignments), with
        that school's teachers; none for any other school."""
        from hbs_devtools.demo import DEMO_SCHOOLS  # development only: not in the production image

        school = next((school for school in DEMO_SCHOOLS if school.id == school_id), None)
        if school is None:
            return 0
        created = 0
        for username, class_name, code in DEMO_PLAN:
            teacher = school.person(username)
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
        for class_name in dict.fromkeys(class_name for _, class_name, _ in DEMO_PLAN):
            # Students enrolled before these sheets existed get their scores now.
            await self.fill_demo(session, school_id, school_year, class_name)
        return created

    async def fill_demo(
        self, session: AsyncSession, school_id: str, school_year: str, class_name: str
    ) -> int:
        """Development only (the demo's schools): every current student of the class gets complete,
        made-up scores on each open sheet where they have no line yet, so the demo's sheets can be
        submitted and signed at once. Not audited: it is seed data, not a teacher's entry."""
        if class_name not in {class_name for _, class_name, _ in DEMO_PLAN} or not is_demo_school(school_id):
            return 0
        # Two consumers (a student enrolled, the class's sheets made) each fill what they can see:
        # one at a time per class, the second sees the first's rows (PostgreSQL read committed).
        await serialise(session, f"grades.demo-fill:{school_id}:{school_year}:{class_name}")
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
