"""Time windows (Đ5) and the compliance report (Đ10) through the whole system, as the board and a
teacher use the portal: the vice-principal closes step 1's window, the teacher's signature is
refused naming it, the vice-principal extends it for that teacher with a reason, the teacher
signs, and the principal's compliance report (page and Excel) counts the sheet late by the time
since the school's closing day. The window is removed at the end: the stack is shared."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest

from hbs_devtools.drive import SIGNING_PIN, SystemClient, sign_in_portal

from .factories import SchoolClass, SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm, pytest.mark.timeout(300)]
VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    made = school.school_class(students=2, subjects=("TOAN",))
    return made


@contextlib.contextmanager
def portal(system: SystemClient, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.stack.url("portal"), timeout=60) as browser:
        signed_in = sign_in_portal(browser, username, password_of(username))
        assert signed_in.status_code == 303, signed_in.text
        yield browser


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def dmy(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def test_a_late_teacher_is_refused_extended_signs_and_is_counted_late(
    system: SystemClient, school: SchoolFactory, klass: SchoolClass
) -> None:
    teacher = klass.teachers["TOAN"]
    token = system.token(teacher.username)
    sheet = next(s for s in system.sheets(token) if s["class_name"] == klass.name and s["term"] == "HK1")
    sheet = school.fill_scores(teacher, sheet["id"])["sheet"]
    system.ensure_pin(token)
    today = datetime.now(VN).date()
    opens, closes = today - timedelta(days=30), today - timedelta(days=3)
    try:
        with portal(system, "phohieutruong") as vice:
            page = vice.get("/oversight/windows").text
            assert '<a href="/oversight/windows">Thời hạn</a>' in page
            assert f"Thời hạn năm học {klass.school_year}" in page
            saved = vice.post(
                "/oversight/windows",
                data={
                    "csrf": csrf_of(page),
                    "slot": "HK1:1",
                    "opens_on": opens.isoformat(),
                    "closes_on": closes.isoformat(),
                },
            )
            assert saved.status_code == 303, saved.text
            shown = vice.get(saved.headers["location"]).text
            assert "Đã lưu thời hạn." in shown
            assert f"{dmy(opens)} – {dmy(closes)}" in shown
            half = vice.post(
                "/oversight/windows",
                data={"csrf": csrf_of(page), "slot": "HK1:0", "opens_on": opens.isoformat()},
            )
            assert half.status_code == 422
            assert "Cần nhập cả ngày mở và ngày đóng" in half.text

        label = f"Hạn ký sổ điểm Học kỳ I: {dmy(opens)} – {dmy(closes)} đã đóng"
        with portal(system, teacher.username) as browser:
            assert browser.get("/oversight/windows").status_code == 403
            form = {
                "csrf": csrf_of(browser.get("/sheets").text),
                "version": str(sheet["version"]),
                "pin": SIGNING_PIN,
            }
            refused = browser.post(f"/sheets/{sheet['id']}/sign", data=form)
            assert refused.status_code == 409
            assert label in refused.text
        with system.client("grades", token) as grades:
            assert grades.get(f"/sheets/{sheet['id']}").json()["state"] == "open"

        with portal(system, "phohieutruong") as vice:
            page = vice.get("/oversight/windows").text
            extension = {
                "csrf": csrf_of(page),
                "slot": "HK1:1",
                "who": "teacher",
                "teacher_id": teacher.id,
                "closes_on": (today + timedelta(days=2)).isoformat(),
                "reason": "",
            }
            no_reason = vice.post("/oversight/windows/extensions", data=extension)
            assert no_reason.status_code == 422
            assert "Lý do gia hạn" in no_reason.text
            granted = vice.post(
                "/oversight/windows/extensions",
                data={**extension, "reason": "Giáo viên nằm viện, có giấy ra viện"},
            )
            assert granted.status_code == 303, granted.text
            listed = vice.get(granted.headers["location"]).text
            assert "Đã gia hạn." in listed
            assert teacher.full_name in listed
            assert "Giáo viên nằm viện, có giấy ra viện" in listed
            assert dmy(today + timedelta(days=2)) in listed

        with portal(system, teacher.username) as browser:
            form["csrf"] = csrf_of(browser.get("/sheets").text)
            signed = browser.post(f"/sheets/{sheet['id']}/sign", data=form)
            assert signed.status_code == 303, signed.text
        system.wait_for_state(token, sheet["id"], "signed")

        # Late from the school's closing day (its end, Vietnam time), not from the extension.
        deadline = datetime.combine(closes + timedelta(days=1), datetime.min.time(), VN)
        expected_hours = (datetime.now(VN) - deadline).total_seconds() / 3600
        with system.client("grades", system.token("hieutruong")) as grades:
            report = grades.get("/compliance").json()
        [row] = [
            r
            for r in report["rows"]
            if r["person_id"] == teacher.id and r["step"] == 1 and r["period"] == "HK1"
        ]
        assert (row["items"], row["on_time"], row["late"], row["open_late"], row["extended"]) == (
            1,
            0,
            1,
            0,
            1,
        )
        assert abs(row["late_max_hours"] - expected_hours) < 0.3

        with portal(system, "hieutruong") as head:
            page = head.get("/oversight/compliance").text
            assert '<a href="/oversight/compliance">Chấp hành thời hạn</a>' in page
            line = re.search(
                rf"<td>{re.escape(teacher.full_name)}</td>"
                r"<td>Ký sổ điểm \(bước 1\)</td><td>Học kỳ I</td>(.*?)</tr>",
                page,
                re.S,
            )
            assert line is not None, page
            assert f"<td>{row['late_max_text']}</td>" in line.group(1)
            assert row["late_max_text"].startswith(f"{int(expected_hours // 24)} ngày")
            workbook = head.get("/oversight/compliance.xlsx")
            assert workbook.status_code == 200
            rows = list(
                openpyxl.load_workbook(io.BytesIO(workbook.content)).active.iter_rows(
                    min_row=4, values_only=True
                )
            )
            [mine] = [
                r for r in rows if r[1] == teacher.full_name and r[2] == "Ký sổ điểm" and r[3] == "Học kỳ I"
            ]
            assert mine[6] == 1
            assert isinstance(mine[12], int | float)  # a number (69.0 reads back as 69)
            assert abs(mine[12] - expected_hours) < 0.3
    finally:
        with system.client("grades", system.token("phohieutruong")) as grades:
            removed = grades.put(
                "/windows", json={"school_year": klass.school_year, "windows": [{"period": "HK1", "step": 1}]}
            )
            assert removed.status_code == 200, removed.text
