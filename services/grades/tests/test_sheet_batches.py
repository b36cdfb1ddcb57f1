"""A subject teacher signs all their ready sheets under one activation: the preview (own sheets
only, the not-ready ones with the students still missing scores), then one request for every
chosen sheet, all or nothing, each refusal naming the sheet."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from hbs_shared.messaging.tables import outbox

from .conftest import GradesHarness

pytestmark = [pytest.mark.db, pytest.mark.broker]

NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Châu"]
FULL = {"regular": ["7", "8", "9"], "midterm": "8", "final": "8.5"}


async def class_sheet(h: GradesHarness, teacher: uuid.UUID, *, complete: int) -> dict[str, Any]:
    """A new class taught by `teacher` (Vật lí, HK1) whose first `complete` students have every score."""
    class_name = f"10S-{uuid.uuid4().hex[:6]}"
    await h.assign(teacher, class_name, "VAT_LI")
    students = await h.enrol(class_name, NAMES)
    me = h.headers(teacher)
    sheet = next(
        s
        for s in (await h.client.get("/sheets", headers=me)).json()
        if s["class_name"] == class_name and s["term"] == "HK1"
    )
    rows = [{"student_id": str(s), **FULL} for s in students[:complete]]
    saved = await h.client.put(
        f"/sheets/{sheet['id']}/scores", headers=me, json={"expected_version": sheet["version"], "rows": rows}
    )
    assert saved.status_code == 200, saved.text
    sheet = saved.json()["sheet"]
    assert isinstance(sheet, dict)
    return sheet


def chosen(*sheets: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"sheet_id": s["id"], "expected_version": s["version"]} for s in sheets]


async def test_preview_lists_own_sheets_ready_or_with_the_students_missing_scores(
    grades: GradesHarness,
) -> None:
    teacher, colleague = uuid.uuid4(), uuid.uuid4()
    ready = await class_sheet(grades, teacher, complete=3)
    partial = await class_sheet(grades, teacher, complete=1)
    theirs = await class_sheet(grades, colleague, complete=3)

    preview = await grades.client.get("/sheets/ready-to-sign", headers=grades.headers(teacher))
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert [(r["sheet"]["id"], r["students"], r["reason"]) for r in body["ready"]] == [(ready["id"], 3, None)]
    not_ready = {r["sheet"]["id"]: r for r in body["not_ready"]}
    assert theirs["id"] not in not_ready  # a colleague's sheet is never listed
    gap = not_ready[partial["id"]]
    assert gap["code"] == "missing_scores"
    assert sorted(m["full_name"] for m in gap["missing"]) == ["Lê Minh Châu", "Trần Thị Bình"]
    assert "còn 2 học sinh thiếu điểm" in gap["reason"]
    # The HK2 sheets (nothing entered yet) are listed as not ready too, never as ready.
    assert all(r["code"] == "missing_scores" for r in body["not_ready"])


async def test_one_bad_sheet_refuses_the_whole_batch_naming_it(grades: GradesHarness) -> None:
    teacher, colleague = uuid.uuid4(), uuid.uuid4()
    first = await class_sheet(grades, teacher, complete=3)
    partial = await class_sheet(grades, teacher, complete=2)
    theirs = await class_sheet(grades, colleague, complete=3)
    me, board = grades.headers(teacher), grades.headers(uuid.uuid4(), roles=("vice_principal",))
    activation = str(uuid.uuid4())

    async def sign(headers: dict[str, str], sheets: list[dict[str, Any]]) -> Any:
        return await grades.client.post(
            "/sheets/sign", headers=headers, json={"sheets": sheets, "activation_id": activation}
        )

    other = await sign(me, chosen(first, theirs))
    assert (other.status_code, other.json()["field"]) == (404, "sheets[1].sheet_id")
    assert theirs["id"] in other.json()["title"]
    gap = await sign(me, chosen(first, partial))
    assert (gap.status_code, gap.json()["field"]) == (422, "sheets[1]")
    assert [m["full_name"] for m in gap.json()["missing"]] == ["Lê Minh Châu"]
    assert "Vật lí lớp" in gap.json()["title"]
    stale = await sign(me, [{"sheet_id": first["id"], "expected_version": first["version"] + 5}])
    assert (stale.status_code, stale.json()["field"]) == (409, "sheets[0].expected_version")
    twice = await sign(me, chosen(first, first))
    assert (twice.status_code, twice.json()["field"]) == (422, "sheets[1].sheet_id")
    # The board reads every sheet but signs none of a teacher's.
    overseer = await sign(board, chosen(theirs))
    assert (overseer.status_code, overseer.json()["field"]) == (403, "sheets[0].sheet_id")
    # Nothing was half-done: the first sheet is still open at the version the teacher saw.
    still = (await grades.client.get(f"/sheets/{first['id']}", headers=me)).json()
    assert (still["state"], still["version"]) == ("open", first["version"])


async def test_every_ready_sheet_is_asked_under_one_activation(grades: GradesHarness) -> None:
    teacher = uuid.uuid4()
    sheets = [await class_sheet(grades, teacher, complete=3) for _ in range(3)]
    me = grades.headers(teacher, name="Đinh Văn Lý")
    submitted = await grades.client.post(
        f"/sheets/{sheets[2]['id']}/submit", headers=me, json={"expected_version": sheets[2]["version"]}
    )
    sheets[2] = submitted.json()  # one already submitted, two still open: all three are ready
    activation = str(uuid.uuid4())

    started = await grades.client.post(
        "/sheets/sign", headers=me, json={"sheets": chosen(*sheets), "activation_id": activation}
    )
    assert started.status_code == 202, started.text
    batch = started.json()
    assert (batch["counts"], batch["done"]) == ({"signing": 3}, False)
    db = grades.app.state.runtime.db
    async with db.transaction() as session:
        bodies = (await session.execute(select(outbox.c.body).order_by(outbox.c.id))).scalars().all()
    asked = {
        b["payload"]["sheet"]["sheet_id"]: b["payload"]["activation_id"]
        for b in bodies
        if b["type"] == "grades.sheet.signing_requested"
    }
    assert {s["id"]: asked.get(s["id"]) for s in sheets} == {s["id"]: activation for s in sheets}

    progress = await grades.client.get(f"/sheets/batches/{batch['batch_id']}", headers=me)
    assert sorted(s["id"] for s in progress.json()["sheets"]) == sorted(s["id"] for s in sheets)
    stranger = await grades.client.get(
        f"/sheets/batches/{batch['batch_id']}", headers=grades.headers(uuid.uuid4())
    )
    assert stranger.status_code == 404
    again = await grades.client.get("/sheets/ready-to-sign", headers=me)
    assert not again.json()["ready"]
    assert {r["sheet"]["id"] for r in again.json()["not_ready"] if r["code"] == "state"} == {
        s["id"] for s in sheets
    }
