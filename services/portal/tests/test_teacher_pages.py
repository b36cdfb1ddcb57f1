"""Pages every staff member shares: the reminder banner in the layout, their own deadlines."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest

from .conftest import GRADES, IDENTITY, SIGNING, Portal

pytestmark = pytest.mark.db

REMINDER = {
    "id": "5a1e0000-0000-4000-8000-000000000001",
    "sender_name": "Phó Hiệu trưởng Lê Thị Hoa",
    "created_at": "2026-12-02T02:30:00+00:00",
    "message": "Lớp 10A1 – Toán: sổ điểm chưa ký",
    "read_at": None,
}


async def test_a_staff_members_unread_reminders_show_on_every_page_with_one_call(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    portal.services.on("GET", f"{GRADES}/reminders/mine", [REMINDER])
    portal.services.on("GET", f"{SIGNING}/signing-pin", {"set": True, "locked": False})
    portal.services.on("POST", f"{GRADES}/reminders/.*/read", {})
    async with portal.browser() as browser:
        await portal.login(browser)
        before = len(portal.services.calls("GET", f"{GRADES}/reminders/mine"))
        page = await browser.get("/signing-pin")
        assert page.status_code == 200, page.text
        assert "Lớp 10A1 – Toán: sổ điểm chưa ký" in page.text
        assert "02/12/2026 09:30" in page.text  # Vietnam's time
        assert 'name="next" value="/signing-pin"' in page.text
        assert len(portal.services.calls("GET", f"{GRADES}/reminders/mine")) == before + 1
        csrf = await portal.csrf_of(browser, "/signing-pin")
        back = await browser.post(
            f"/reminders/{REMINDER['id']}/read", data={"csrf": csrf, "next": "/signing-pin"}
        )
        assert (back.status_code, back.headers["location"]) == (303, "/signing-pin")
        away = await browser.post(
            f"/reminders/{REMINDER['id']}/read", data={"csrf": csrf, "next": "//elsewhere.example/x"}
        )
        assert away.headers["location"] == "/reminders"
        encoded = await browser.post(
            f"/reminders/{REMINDER['id']}/read",
            data={"csrf": csrf, "next": "/records/classes/L%E1%BB%9Bp%201"},
        )
        assert encoded.headers["location"] == "/records/classes/L%E1%BB%9Bp%201"


async def test_a_parent_page_asks_grades_for_no_reminders(portal: Portal) -> None:
    portal.signs_in("ph.an", ["parent"])
    portal.services.on("GET", f"{GRADES}/reminders/mine", [REMINDER])
    async with portal.browser() as browser:
        await portal.login(browser)
        page = await browser.get("/security")
    assert "Lớp 10A1 – Toán" not in page.text
    assert not portal.services.calls("GET", f"{GRADES}/reminders/mine")


DEADLINE = {
    "period": "HK1",
    "period_label": "Học kỳ I",
    "step_label": "Ký sổ điểm",
    "opens_on": "2026-09-05",
    "school_closes_on": "2026-12-20",
    "extension_reason": None,
    "label": "",
    "days": 0,
}


async def test_a_teacher_sees_their_own_deadlines_on_the_home_and_homeroom_pages(portal: Portal) -> None:
    portal.signs_in("gv.cn", ["subject_teacher", "homeroom_teacher"])
    mine = {
        "school_year": "2026-2027",
        "deadlines": [
            {
                **DEADLINE,
                "step": 1,
                "class_name": None,
                "closes_on": "2026-12-20",
                "extended": False,
                "state": "closed",
                "text": "đã quá hạn 3 ngày",
            },
            {
                **DEADLINE,
                "step": 2,
                "step_label": "GVCN ký học bạ",
                "period": "year",
                "class_name": "10A1",
                "closes_on": "2027-05-30",
                "extended": True,
                "extension_reason": "Lớp đi thi",
                "state": "open",
                "text": "còn 7 ngày",
            },
        ],
    }
    portal.services.on("GET", f"{GRADES}/windows/mine", mine)
    portal.services.on("GET", f"{GRADES}/sheets", [])
    portal.services.on("GET", f"{SIGNING}/signing-pin", {"set": True, "locked": False})
    portal.services.on("GET", f"{GRADES}/records/homeroom-classes", [])
    async with portal.browser() as browser:
        await portal.login(browser)
        home = await browser.get("/sheets")
        homeroom = await browser.get("/records/homeroom")
    assert home.status_code == 200, home.text
    assert "Thời hạn của tôi" in home.text
    assert "05/09/2026" in home.text
    assert "20/12/2026" in home.text
    assert "đã quá hạn 3 ngày" in home.text
    assert "còn 7 ngày" in home.text
    assert homeroom.status_code == 200, homeroom.text
    assert "còn 7 ngày" in homeroom.text  # step 2 of their class, with its extension
    assert "gia hạn; hạn chung 20/12/2026: Lớp đi thi" in homeroom.text
    assert "đã quá hạn 3 ngày" not in homeroom.text  # the sheets' step is not the homeroom page's


FORM = {"content-type": "application/x-www-form-urlencoded"}


def line(number: int, status: str) -> dict[str, object]:
    return {
        "student_id": f"00000000-0000-4000-8000-0000000000{number:02d}",
        "full_name": f"Học Sinh Số {number}",
        "data": {"full_name": f"Học Sinh Số {number}"},
        "status": status,
        "fields": [],
        "note": "",
        "change_request_id": None,
        "checked_by_name": None,
        "checked_at": None,
    }


async def test_the_homeroom_teacher_confirms_every_student_at_once_after_saying_she_compared(
    portal: Portal,
) -> None:
    portal.signs_in("gv.cn", ["homeroom_teacher"])
    lines = [line(1, "unchecked"), line(2, "stale"), line(3, "discrepancy"), line(4, "verified")]
    portal.services.on("GET", f"{GRADES}/review/classes/10A1/personal-data", lines)
    portal.services.on("GET", f"{IDENTITY}/change-requests", [])
    portal.services.on("POST", f"{GRADES}/review/classes/10A1/personal-data/verify-all", [])
    every = "/review/personal-data/10A1/verify-all"
    async with portal.browser() as browser:
        await portal.login(browser)
        page = await browser.get("/review/personal-data/10A1")
        assert page.status_code == 200, page.text
        form = page.text.split('id="verify-all"')[1].split("</form>")[0]
        ticked = re.findall(r'name="student_id" value="([^"]+)"( checked)?', form)
        assert ticked == [
            (lines[0]["student_id"], " checked"),
            (lines[1]["student_id"], " checked"),
            (lines[2]["student_id"], ""),
        ]
        csrf = await portal.csrf_of(browser, "/review/personal-data/10A1")
        chosen = [
            ("csrf", csrf),
            ("student_id", lines[0]["student_id"]),
            ("student_id", lines[1]["student_id"]),
        ]
        unsure = await browser.post(every, content=urlencode(chosen), headers=FORM)
        assert unsure.status_code == 422
        assert "Tôi đã đối chiếu với giấy khai sinh và hồ sơ gốc" in unsure.text
        assert not portal.services.calls("POST", f"{GRADES}/review/classes/10A1/personal-data/verify-all")
        done = await browser.post(every, content=urlencode([*chosen, ("confirmed", "yes")]), headers=FORM)
    assert (done.status_code, done.headers["location"]) == (
        303,
        "/review/personal-data/10A1?notice=verified_all",
    )
    [sent] = portal.services.calls("POST", f"{GRADES}/review/classes/10A1/personal-data/verify-all")
    assert json.loads(sent.content) == {
        "student_ids": [lines[0]["student_id"], lines[1]["student_id"]],
        "confirmed": True,
    }
