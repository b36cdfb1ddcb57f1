"""The demo's made-up scores reach every student of a demo class whatever order identity's events
arrive in, across grades' consumers running side by side (development seed only).

Seen in CI on PostgreSQL: a student enrolled while another consumer created the class's sheets got
no line on them (each transaction filled what it could see, and neither saw the other's rows)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from hbs_grades.models import SheetState

from .conftest import SCHOOL, YEAR, GradesHarness

pytestmark = [pytest.mark.db, pytest.mark.broker]


async def _lines_missing(h: GradesHarness, class_name: str, student_id: uuid.UUID) -> list[str]:
    """The class's open sheets on which the student has no line."""
    repository = h.app.state.grades.sheet_demo.sheets
    async with h.app.state.runtime.db.transaction() as session:
        missing = []
        for sheet in await repository.for_class(session, SCHOOL, YEAR, class_name):
            if SheetState(sheet.state) is not SheetState.open:
                continue
            if student_id not in await repository.cells(session, sheet.id):
                missing.append(f"{sheet.subject_code} {sheet.term}")
        return missing


async def test_a_student_enrolled_while_a_consumer_makes_the_sheets_gets_scores_on_them(
    grades: GradesHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    if grades.app.state.runtime.db.is_sqlite:
        pytest.skip("SQLite takes its write lock at BEGIN: two consumers' transactions never overlap")
    demo = grades.app.state.grades.sheet_demo
    fill = demo.fill_demo
    both_written = asyncio.Barrier(2)

    async def fill_once_both_have_written(*args: Any) -> int:
        # The race, made certain: each transaction has written its rows, neither has committed.
        await asyncio.wait_for(both_written.wait(), 30)
        written: int = await fill(*args)
        return written

    monkeypatch.setattr(demo, "fill_demo", fill_once_both_have_written)
    teacher = uuid.uuid4()
    enrolled, _ = await asyncio.gather(
        grades.enrol("10A2", ["Nguyễn Thị Đua"]),  # a demo class: its students get made-up scores
        grades.assign(teacher, "10A2", "VAT_LI", teacher_name="Giáo viên Vật lí"),  # makes its sheets
    )
    monkeypatch.setattr(demo, "fill_demo", fill)
    assert await _lines_missing(grades, "10A2", enrolled[0]) == []
