"""A save on an older version of a sheet is merged by grades, cell by cell, against what the page
showed: untouched cells keep the newer value, changed ones apply, cells both sides changed are
conflicts answered with both values (and then nothing is saved)."""

from __future__ import annotations

import uuid

import pytest

from hbs_grades.sheets.merge import ShownChange, merge_stale
from hbs_grades.sheets.service import RowChange
from hbs_shared.curriculum import Assessment

from .conftest import GradesHarness
from .test_sheet_entry import TEACHER, prepared

A, B = uuid.uuid4(), uuid.uuid4()


def test_untouched_cells_keep_the_newer_value_changed_ones_apply() -> None:
    rows = [
        ShownChange(RowChange(A, {"midterm": "7,5", "final": "8"}), {"midterm": "6", "final": "8"}),
        ShownChange(RowChange(B, {"final": ""}), {"final": "5"}),
    ]
    current = {A: {"midterm": "6", "final": "9"}, B: {"final": "5"}}
    changes, conflicts = merge_stale(rows, current, Assessment.scored)
    assert conflicts == []
    # A's final was left as shown (8): the stored 9 stays; the comma is the same score as a point.
    assert changes == [RowChange(A, {"midterm": "7,5"}), RowChange(B, {"final": ""})]


def test_a_cell_both_changed_is_a_conflict_with_both_values() -> None:
    rows = [ShownChange(RowChange(A, {"midterm": "9,5", "final": "4"}), {"midterm": "", "final": ""})]
    changes, conflicts = merge_stale(rows, {A: {"midterm": "3", "final": None}}, Assessment.scored)
    assert [(c.column, c.yours, c.theirs) for c in conflicts] == [("midterm", "9,5", "3")]
    assert changes == [RowChange(A, {"final": "4"})]


def test_rows_without_shown_values_are_taken_as_typed() -> None:
    rows = [ShownChange(RowChange(A, {"midterm": "7"}))]
    assert merge_stale(rows, {A: {"midterm": "1"}}, Assessment.scored) == (
        [RowChange(A, {"midterm": "7"})],
        [],
    )


@pytest.mark.db
@pytest.mark.broker
async def test_a_stale_save_with_shown_values_is_merged_by_grades(grades: GradesHarness) -> None:
    sheet, students = await prepared(grades)
    me = grades.headers(TEACHER)
    url = f"/sheets/{sheet['id']}/scores"
    seen = sheet["version"]
    # Another tab saves first: student 1's midterm and student 2's final.
    other = {
        "expected_version": seen,
        "rows": [
            {"student_id": str(students[1]), "midterm": "3"},
            {"student_id": str(students[2]), "final": "1"},
        ],
    }
    assert (await grades.client.put(url, headers=me, json=other)).status_code == 200
    empty = {"midterm": None, "final": None}
    stale = {
        "expected_version": seen,
        "rows": [
            {"student_id": str(students[0]), "midterm": "8", "final": "", "shown": empty},
            {"student_id": str(students[2]), "midterm": "", "final": "", "shown": empty},
        ],
    }
    merged = await grades.client.put(url, headers=me, json=stale)
    assert merged.status_code == 200, merged.text
    rows = {r["student_id"]: r for r in merged.json()["rows"]}
    assert rows[str(students[0])]["midterm"] == "8"
    assert rows[str(students[1])]["midterm"] == "3"
    assert rows[str(students[2])]["final"] == "1"  # untouched on the stale page: the newer value stays


@pytest.mark.db
@pytest.mark.broker
async def test_a_stale_save_that_overwrites_someone_elses_cell_saves_nothing(grades: GradesHarness) -> None:
    sheet, students = await prepared(grades)
    me = grades.headers(TEACHER)
    url = f"/sheets/{sheet['id']}/scores"
    seen = sheet["version"]
    other = {"expected_version": seen, "rows": [{"student_id": str(students[1]), "midterm": "3"}]}
    assert (await grades.client.put(url, headers=me, json=other)).status_code == 200
    stale = {
        "expected_version": seen,
        "rows": [
            {"student_id": str(students[0]), "final": "4", "shown": {"final": None}},
            {"student_id": str(students[1]), "midterm": "9,5", "shown": {"midterm": None}},
        ],
    }
    conflict = await grades.client.put(url, headers=me, json=stale)
    assert conflict.status_code == 409
    problem = conflict.json()
    assert (problem["field"], problem["code"], problem["current_version"]) == (
        "expected_version",
        "stale_cells",
        seen + 1,
    )
    assert problem["conflicts"] == [
        {"student_id": str(students[1]), "column": "midterm", "yours": "9,5", "theirs": "3"}
    ]
    after = (await grades.client.get(url, headers=me)).json()
    assert after["sheet"]["version"] == seen + 1
    assert next(r for r in after["rows"] if r["student_id"] == str(students[0]))["final"] is None


@pytest.mark.db
@pytest.mark.broker
async def test_the_old_request_shape_still_refuses_a_stale_version(grades: GradesHarness) -> None:
    sheet, students = await prepared(grades)
    me = grades.headers(TEACHER)
    url = f"/sheets/{sheet['id']}/scores"
    body = {"expected_version": sheet["version"], "rows": [{"student_id": str(students[0]), "midterm": "7"}]}
    assert (await grades.client.put(url, headers=me, json=body)).status_code == 200
    again = await grades.client.put(url, headers=me, json=body)
    assert again.status_code == 409
    assert again.json()["field"] == "expected_version"
