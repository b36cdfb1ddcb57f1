"""Grades' audit trail (issue 11, Đ9.2): every workflow action is an entry, with names, in the
action's own transaction; the board and the office read it; editing one row with SQL makes the
verification command (a real subprocess) fail naming that row."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from hbs_grades.audit import LAYOUT
from hbs_grades.models import YearRecord
from hbs_shared.audit.actions import GRADES_ACTION_LABELS, GradesAction
from hbs_shared.audit.store import audit_trail
from hbs_shared.events.contracts import SigningFailedV2
from hbs_shared.messaging.tables import outbox

from .conftest import GradesHarness
from .test_records import ClassUnderTest, completed

pytestmark = [pytest.mark.db, pytest.mark.broker]


def test_every_action_has_a_vietnamese_label() -> None:
    assert set(GRADES_ACTION_LABELS) == set(GradesAction)
    assert all(label and not label.isascii() for label in GRADES_ACTION_LABELS.values())


async def trail(h: GradesHarness, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    answered = await h.client.get("/audit", headers=headers, params={"limit": 1000, **params})
    assert answered.status_code == 200, answered.text
    return dict(answered.json())


def verify_command(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hbs_grades.audit", "verify", "--url", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_workflow_goes_to_the_trail_and_an_edited_row_is_named(grades: GradesHarness) -> None:
    klass = ClassUnderTest(grades)
    await klass.setup()
    h, me = grades, klass.as_teacher()
    sheets = await klass.sheets()
    toan = next(s for s in sheets if s["subject"] == "Toán" and s["term"] == "HK1")

    # A change after submission needs a reason and goes to the trail with its cells.
    rows = [{"student_id": str(s), "regular": ["8"] * toan["regular_count"], "midterm": "8", "final": "8"}
            for s in klass.students]  # fmt: skip
    saved = await h.client.put(
        f"/sheets/{toan['id']}/scores", headers=me, json={"expected_version": toan["version"], "rows": rows}
    )
    assert saved.status_code == 200, saved.text
    version = (await h.client.get(f"/sheets/{toan['id']}", headers=me)).json()["version"]
    submitted = await h.client.post(
        f"/sheets/{toan['id']}/submit", headers=me, json={"expected_version": version}
    )
    assert submitted.status_code == 200, submitted.text
    late = {"student_id": str(klass.students[0]), "final": "8.5"}
    changed = await h.client.put(
        f"/sheets/{toan['id']}/scores",
        headers=me,
        json={"expected_version": submitted.json()["version"], "rows": [late], "reason": "Chấm phúc khảo"},
    )
    assert changed.status_code == 200, changed.text
    asked = await h.client.post(
        f"/sheets/{toan['id']}/sign",
        headers=me,
        json={"expected_version": changed.json()["sheet"]["version"], "activation_id": str(uuid.uuid4())},
    )
    assert asked.status_code == 202, asked.text
    await klass.complete_sheet(toan["id"])
    for sheet in sheets:
        if sheet["id"] != toan["id"]:
            await klass.fill_and_sign(sheet, "9")
    await klass.set_conduct()
    await klass.verify_students()  # Đ6.1: step 2 waits for the homeroom teacher's check

    # Step 2 for the class, one signature failing.
    assert (await klass.sign("homeroom", klass.as_homeroom())).status_code == 202
    async with h.app.state.runtime.db.transaction() as session:
        waiting = (
            (await session.execute(select(YearRecord).where(YearRecord.class_name == klass.class_name)))
            .scalars()
            .all()
        )
    first, second = sorted(waiting, key=lambda r: str(r.student_id) != str(klass.students[0]))
    assert first.request_id is not None
    assert second.request_id is not None
    await h.feed(completed(first.request_id, first.id, klass.homeroom, "homeroom_teacher"))
    await h.feed(
        SigningFailedV2(
            request_id=second.request_id,
            subject_id=second.id,
            subject_kind="record",
            signer_user_id=klass.homeroom,
            reason="Chứng thư số đã hết hạn",
            failed_at=datetime.now(UTC),
        )
    )
    # The board opens a correction of a signed sheet; the teacher corrects and signs it again.
    signed = (await h.client.get(f"/sheets/{toan['id']}", headers=me)).json()
    opened = await h.client.post(
        f"/sheets/{toan['id']}/corrections",
        headers=klass.as_head(),
        json={
            "expected_version": signed["version"],
            "minutes_number": "07/BB-THPT",
            "minutes_date": date.today().isoformat(),
            "reason": "Nhập nhầm điểm cuối kỳ",
            "present": ["Hiệu Trưởng – Hiệu trưởng", "Trần Văn Toán – giáo viên bộ môn"],
            "cells": [{"student_id": str(klass.students[1]), "column": "final"}],
        },
    )
    assert opened.status_code == 201, opened.text
    reopened = (await h.client.get(f"/sheets/{toan['id']}", headers=me)).json()
    fixed = await h.client.put(
        f"/sheets/{toan['id']}/scores",
        headers=me,
        json={
            "expected_version": reopened["version"],
            "rows": [{"student_id": str(klass.students[1]), "final": "7"}],
        },
    )
    assert fixed.status_code == 200, fixed.text
    # The minutes are signed by the board member who opened the correction before the sheet again.
    [correction] = (await h.client.get(f"/sheets/{toan['id']}/corrections", headers=me)).json()
    asked = await h.client.post(
        f"/sheets/{toan['id']}/corrections/{correction['id']}/minutes/sign",
        headers=klass.as_head(),
        json={"activation_id": str(uuid.uuid4())},
    )
    assert asked.status_code == 202, asked.text
    async with h.app.state.runtime.db.transaction() as session:
        bodies = (await session.execute(select(outbox.c.body).order_by(outbox.c.id))).scalars().all()
    [request_id] = [
        b["payload"]["request_id"]
        for b in bodies
        if b["type"] == "grades.sheet.minutes_signing_requested"
        and b["payload"]["minutes"]["correction_id"] == correction["id"]
    ]
    reply = completed(uuid.UUID(request_id), uuid.UUID(correction["id"]), klass.head, "principal")
    await h.feed(reply.model_copy(update={"subject_kind": "minutes"}))
    version = (await h.client.get(f"/sheets/{toan['id']}", headers=me)).json()["version"]
    submitted = await h.client.post(
        f"/sheets/{toan['id']}/submit", headers=me, json={"expected_version": version}
    )
    assert submitted.status_code == 200, submitted.text
    again = await h.client.post(
        f"/sheets/{toan['id']}/sign",
        headers=me,
        json={"expected_version": submitted.json()["version"], "activation_id": str(uuid.uuid4())},
    )
    assert again.status_code == 202, again.text
    await klass.complete_sheet(toan["id"])

    # Step 2 again for the class; the vice-principal returns one record to the homeroom teacher.
    assert (await klass.sign("homeroom", klass.as_homeroom())).status_code == 202
    await klass.complete_records(klass.homeroom, "homeroom_teacher")
    returned = await h.client.post(
        f"/records/{first.id}/return", headers=klass.as_vice(), json={"reason": "Nhận xét chưa đủ"}
    )
    assert returned.status_code == 200, returned.text

    # What the principal reads: each action, who did it by name, what it was on by name.
    board = klass.as_head()
    mine = [
        e for e in (await trail(h, board))["entries"] if e["details"].get("class_name") == klass.class_name
    ]
    actions = [e["action"] for e in reversed(mine)]
    assert actions.count("sheet_submitted") == 5  # four sheets, Toán HK1 twice (after its correction)
    assert actions.count("sheet_signed") == 5
    assert actions.count("sheet_signing_requested") == 5
    for expected in (
        "scores_changed",
        "record_signing_requested",
        "record_signed",
        "record_signing_failed",
        "record_returned",
        "correction_opened",
        "record_reopened",
        "correction_closed",
    ):
        assert expected in actions, (expected, actions)
    late_change = next(e for e in mine if e["action"] == "scores_changed" and e["details"].get("reason"))
    assert late_change["actor_name"] == "Trần Văn Toán"
    assert late_change["details"]["subject"] == "Toán"
    assert late_change["details"]["term"] == "HK1"
    assert late_change["details"]["cells"] == [
        {
            "student_id": str(klass.students[0]),
            "student_name": "Phạm Thị Giỏi",
            "column": "final",
            "column_label": "ĐĐGck",
            "old": "8",
            "new": "8.5",
        }
    ]
    under_correction = [
        e for e in mine if e["action"] == "scores_changed" and e["details"].get("correction_id")
    ]
    assert [c["student_name"] for c in under_correction[-1]["details"]["cells"]] == ["Vũ Văn Khá"]
    record_signed = next(e for e in reversed(mine) if e["action"] == "record_signed")
    assert (
        record_signed["actor_name"],
        record_signed["details"]["student_name"],
        record_signed["details"]["step"],
    ) == (
        "Lê Thị Chủ Nhiệm",
        "Phạm Thị Giỏi",
        2,
    )
    failed = next(e for e in mine if e["action"] == "record_signing_failed")
    assert failed["details"]["reason"] == "Chứng thư số đã hết hạn"
    opened_entry = next(e for e in mine if e["action"] == "correction_opened")
    assert (opened_entry["actor_name"], opened_entry["details"]["minutes_number"]) == (
        "Hiệu Trưởng",
        "07/BB-THPT",
    )

    # Filters and paging; a teacher may not read the trail.
    only = await trail(h, board, action="record_returned")
    assert {e["action"] for e in only["entries"]} == {"record_returned"}
    assert only["total"] >= 1
    page = await trail(h, board, limit=3, offset=3)
    everything = await trail(h, board)
    assert [e["seq"] for e in page["entries"]] == [e["seq"] for e in everything["entries"][3:6]]
    assert page["total"] == everything["total"]
    assert (await h.client.get("/audit", headers=me)).status_code == 403
    assert (await h.client.get("/audit/verify", headers=me)).status_code == 403
    bad = await h.client.get("/audit", headers=board, params={"action": "sheet.deleted"})
    assert bad.status_code == 422
    far = await h.client.get("/audit", headers=board, params={"since": "0001-01-01T00:00:00+14:00"})
    assert far.status_code == 422
    assert far.json()["field"].endswith("since")

    # Intact, by the endpoint and by the command.
    status = (await h.client.get("/audit/verify", headers=board)).json()
    assert status["intact"]
    assert status["last_seq"] >= len(mine)
    url = h.app.state.runtime.db.url
    intact = verify_command(url)
    assert intact.returncode == 0, intact.stderr
    assert f"head {status['last_seq']}" in intact.stdout

    # Someone edits one entry in the database: the command fails naming it, and so does the page.
    async with h.app.state.runtime.db.transaction() as session:
        await session.execute(
            text("UPDATE audit_trail SET actor_name = 'Người khác' WHERE seq = :seq"),
            {"seq": late_change["seq"]},
        )
    broken = verify_command(url)
    assert broken.returncode == 1
    assert f"grades: audit chain BROKEN at seq {late_change['seq']} (edited)" in broken.stderr
    status = (await h.client.get("/audit/verify", headers=board)).json()
    assert (status["intact"], status["broken"]["seq"], status["broken"]["fault"]) == (
        False,
        late_change["seq"],
        "edited",
    )
    # Put back, the chain is whole again: the check compares content, not a flag.
    async with h.app.state.runtime.db.transaction() as session:
        await session.execute(
            text("UPDATE audit_trail SET actor_name = 'Trần Văn Toán' WHERE seq = :seq"),
            {"seq": late_change["seq"]},
        )
        rows = (await session.execute(select(audit_trail.c.seq).order_by(audit_trail.c.seq))).scalars().all()
    assert list(rows) == list(range(1, len(rows) + 1))
    assert verify_command(url).returncode == 0
    assert LAYOUT.service == "grades"
