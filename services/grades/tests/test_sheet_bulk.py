"""The PostgreSQL form of a save's bulk writes (issue 12): rows as arrays, shared values once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql

from hbs_grades.models import EntryChange, SheetEntry
from hbs_grades.sheets import bulk

CHANGES = cast(Table, EntryChange.__table__)
ENTRIES = cast(Table, SheetEntry.__table__)
SHEET, TEACHER = uuid.uuid4(), uuid.uuid4()


def change(student: uuid.UUID, column: str, new: str, *, by: uuid.UUID = TEACHER) -> dict[str, Any]:
    return {
        "sheet_id": SHEET, "student_id": student, "column": column, "old_value": None, "new_value": new,
        "changed_by": by, "changed_by_name": "Lê Thị Hoa", "changed_at": datetime(2026, 12, 6, tzinfo=UTC),
        "sheet_state": "open", "sheet_version": 3, "reason": None, "correction_id": None,
    }  # fmt: skip


def sql(statement: Any) -> str:
    return str(statement.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]


def test_the_change_log_is_one_insert_of_arrays_with_shared_values_sent_once() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    statement, parameters = bulk.insert_rows(
        CHANGES, [change(a, "final", "9"), change(b, "midterm", "7.5")], shared=("sheet_id", "changed_by")
    )
    text = sql(statement)
    assert text.startswith("INSERT INTO entry_changes")
    assert "unnest(" in text
    assert parameters["p_sheet_id"] == SHEET  # once, not a list
    assert parameters["p_changed_by"] == TEACHER
    assert parameters["p_student_id"] == [str(a), str(b)]  # text[]: no type introspection
    assert parameters["p_new_value"] == ["9", "7.5"]


def test_a_column_said_to_be_shared_that_differs_is_still_sent_per_row() -> None:
    other = uuid.uuid4()
    rows = [change(uuid.uuid4(), "final", "9"), change(uuid.uuid4(), "final", "8", by=other)]
    _, parameters = bulk.insert_rows(CHANGES, rows, shared=("sheet_id", "changed_by"))
    assert parameters["p_changed_by"] == [str(TEACHER), str(other)]
    assert parameters["p_sheet_id"] == SHEET


def test_lines_are_one_upsert_with_the_json_column_as_text() -> None:
    student = uuid.uuid4()
    line = {"sheet_id": SHEET, "student_id": student, "regular": ["7", None, "Đ"], "midterm": "8",
            "final": None, "comment": "", "status": "assessed", "result": None}  # fmt: skip
    statement, parameters = bulk.upsert(ENTRIES, [line], shared=("sheet_id",))
    text = sql(statement)
    assert "ON CONFLICT (sheet_id, student_id) DO UPDATE" in text
    assert "sheet_id = excluded.sheet_id" not in text  # the key is not rewritten
    assert parameters["p_regular"] == ['["7", null, "\\u0110"]']


def test_arrays_travel_as_text_cast_back_to_each_columns_type() -> None:
    """asyncpg knows `text[]` without asking the server; any other array type it introspects on
    each new connection. VARCHAR columns take the text as it is (a value too long is refused, not
    cut as an explicit cast would), the others are cast back."""
    rows = [change(uuid.uuid4(), "final", "9"), change(uuid.uuid4(), "midterm", "7.5")]
    rows[1]["sheet_version"] = 4
    statement, parameters = bulk.insert_rows(CHANGES, rows, shared=("sheet_id",))
    text = sql(statement)
    assert "::TEXT[]" in text
    assert "UUID[]" not in text
    assert "VARCHAR[]" not in text
    assert "CAST(v.student_id AS UUID)" in text
    assert "CAST(v.sheet_version AS INTEGER)" in text
    assert 'v."column"' in text
    assert 'CAST(v."column"' not in text
    assert parameters["p_sheet_version"] == ["3", "4"]
    assert parameters["p_changed_at"] == ["2026-12-06T00:00:00+00:00"] * 2
