"""Time windows (Đ5) and the compliance report (Đ10) through grades' HTTP API on a real database:
the board sets the windows; a step outside its window is refused naming it; an extension for one
teacher or class lets the work be done; the report counts it late from the school's closing day,
with returns and corrections. Signing's replies are fed through grades' real consumer."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import openpyxl
import pytest

from hbs_grades.windows.rules import SCHOOL_TZ

from .conftest import YEAR, GradesHarness, verify_class
from .test_records import ClassUnderTest

pytestmark = [pytest.mark.db, pytest.mark.broker]


def today() -> date:
    return datetime.now(SCHOOL_TZ).date()


def dmy(value: date) -> str:
    return value.strftime("%d/%m/%Y")


async def put_windows(h: GradesHarness, headers: dict[str, str], *windows: dict[str, Any]) -> Any:
    return await h.client.put(
        "/windows", headers=headers, json={"school_year": YEAR, "windows": list(windows)}
    )


async def report_row(
    klass: ClassUnderTest, person: uuid.UUID | None, step: int, period: str, **where: Any
) -> dict[str, Any]:
    got = await klass.h.client.get("/compliance", headers=klass.as_vice())
    assert got.status_code == 200, got.text
    rows = [
        r
        for r in got.json()["rows"]
        if r["person_id"] == (str(person) if person else None) and r["step"] == step and r["period"] == period
    ]
    assert len(rows) == 1, got.json()["rows"]
    return dict(rows[0])


def hours_since_deadline(closes_on: date) -> float:
    deadline = datetime.combine(closes_on + timedelta(days=1), datetime.min.time(), SCHOOL_TZ)
    return (datetime.now(SCHOOL_TZ) - deadline).total_seconds() / 3600


@pytest.fixture(scope="module")
async def klass(grades: GradesHarness) -> ClassUnderTest:
    c = ClassUnderTest(grades)
    await c.setup()
    return c


async def test_only_the_board_sets_windows_and_bad_ones_are_refused_naming_the_field(
    klass: ClassUnderTest,
) -> None:
    h = klass.h
    window = {"period": "HK2", "step": 0, "opens_on": "2027-01-18", "closes_on": "2027-05-20"}
    assert (await put_windows(h, klass.as_teacher(), window)).status_code == 403
    wrong_period = await put_windows(h, klass.as_vice(), {**window, "step": 2})
    assert wrong_period.status_code == 422
    assert wrong_period.json()["field"] == "windows[0].period"
    backwards = await put_windows(h, klass.as_vice(), {**window, "closes_on": "2027-01-01"})
    assert backwards.status_code == 422
    assert backwards.json()["field"] == "windows[0].closes_on"
    assert "01/01/2027" in backwards.json()["title"]
    half = await put_windows(h, klass.as_vice(), {**window, "closes_on": None})
    assert half.status_code == 422
    assert half.json()["field"] == "windows[0].closes_on"
    # Nothing was stored by the refused calls.
    listed = await h.client.get("/windows", headers=klass.as_teacher())
    assert listed.status_code == 200
    assert listed.json()["windows"] == []
    assert (
        await h.client.get("/windows", headers=h.headers(uuid.uuid4(), "PH", ("parent",)))
    ).status_code == 403


async def test_entry_before_its_window_opens_is_refused_and_a_removed_window_is_open(
    klass: ClassUnderTest,
) -> None:
    h = klass.h
    opens = today() + timedelta(days=3)
    later = {
        "period": "HK1",
        "step": 0,
        "opens_on": opens.isoformat(),
        "closes_on": (opens + timedelta(days=9)).isoformat(),
    }
    set_ = await put_windows(h, klass.as_head(), later)
    assert set_.status_code == 200, set_.text
    [shown] = set_.json()["windows"]
    assert shown["state"] == "not_open"
    assert shown["set_by_name"] == "Hiệu Trưởng"
    sheet = next(s for s in await klass.sheets() if s["term"] == "HK1" and s["subject_code"] == "TOAN")
    rows = [{"student_id": str(s), "midterm": "8"} for s in klass.students]
    refused = await h.client.put(
        f"/sheets/{sheet['id']}/scores",
        headers=klass.as_teacher(),
        json={"expected_version": sheet["version"], "rows": rows},
    )
    assert refused.status_code == 409
    assert refused.json()["title"] == (
        f"Hạn nhập điểm Học kỳ I: {dmy(opens)} – {dmy(opens + timedelta(days=9))} chưa mở"
    )
    assert refused.json()["field"] == "sheet_id"
    # The board member is refused as before (not the sheet's teacher), not by the window.
    board = await h.client.put(
        f"/sheets/{sheet['id']}/scores",
        headers=klass.as_vice(),
        json={"expected_version": sheet["version"], "rows": rows},
    )
    assert board.status_code in (403, 404)
    removed = await put_windows(h, klass.as_vice(), {"period": "HK1", "step": 0})
    assert removed.json()["windows"] == []


async def test_a_closed_signing_window_refuses_then_an_extension_lets_the_teacher_sign_late(
    klass: ClassUnderTest,
) -> None:
    h = klass.h
    closes = today() - timedelta(days=3)
    closed = {
        "period": "HK1",
        "step": 1,
        "opens_on": (closes - timedelta(days=30)).isoformat(),
        "closes_on": closes.isoformat(),
    }
    entry = {
        "period": "HK1",
        "step": 0,
        "opens_on": (closes - timedelta(days=30)).isoformat(),
        "closes_on": (today() + timedelta(days=5)).isoformat(),
    }
    assert (await put_windows(h, klass.as_vice(), closed, entry)).status_code == 200
    label = f"Hạn ký sổ điểm Học kỳ I: {dmy(closes - timedelta(days=30))} – {dmy(closes)}"
    hk1 = [s for s in await klass.sheets() if s["term"] == "HK1"]
    with pytest.raises(AssertionError) as caught:
        await klass.fill_and_request(hk1[0], "8")  # entry is open; the submission is refused
    assert f"{label} đã đóng" in str(caught.value)

    extension = {
        "school_year": YEAR,
        "period": "HK1",
        "step": 1,
        "teacher_id": str(klass.teacher),
        "closes_on": (today() + timedelta(days=2)).isoformat(),
        "reason": "Giáo viên ốm, có giấy của bệnh viện",
    }
    by_teacher = await h.client.post("/windows/extensions", headers=klass.as_teacher(), json=extension)
    assert by_teacher.status_code == 403
    no_reason = await h.client.post(
        "/windows/extensions", headers=klass.as_vice(), json={**extension, "reason": "  "}
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "reason"
    both = await h.client.post(
        "/windows/extensions", headers=klass.as_vice(), json={**extension, "class_name": klass.class_name}
    )
    assert both.status_code == 422
    too_early = await h.client.post(
        "/windows/extensions", headers=klass.as_vice(), json={**extension, "closes_on": closes.isoformat()}
    )
    assert too_early.status_code == 422
    assert too_early.json()["field"] == "closes_on"
    no_window = await h.client.post(
        "/windows/extensions", headers=klass.as_vice(), json={**extension, "period": "HK2"}
    )
    assert no_window.status_code == 422
    assert no_window.json()["field"] == "step"
    granted = await h.client.post("/windows/extensions", headers=klass.as_vice(), json=extension)
    assert granted.status_code == 201, granted.text
    assert granted.json()["teacher_name"] == "Trần Văn Toán"
    assert granted.json()["granted_by_name"] == "Phó Hiệu Trưởng"
    # Đ9.2: the extension is in the audit trail, with the names and the reason.
    trail = await h.client.get("/audit", headers=klass.as_head(), params={"action": "window_extended"})
    assert trail.status_code == 200, trail.text
    [entry] = [e for e in trail.json()["entries"] if e["subject_id"] == granted.json()["id"]]
    assert entry["actor_name"] == "Phó Hiệu Trưởng"
    assert entry["details"]["teacher_name"] == "Trần Văn Toán"
    assert entry["details"]["reason"] == "Giáo viên ốm, có giấy của bệnh viện"
    assert entry["details"]["window"] == "Hạn ký sổ điểm Học kỳ I"
    set_ = await h.client.get("/audit", headers=klass.as_head(), params={"action": "window_set"})
    assert any(e["details"].get("closes_on") == closes.isoformat() for e in set_.json()["entries"])
    listed = (await h.client.get("/windows/extensions", headers=klass.as_head())).json()
    assert [e["reason"] for e in listed] == ["Giáo viên ốm, có giấy của bệnh viện"]
    assert (await h.client.get("/windows/extensions", headers=klass.as_teacher())).status_code == 403

    for sheet in hk1:
        current = (await h.client.get(f"/sheets/{sheet['id']}", headers=klass.as_teacher())).json()
        await klass.fill_and_sign(current, "8")

    row = await report_row(klass, klass.teacher, 1, "HK1")
    assert (row["items"], row["on_time"], row["late"], row["open_late"], row["extended"]) == (2, 0, 2, 0, 2)
    expected = hours_since_deadline(closes)
    assert abs(row["late_max_hours"] - expected) < 0.2
    assert abs(row["late_total_hours"] - 2 * expected) < 0.4
    assert row["late_max_text"].startswith("2 ngày")
    entry_row = await report_row(klass, klass.teacher, 0, "HK1")
    assert (entry_row["items"], entry_row["on_time"], entry_row["late"]) == (2, 2, 0)


async def test_records_outside_the_year_window_wait_for_a_class_extension_and_returns_count(
    klass: ClassUnderTest,
) -> None:
    h = klass.h
    for sheet in [s for s in await klass.sheets() if s["term"] == "HK2"]:
        await klass.fill_and_sign(sheet, "9")
    await klass.set_conduct()
    closes = today() - timedelta(days=1)
    step2 = {
        "period": "year",
        "step": 2,
        "opens_on": (closes - timedelta(days=10)).isoformat(),
        "closes_on": closes.isoformat(),
    }
    assert (await put_windows(h, klass.as_vice(), step2)).status_code == 200
    refused = await klass.sign("homeroom", klass.as_homeroom())
    assert refused.status_code == 409
    assert refused.json()["field"] == "class_names"
    assert refused.json()["title"].startswith(f"Hạn GVCN ký học bạ năm học {YEAR}: ")
    board_step = await h.client.post(
        "/windows/extensions",
        headers=klass.as_head(),
        json={
            "school_year": YEAR,
            "period": "year",
            "step": 3,
            "teacher_id": str(klass.vice),
            "closes_on": (today() + timedelta(days=1)).isoformat(),
            "reason": "Đi công tác",
        },
    )
    assert board_step.status_code == 422
    assert board_step.json()["field"] == "teacher_id"
    granted = await h.client.post(
        "/windows/extensions",
        headers=klass.as_head(),
        json={
            "school_year": YEAR,
            "period": "year",
            "step": 2,
            "class_name": klass.class_name,
            "closes_on": (today() + timedelta(days=1)).isoformat(),
            "reason": "Lớp đi thi học sinh giỏi",
        },
    )
    assert granted.status_code == 201, granted.text
    await verify_class(h, klass.class_name, klass.as_homeroom())  # Đ6.1 before step 2
    signed = await klass.sign("homeroom", klass.as_homeroom())
    assert signed.status_code == 202, signed.text
    await klass.complete_records(klass.homeroom, "homeroom_teacher")
    record = (await klass.records())["records"][0]
    back = await h.client.post(
        f"/records/{record['id']}/return", headers=klass.as_vice(), json={"reason": "Sai ngày sinh"}
    )
    assert back.status_code == 200, back.text

    row = await report_row(klass, klass.homeroom, 2, "year")
    assert (row["items"], row["late"], row["returned"], row["extended"]) == (2, 2, 1, 2)
    assert abs(row["late_max_hours"] - hours_since_deadline(closes)) < 0.2
    # The other record waits for the vice-principal's review: no window, not late.
    review = await report_row(klass, None, 3, "year")
    assert review["pending"] >= 1
    assert review["open_late"] == 0


async def test_a_correction_counts_against_the_signer_and_is_not_held_by_the_window(
    klass: ClassUnderTest,
) -> None:
    h = klass.h
    sheet = next(s for s in await klass.sheets() if s["term"] == "HK1" and s["subject_code"] == "TOAN")
    # Entry closes for everyone: the correction under the board's minutes still goes through.
    past = today() - timedelta(days=2)
    entry = {
        "period": "HK1",
        "step": 0,
        "opens_on": (past - timedelta(days=30)).isoformat(),
        "closes_on": past.isoformat(),
    }
    assert (await put_windows(h, klass.as_vice(), entry)).status_code == 200
    opened = await h.client.post(
        f"/sheets/{sheet['id']}/corrections",
        headers=klass.as_head(),
        json={
            "expected_version": sheet["version"],
            "minutes_number": "07/BB-THPT",
            "minutes_date": today().isoformat(),
            "reason": "Nhập nhầm điểm giữa kỳ",
            "present": ["Hiệu trưởng", "Trần Văn Toán – giáo viên bộ môn"],
            "cells": [{"student_id": str(klass.students[0]), "column": "midterm"}],
        },
    )
    assert opened.status_code == 201, opened.text
    saved = await h.client.put(
        f"/sheets/{sheet['id']}/scores",
        headers=klass.as_teacher(),
        json={
            "expected_version": opened.json()["version"],
            "rows": [{"student_id": str(klass.students[0]), "midterm": "9.5"}],
            "reason": "Theo biên bản 07/BB-THPT",
        },
    )
    assert saved.status_code == 200, saved.text
    row = await report_row(klass, klass.teacher, 1, "HK1")
    assert row["corrections"] == 1
    assert row["late"] == 2  # the first signature counts, not the one after the correction

    download = await h.client.get("/compliance/xlsx", headers=klass.as_head())
    assert download.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(download.content))
    sheet_rows = list(book.active.iter_rows(min_row=4, values_only=True))
    mine = [r for r in sheet_rows if r[1] == "Trần Văn Toán" and r[3] == "Học kỳ I" and r[2] == "Ký sổ điểm"]
    assert len(mine) == 1
    assert mine[0][6] == 2
    assert mine[0][11] == 1
    assert isinstance(mine[0][12], int | float)  # a number, not text
    assert (await h.client.get("/compliance", headers=klass.as_teacher())).status_code == 403
    assert (await h.client.get("/compliance/xlsx", headers=klass.as_homeroom())).status_code == 403


async def test_a_teacher_reads_their_own_deadlines_with_their_classs_extension(klass: ClassUnderTest) -> None:
    h = klass.h
    start = (today() - timedelta(days=30)).isoformat()
    windows = [
        {
            "period": "HK2",
            "step": 0,
            "opens_on": start,
            "closes_on": (today() + timedelta(days=5)).isoformat(),
        },
        {
            "period": "HK2",
            "step": 1,
            "opens_on": start,
            "closes_on": (today() - timedelta(days=3)).isoformat(),
        },
        {
            "period": "year",
            "step": 2,
            "opens_on": start,
            "closes_on": (today() - timedelta(days=2)).isoformat(),
        },
    ]
    assert (await put_windows(h, klass.as_vice(), *windows)).status_code == 200
    for step, period, days in ((1, "HK2", 2), (2, "year", 4)):
        granted = await h.client.post(
            "/windows/extensions",
            headers=klass.as_head(),
            json={
                "school_year": YEAR,
                "period": period,
                "step": step,
                "class_name": klass.class_name,
                "closes_on": (today() + timedelta(days=days)).isoformat(),
                "reason": "Lớp đi tham quan",
            },
        )
        assert granted.status_code == 201, granted.text

    mine = await h.client.get("/windows/mine", headers=klass.as_teacher())
    assert mine.status_code == 200, mine.text
    hk2 = [(d["step"], d["class_name"], d["text"]) for d in mine.json()["deadlines"] if d["period"] == "HK2"]
    assert hk2 == [
        (0, None, "còn 5 ngày"),
        (1, None, "đã quá hạn 3 ngày"),
        (1, klass.class_name, "còn 2 ngày"),
    ]
    assert all(d["step"] in (0, 1) for d in mine.json()["deadlines"])  # not the homeroom's step 2

    homeroom = (await h.client.get("/windows/mine", headers=klass.as_homeroom())).json()["deadlines"]
    [step2] = [d for d in homeroom if d["step"] == 2]
    assert (step2["class_name"], step2["text"], step2["extended"]) == (klass.class_name, "còn 4 ngày", True)
    assert step2["extension_reason"] == "Lớp đi tham quan"
    assert step2["school_closes_on"] == (today() - timedelta(days=2)).isoformat()
    assert step2["label"].endswith(f"gia hạn đến {dmy(today() + timedelta(days=4))}")
    parent = h.headers(uuid.uuid4(), "PH", ("parent",))
    assert (await h.client.get("/windows/mine", headers=parent)).status_code == 403
    # The windows stay as other tests of this module left them only for this module's app.
    await put_windows(h, klass.as_vice(), *({k: w[k] for k in ("period", "step")} for w in windows))


async def test_the_compliance_report_filters_and_groups_by_department_and_excel_follows(
    klass: ClassUnderTest,
) -> None:
    h = klass.h

    async def report(**params: Any) -> dict[str, Any]:
        got = await h.client.get("/compliance", headers=klass.as_vice(), params=params)
        assert got.status_code == 200, got.text
        return dict(got.json())

    def items(rows: list[dict[str, Any]], name: str, step: int = 1) -> int:
        return sum(r["items"] for r in rows if r["person_name"] == name and r["step"] == step)

    everything = await report()
    toan, gdtc = "Tổ Toán – Tin", "Tổ Thể chất – Nghệ thuật – Quốc phòng"
    assert {toan, gdtc, "Học bạ (GVCN, Ban Giám hiệu)"} <= set(everything["departments"])
    teacher_all = items(everything["rows"], "Trần Văn Toán")
    by_dept = await report(group_by="department", term="HK1", step=1)
    assert {toan, gdtc} <= {r["person_name"] for r in by_dept["rows"]}  # this class's two subjects
    assert {(r["step"], r["period"]) for r in by_dept["rows"]} == {(1, "HK1")}
    hk1 = [r for r in everything["rows"] if r["period"] == "HK1"]
    # Grouping keeps the totals: every HK1 step-1 item is under exactly one department.
    assert sum(r["items"] for r in by_dept["rows"]) == sum(r["items"] for r in hk1 if r["step"] == 1)
    one_dept = await report(department=toan, term="HK1", teacher_id=str(klass.teacher))
    assert {r["step"] for r in one_dept["rows"]} == {0, 1}
    assert items(one_dept["rows"], "Trần Văn Toán") == 1
    assert items(hk1, "Trần Văn Toán") == 2  # Toán and GDTC, before the department filter
    assert teacher_all > items(hk1, "Trần Văn Toán")  # and HK2 too, before the semester filter
    homeroom = await report(teacher_id=str(klass.homeroom))
    assert homeroom["rows"]
    assert {(r["person_id"], r["step"]) for r in homeroom["rows"]} == {(str(klass.homeroom), 2)}
    assert [p["name"] for p in everything["people"]].count("Trần Văn Toán") == 1

    bad = await h.client.get("/compliance", headers=klass.as_vice(), params={"department": "Tổ Bơi lội"})
    assert (bad.status_code, bad.json()["field"]) == (422, "department")
    assert (await h.client.get("/compliance", headers=klass.as_vice(), params={"step": 7})).status_code == 422

    grouped = {"group_by": "department", "term": "HK1", "step": 1}
    download = await h.client.get("/compliance/xlsx", headers=klass.as_vice(), params=grouped)
    assert download.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(download.content)).active
    assert sheet.cell(2, 1).value == "Lọc: Học kỳ I; Ký sổ điểm"
    assert sheet.cell(3, 2).value == "Tổ chuyên môn"
    assert sorted(r[1] for r in sheet.iter_rows(min_row=4, values_only=True)) == sorted(
        r["person_name"] for r in by_dept["rows"]
    )
