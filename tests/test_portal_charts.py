"""Issue 15, charts where people would rather look: the server-drawn bars say exactly what grades'
answers say. Score distributions per class and subject (the board's statistics), learning and
conduct ratings of a class (its result sheet, for whoever may read the class) and progress per
step (the board's progress view): every segment's count and width checked against the numbers."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from hbs_devtools.drive import SystemClient, sign_in_portal

from .factories import SchoolClass, SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]

BAR_WIDTH = 460.0
"""The stacked bars' full width in the SVG's units (templates/progress/chart.html, `stacked`)."""
SEGMENT = re.compile(
    r'<rect x="[\d.]+" y="\d+" width="(?P<width>[\d.]+)" height="\d+" class="seg [^"]+" '
    r'data-key="(?P<key>[^"]+)" data-count="(?P<count>\d+)"><title>(?P<title>[^<]*)</title>'
)
# The four year-end steps and score entry, as the progress chart draws them (progress/chart.html, `bars`).
STEP_BAR = re.compile(
    r'class="bar-done"><title>(?P<label>[^<]*): đã xong (?P<done>\d+)/(?P<total>\d+)</title>'
)


@contextmanager
def portal_as(system: SystemClient, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.stack.url("portal"), timeout=60) as browser:
        signed = sign_in_portal(browser, username, password_of(username))
        assert signed.status_code == 303, signed.text
        yield browser


def fill(system: SystemClient, made: SchoolClass, code: str, marks: tuple[str, ...]) -> list[str]:
    """Every cell of the first students' HK1 lines of the subject, one mark per student; returns
    the class's student ids in the sheet's order."""
    teacher = system.token(made.teachers[code].username)
    sheet = next(
        s
        for s in system.sheets(teacher)
        if s["class_name"] == made.name and s["subject_code"] == code and s["term"] == "HK1"
    )
    with system.client("grades", teacher) as grades:
        scores = grades.get(f"/sheets/{sheet['id']}/scores").json()
        rows = [
            {
                "student_id": row["student_id"],
                "regular": [mark] * scores["sheet"]["regular_count"],
                "midterm": mark,
                "final": mark,
            }
            for row, mark in zip(scores["rows"], marks, strict=False)
        ]
        saved = grades.put(
            f"/sheets/{sheet['id']}/scores",
            json={"expected_version": scores["sheet"]["version"], "rows": rows},
        )
    assert saved.status_code == 200, saved.text
    return [row["student_id"] for row in scores["rows"]]


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    """Four students, HK1: mathematics averages 9 (8,0–10), 7 (6,5–<8,0), 4 (3,5–<5,0) and one
    without scores; physical education Đạt, Đạt, Chưa đạt and none; conduct Tốt, Khá, Tốt, none."""
    made = school.school_class(students=4, subjects=("TOAN", "GDTC"))
    system = school.system
    students = fill(system, made, "TOAN", ("9", "7", "4"))
    fill(system, made, "GDTC", ("Đ", "Đ", "CĐ"))
    assert made.homeroom is not None
    with system.client("grades", system.token(made.homeroom.username)) as grades:
        conduct = [
            {"student_id": student, "term": "HK1", "conduct": value}
            for student, value in zip(students, ("T", "K", "T"), strict=False)
        ]
        put = grades.put(f"/classes/{made.name}/conduct", json={"rows": conduct})
    assert put.status_code == 200, put.text
    return made


def bars(page: str, figure_id: str) -> dict[str, dict[str, tuple[int, float]]]:
    """Each bar of one stacked chart: row label → segment key → (count, drawn width)."""
    found = re.search(rf'<figure class="chart" id="{figure_id}"[^>]*>(.*?)</figure>', page, re.S)
    assert found is not None, f"no chart {figure_id} on the page"
    drawn: dict[str, dict[str, tuple[int, float]]] = {}
    for segment in SEGMENT.finditer(found.group(1)):
        label = html.unescape(segment["title"]).rsplit(": ", 1)[0]
        drawn.setdefault(label, {})[html.unescape(segment["key"])] = (
            int(segment["count"]),
            float(segment["width"]),
        )
    return drawn


def assert_proportional(drawn: dict[str, dict[str, tuple[int, float]]]) -> None:
    """Every segment is as wide as its share of its bar (to the SVG's 0.1 unit)."""
    for label, segments in drawn.items():
        total = sum(count for count, _ in segments.values())
        for key, (count, width) in segments.items():
            assert abs(width - BAR_WIDTH * count / total) <= 0.051, (label, key, count, width)


def expected_bands(items: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """What grades counted, as the chart must draw it: the bands and the pending, zeros left out."""
    return {
        item["scope"]: {
            key: n for key, n in {**item["distribution"], "pending": item["pending"]}.items() if n
        }
        for item in items
    }


def drawn_counts(drawn: dict[str, dict[str, tuple[int, float]]]) -> dict[str, dict[str, int]]:
    return {label: {key: count for key, (count, _) in segments.items()} for label, segments in drawn.items()}


def test_the_score_distribution_per_class_and_grade_level_draws_what_grades_counted(
    system: SystemClient, klass: SchoolClass
) -> None:
    with portal_as(system, "phohieutruong") as vice:
        page = vice.get("/statistics", params={"subject": "TOAN", "period": "HK1"})
    assert page.status_code == 200, page.text
    with system.client("grades", system.token("phohieutruong")) as grades:
        stats = grades.get("/results/subjects/TOAN", params={"period": "HK1"}).json()

    per_class = bars(page.text, "chart-classes")
    assert drawn_counts(per_class)[klass.name] == {"3.5–<5.0": 1, "6.5–<8.0": 1, "8.0–10": 1, "pending": 1}
    assert drawn_counts(per_class) == expected_bands(stats["classes"])
    assert drawn_counts(bars(page.text, "chart-grades")) == expected_bands(stats["grades"])
    assert_proportional(per_class)
    assert_proportional(bars(page.text, "chart-grades"))
    # The legend and the table's heads write the bands with a decimal comma.
    assert "<th>6,5–&lt;8,0</th>" in page.text
    assert ">6.5–&lt;8.0<" not in page.text
    assert 'role="img" aria-label="Phân bố kết quả môn Toán theo lớp – Học kỳ I"' in page.text


def test_a_comment_subject_is_drawn_as_dat_and_chua_dat(system: SystemClient, klass: SchoolClass) -> None:
    with portal_as(system, "hieutruong") as principal:
        page = principal.get("/statistics", params={"subject": "GDTC", "period": "HK1"})
    assert page.status_code == 200, page.text
    with system.client("grades", system.token("hieutruong")) as grades:
        stats = grades.get("/results/subjects/GDTC", params={"period": "HK1"}).json()
    assert stats["assessment"] == "comment"
    drawn = drawn_counts(bars(page.text, "chart-classes"))
    assert drawn[klass.name] == {"Đ": 2, "CĐ": 1, "pending": 1}
    assert drawn == expected_bands(stats["classes"])
    assert "Chưa đạt</span>" in page.text


def test_only_the_board_and_office_see_the_distribution_as_they_see_the_statistics(
    system: SystemClient, klass: SchoolClass
) -> None:
    assert klass.homeroom is not None
    for username in (klass.teachers["TOAN"].username, klass.homeroom.username):
        with portal_as(system, username) as teacher:
            page = teacher.get("/statistics", params={"subject": "TOAN", "period": "HK1"})
        assert page.status_code == 403
        assert "chart-classes" not in page.text
        assert klass.name not in page.text


def rating_counts(students: list[dict[str, Any]], field: str) -> dict[str, int]:
    counted = Counter(s[field] if s[field] in ("T", "K", "Đ", "CĐ") else "pending" for s in students)
    return dict(counted)


def test_the_homeroom_teacher_sees_the_class_ratings_as_grades_computes_them(
    system: SystemClient, klass: SchoolClass
) -> None:
    assert klass.homeroom is not None
    with portal_as(system, klass.homeroom.username) as teacher:
        page = teacher.get(f"/classes/{klass.name}/results", params={"period": "HK1"})
    assert page.status_code == 200, page.text
    with system.client("grades", system.token(klass.homeroom.username)) as grades:
        students = grades.get(f"/results/classes/{klass.name}").json()["students"]

    drawn = bars(page.text, "chart-ratings")
    assert drawn_counts(drawn)["Rèn luyện"] == {"T": 2, "K": 1, "pending": 1}
    assert drawn_counts(drawn)["Rèn luyện"] == rating_counts(students, "conduct_semester1")
    assert drawn_counts(drawn)["Học tập"] == rating_counts(students, "learning_semester1")
    assert_proportional(drawn)
    table = re.search(r'<table id="ratings-table">(.*?)</table>', page.text, re.S)
    assert table is not None
    assert re.search(r"<td>Rèn luyện</td><td>2</td><td>1</td><td>0</td><td>0</td><td>1</td>", table.group(1))


def test_the_year_ratings_match_the_class_summary_grades_keeps(
    system: SystemClient, klass: SchoolClass
) -> None:
    with portal_as(system, "hieutruong") as principal:
        page = principal.get(f"/classes/{klass.name}/results", params={"period": "year"})
    assert page.status_code == 200, page.text
    with system.client("grades", system.token("hieutruong")) as grades:
        summary = grades.get(f"/results/classes/{klass.name}").json()["summary"]
    drawn = drawn_counts(bars(page.text, "chart-ratings"))
    for label, key in (("Học tập", "learning_year"), ("Rèn luyện", "conduct_year")):
        assert drawn[label] == {k: n for k, n in summary[key].items() if n}, label


def test_a_teacher_of_another_class_sees_neither_the_ratings_nor_their_chart(
    system: SystemClient, klass: SchoolClass, school: SchoolFactory
) -> None:
    other = school.school_class(students=1, subjects=("TOAN",), homeroom=False)
    with portal_as(system, other.teachers["TOAN"].username) as stranger:
        page = stranger.get(f"/classes/{klass.name}/results", params={"period": "HK1"})
    assert page.status_code == 404
    assert "chart-ratings" not in page.text


def test_the_board_sees_progress_per_step_in_the_chart_and_its_table_as_grades_counts_it(
    system: SystemClient, klass: SchoolClass
) -> None:
    # HK2's signing window closed three days ago: HK2's unsigned sheets are late (bars and table).
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    window = {"period": "HK2", "step": 1}
    board = system.token("phohieutruong")
    with system.client("grades", board) as grades:
        closed = {
            **window,
            "opens_on": str(today - timedelta(days=30)),
            "closes_on": str(today - timedelta(days=3)),
        }
        put = grades.put("/windows", json={"school_year": klass.school_year, "windows": [closed]})
        assert put.status_code == 200, put.text
        try:
            with portal_as(system, "phohieutruong") as vice:
                page = vice.get("/progress")
            steps = grades.get("/progress").json()["steps"]
        finally:
            removed = grades.put("/windows", json={"school_year": klass.school_year, "windows": [window]})
            assert removed.status_code == 200, removed.text
    assert page.status_code == 200, page.text
    assert next(s for s in steps if s["key"] == "sheet_signing")["late"] > 0
    assert [s["key"] for s in steps] == ["score_entry", "sheet_signing", "homeroom", "review", "approval"]

    chart = re.search(r'aria-label="Tiến độ theo bước"(.*?)</svg>', page.text, re.S)
    assert chart is not None
    drawn = [
        (html.unescape(m["label"]), int(m["done"]), int(m["total"]))
        for m in STEP_BAR.finditer(chart.group(1))
    ]
    assert drawn == [(s["label"], s["done"], s["total"]) for s in steps]

    table = re.search(r'<table id="progress-steps">(.*?)</table>', page.text, re.S)
    assert table is not None
    rows = re.findall(
        r"<tr><td>([^<]*)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td[^>]*>(\d+)</td></tr>",
        table.group(1),
    )
    assert [(html.unescape(r[0]), *map(int, r[1:])) for r in rows] == [
        (s["label"], s["total"], s["done"], s["missing"] - s["late"], s["late"]) for s in steps
    ]


def test_a_teacher_has_no_progress_view(system: SystemClient, klass: SchoolClass) -> None:
    with portal_as(system, klass.teachers["TOAN"].username) as teacher:
        page = teacher.get("/progress", follow_redirects=False)
    assert page.status_code in (303, 403)
    assert "Tiến độ theo bước" not in page.text


def test_the_board_sees_every_class_ratings_side_by_side_as_grades_counts_them(
    system: SystemClient, klass: SchoolClass
) -> None:
    with portal_as(system, "phohieutruong") as vice:
        page = vice.get("/statistics/ratings", params={"period": "HK1"})
    assert page.status_code == 200, page.text
    with system.client("grades", system.token("phohieutruong")) as grades:
        classes = grades.get("/results/ratings", params={"period": "HK1"}).json()["classes"]

    conduct = bars(page.text, "chart-conduct")
    learning = bars(page.text, "chart-learning")
    assert drawn_counts(conduct)[klass.name] == {"T": 2, "K": 1, "pending": 1}
    for drawn, kind in ((learning, "learning"), (conduct, "conduct")):
        assert drawn_counts(drawn) == {
            c["class_name"]: {k: n for k, n in c[kind].items() if n} for c in classes
        }
        assert_proportional(drawn)
    row = re.search(rf"<tr><th scope=\"row\">{klass.name}</th>(.*?)</tr>", page.text)
    assert row is not None
    assert re.findall(r"<td>(\d+)</td>", row.group(1))[6:] == ["2", "1", "0", "0", "1"]


def test_teachers_do_not_see_the_ratings_of_every_class(system: SystemClient, klass: SchoolClass) -> None:
    assert klass.homeroom is not None
    with portal_as(system, klass.homeroom.username) as teacher:
        page = teacher.get("/statistics/ratings")
    assert page.status_code == 403
    assert "chart-conduct" not in page.text
    assert klass.name not in page.text
