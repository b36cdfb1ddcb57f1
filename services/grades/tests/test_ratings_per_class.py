"""Ratings per class (issue 15's chart for the board): GET /results/ratings counts every class's
learning and conduct ratings (T / K / Đ / CĐ, pending) for a period, exactly as the class's own
results say; school-wide figures, so the board and the office only, as the subject statistics."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import GradesHarness
from .test_results_flow import SCORED, School

pytestmark = [pytest.mark.db, pytest.mark.broker]


@pytest.fixture
async def school(grades: GradesHarness) -> School:
    """Two students with every subject scored: Giỏi (9 everywhere) and Yếu (Vật lí 3): learning
    T and Đ for each semester and the year; no conduct yet."""
    s = School(grades)
    await s.setup()
    for term in ("HK1", "HK2"):
        for code, name in SCORED.items():
            await s.fill(name, term, ["9", "3" if code == "VAT_LI" else "9"])
        await s.fill("Giáo dục thể chất", term, ["Đ", "Đ"])
    return s


async def ratings(school: School, period: str, roles: tuple[str, ...] = ("principal",)) -> Any:
    answer = await school.h.client.get(
        "/results/ratings", params={"period": period}, headers=school.h.headers(uuid.uuid4(), roles=roles)
    )
    assert answer.status_code == 200, answer.text
    return next(c for c in answer.json()["classes"] if c["class_name"] == school.class_name)


async def test_each_class_counts_learning_and_conduct_as_its_results_say(school: School) -> None:
    year = await ratings(school, "year")
    assert year["students"] == 2
    assert year["grade_level"] == 10
    assert year["learning"] == {"T": 1, "K": 0, "Đ": 1, "CĐ": 0, "pending": 0}
    assert year["conduct"] == {"T": 0, "K": 0, "Đ": 0, "CĐ": 0, "pending": 2}
    summary = (await school.results(roles=("principal",)))["summary"]
    assert year["learning"] == summary["learning_year"]

    homeroom = school.h.headers(school.homeroom, roles=("subject_teacher", "homeroom_teacher"))
    rows = [
        {"student_id": str(s), "term": "HK1", "conduct": level}
        for s, level in zip(school.students, ("K", "CĐ"), strict=True)
    ]
    saved = await school.h.client.put(
        f"/classes/{school.class_name}/conduct", headers=homeroom, json={"rows": rows}
    )
    assert saved.status_code == 200, saved.text
    first = await ratings(school, "HK1", roles=("office_admin",))
    assert first["conduct"] == {"T": 0, "K": 1, "Đ": 0, "CĐ": 1, "pending": 0}
    assert first["learning"] == {"T": 1, "K": 0, "Đ": 1, "CĐ": 0, "pending": 0}
    # HK2's conduct is still to be set; the year's needs both semesters.
    assert (await ratings(school, "HK2"))["conduct"]["pending"] == 2
    assert (await ratings(school, "year"))["conduct"]["pending"] == 2


async def test_teachers_do_not_see_the_school_wide_ratings(school: School) -> None:
    for who, roles in (
        (school.teacher, ("subject_teacher",)),
        (school.homeroom, ("subject_teacher", "homeroom_teacher")),
    ):
        answer = await school.h.client.get("/results/ratings", headers=school.h.headers(who, roles=roles))
        assert answer.status_code == 403
        assert answer.json()["title"] == "Chỉ Ban Giám hiệu và văn phòng xem được thống kê toàn trường"
        assert school.class_name not in answer.text


async def test_an_unknown_period_is_refused(school: School) -> None:
    principal = school.h.headers(uuid.uuid4(), roles=("principal",))
    answer = await school.h.client.get("/results/ratings", params={"period": "HK3"}, headers=principal)
    assert answer.status_code == 422


async def test_a_school_year_with_no_classes_has_no_ratings(school: School) -> None:
    """The fuzzer's school_year=6366-7550 answered 500."""
    principal = school.h.headers(uuid.uuid4(), roles=("principal",))
    for period in ("HK1", "HK2", "year"):
        answer = await school.h.client.get(
            "/results/ratings", params={"period": period, "school_year": "6366-7550"}, headers=principal
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["classes"] == []
