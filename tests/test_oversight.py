"""Issue 11 through the real stack and the portal: one school year with time windows, lived in order.

One module-scoped set-up (`year`): a class of four students with mathematics (a teacher with an
e-mail address) and literature, a homeroom teacher, and a second class of one student whose
mathematics (the homeroom teacher's) is never submitted. The tests follow the year: the board
closes step 1's window (a late teacher is refused naming it) → the board's "Tiến độ" shows who is
late and by how long, "Nhắc" reaches the teacher in the portal and by e-mail (the session's SMTP
`mailbox`) → extensions, step 1 (a sheet changed after submission on the way) → the homeroom check
(Đ6.1) and step 2 → a review sample drawn twice from its seed (Đ4.2) → step 3 → a correction of a
signed sheet under signed minutes (Đ9.2) → the compliance report (Đ10) counts what happened → an
edited audit row breaks `python -m hbs_grades.audit verify` naming it. Last, one Chromium walk of
the board's pages (screenshots into docs/screens/oversight/ when HBS_SCREENSHOTS is set).

The tests depend on each other's order (a module runs whole on one process). The window is
school-wide: the set-up removes it at the end, the stack being shared by the session."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import hashlib
import hmac
import html
import io
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from hbs_devtools.drive import SIGNING_PIN, SystemClient, sign_in_portal
from hbs_devtools.stack import Stack
from hbs_shared.db import Database

from .a11y import assert_accessible
from .factories import FactorySystem, Person, SchoolClass, SchoolFactory, password_of, wait_until
from .test_portal_browser import sign_in
from .test_year_records import post_sign_form, records_of, set_conduct, sign_every_sheet, wait_for_batch

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm, pytest.mark.timeout(600)]
VN = ZoneInfo("Asia/Ho_Chi_Minh")
FIELDS = (
    "full_name",
    "national_id",
    "date_of_birth",
    "gender",
    "birthplace",
    "ethnicity",
    "nationality",
    "address",
    "father_name",
    "mother_name",
    "guardian_name",
    "policy_group",
)
SCREENS = Path(__file__).parents[1] / "docs" / "screens" / "oversight"


@dataclass
class Year:
    """The module's school year: its people, its class, and what earlier tests left for later ones."""

    klass: SchoolClass
    math: Person
    address: str
    idle: SchoolClass
    opens: date
    closes: date
    seen: dict[str, Any] = field(default_factory=dict)

    @property
    def literature(self) -> Person:
        return self.klass.teachers["NGU_VAN"]

    @property
    def homeroom(self) -> Person:
        assert self.klass.homeroom is not None
        return self.klass.homeroom

    def sheet(self, system: SystemClient, teacher: Person, term: str) -> dict[str, Any]:
        return next(
            s
            for s in system.sheets(system.token(teacher.username))
            if s["class_name"] == self.klass.name and s["term"] == term
        )


class KeptTokens(FactorySystem):
    """The running stack, keeping each person's token three minutes (identity's last five): every
    new token costs identity a password hash, and this module asks for one at nearly every step."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(stack)
        self._kept: dict[str, tuple[str, float]] = {}
        self.browsers: dict[str, tuple[httpx.Client, str]] = {}
        """Portal sessions by username, with where the portal sent each first (see `portal`)."""

    def token(self, username: str) -> str:
        kept = self._kept.get(username)
        if kept is not None and time.monotonic() - kept[1] < 180:
            return kept[0]
        fresh = super().token(username)
        self._kept[username] = (fresh, time.monotonic())
        return fresh


@pytest.fixture(scope="module")
def system(stack: Stack) -> Iterator[SystemClient]:
    """This module's view of the stack (the `school` fixture uses it too)."""
    kept = KeptTokens(stack)
    yield kept
    for browser, _ in kept.browsers.values():
        browser.close()


@pytest.fixture(scope="module")
def year(system: SystemClient, school: SchoolFactory) -> Iterator[Year]:
    math = school.staff(["subject_teacher"])
    address = f"{math.username}@thpt.example"
    with school.identity() as identity:
        changed = identity.patch(f"/staff/{math.id}", json={"email": address})
    assert changed.status_code == 200, changed.text
    klass = school.school_class(students=4, subjects=("TOAN", "NGU_VAN"), teachers={"TOAN": math})
    for teacher in klass.teachers.values():
        for sheet in system.sheets(system.token(teacher.username)):
            if sheet["class_name"] == klass.name:
                school.fill_scores(teacher, sheet["id"])
    assert klass.homeroom is not None
    # A second class, one student, whose mathematics (the homeroom teacher's) is never submitted.
    idle = school.school_class(
        students=1, subjects=("TOAN",), teachers={"TOAN": klass.homeroom}, homeroom=False
    )
    for username in (math.username, klass.teachers["NGU_VAN"].username, klass.homeroom.username):
        system.ensure_pin(system.token(username))
    for username in ("phohieutruong", "hieutruong"):
        system.ensure_pin(system.token(username))
    today = datetime.now(VN).date()
    try:
        yield Year(klass, math, address, idle, today - timedelta(days=30), today - timedelta(days=3))
    finally:
        with system.client("grades", system.token("phohieutruong")) as grades:
            removed = grades.put(
                "/windows", json={"school_year": klass.school_year, "windows": [{"period": "HK1", "step": 1}]}
            )
        assert removed.status_code == 200, removed.text


@contextlib.contextmanager
def portal(system: SystemClient, username: str) -> Iterator[tuple[httpx.Client, str]]:
    """A browser session signed in as `username`, and where the portal sent it first; signed in
    once per module (each sign-in costs a password hash), as a person keeps a tab open."""
    assert isinstance(system, KeptTokens)
    if username not in system.browsers:
        browser = httpx.Client(base_url=system.stack.url("portal"), timeout=60)
        signed_in = sign_in_portal(browser, username, password_of(username))
        assert signed_in.status_code == 303, signed_in.text
        system.browsers[username] = (browser, signed_in.headers["location"])
    yield system.browsers[username]


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def dmy(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def lateness_text(seconds: float) -> str:
    """The portal's lateness, "2 ngày 5 giờ" (web/progress.py `lateness`), computed here again."""
    days, rest = divmod(int(seconds), 86400)
    hours = rest // 3600
    if days:
        return f"{days} ngày {hours} giờ" if hours else f"{days} ngày"
    return f"{hours} giờ" if hours else "dưới 1 giờ"


def late_since(closes: date) -> float:
    """Seconds since the end of the closing day, Vietnam time (the school's deadline)."""
    deadline = datetime.combine(closes + timedelta(days=1), datetime.min.time(), VN)
    return (datetime.now(VN) - deadline).total_seconds()


def table_rows(page: str, table_id: str) -> list[str]:
    """The rows of one table as text a reader sees (tags dropped, spaces folded)."""
    part = html.unescape(page)
    part = part[part.index(f'id="{table_id}"') :]
    part = part[: part.index("</table>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", part, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in rows]


def checks_of(system: SystemClient, username: str, klass: SchoolClass) -> list[dict[str, Any]]:
    with system.client("grades", system.token(username)) as grades:
        listed = grades.get(f"/review/classes/{klass.name}/personal-data")
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


def grid_fields(page: str) -> dict[str, list[str]]:
    """The score grid's form as a browser would post it (every input with its values)."""
    form = re.search(r'<form id="grid"(.*?)</form>', page, re.S)
    assert form is not None, page
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input[^>]*? name="([^"]+)" value="([^"]*)"', form.group(1)):
        fields.setdefault(name, []).append(html.unescape(value))
    return fields


def verify_pdf(system: SystemClient, pdf: bytes) -> dict[str, Any]:
    with httpx.Client(base_url=system.stack.url("signing"), timeout=60) as public:
        answer = public.post("/verify", content=pdf, headers={"content-type": "application/pdf"})
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def sql(url: str, statement: str, **params: Any) -> None:
    """One statement on a service's database, in a thread of its own (Chromium's sync API may hold
    this thread's event loop)."""

    async def run() -> None:
        db = Database(url)
        try:
            async with db.transaction() as session:
                await session.execute(text(statement), params)
        finally:
            await db.dispose()

    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def verify_audit(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hbs_grades.audit", "verify", "--url", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def audit_rows(page: str) -> list[list[str]]:
    def cell(html: str) -> str:
        return re.sub(r"<[^>]+>", "", html.replace("<br>", " | ")).strip()

    rows = re.findall(r'<tr class="audit-row">(.*?)</tr>', page, re.S)
    return [[cell(c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)] for row in rows]


# --- Đ5: the board sets the window; a late teacher is refused, naming it -------------------------


def test_the_board_closes_step_1_and_a_late_signature_is_refused_naming_the_window(
    system: SystemClient, year: Year
) -> None:
    klass, math = year.klass, year.math
    with portal(system, "phohieutruong") as (vice, _):
        page = vice.get("/oversight/windows").text
        assert '<a href="/oversight/windows" aria-current="page">Thời hạn</a>' in page
        assert f"Thời hạn năm học {klass.school_year}" in page
        saved = vice.post(
            "/oversight/windows",
            data={
                "csrf": csrf_of(page),
                "slot": "HK1:1",
                "opens_on": year.opens.isoformat(),
                "closes_on": year.closes.isoformat(),
            },
        )
        assert saved.status_code == 303, saved.text
        shown = vice.get(saved.headers["location"]).text
        assert "Đã lưu thời hạn." in shown
        assert f"{dmy(year.opens)} – {dmy(year.closes)}" in shown
        half = vice.post(
            "/oversight/windows",
            data={"csrf": csrf_of(page), "slot": "HK1:0", "opens_on": year.opens.isoformat()},
        )
        assert half.status_code == 422
        assert "Cần nhập cả ngày mở và ngày đóng" in half.text

    sheet = year.sheet(system, math, "HK1")
    label = f"Hạn ký sổ điểm Học kỳ I: {dmy(year.opens)} – {dmy(year.closes)} đã đóng"
    with portal(system, math.username) as (browser, _):
        assert browser.get("/oversight/windows").status_code == 403
        form = {
            "csrf": csrf_of(browser.get("/sheets").text),
            "version": str(sheet["version"]),
            "pin": SIGNING_PIN,
        }
        refused = browser.post(f"/sheets/{sheet['id']}/sign", data=form)
        assert refused.status_code == 409
        assert label in refused.text
    with system.client("grades", system.token(math.username)) as grades:
        assert grades.get(f"/sheets/{sheet['id']}").json()["state"] == "open"


# --- Đ4.1: the board's progress view, "Nhắc", the teacher told in the portal and by e-mail --------


def test_the_board_sees_who_is_late_and_by_how_long(system: SystemClient, year: Year) -> None:
    klass, math = year.klass, year.math
    with portal(system, "phohieutruong") as (vice, home):
        assert home == "/progress"  # the board lands on its progress view, not on 866 sheets
        before = late_since(year.closes)
        page = vice.get(
            "/progress", params={"class_name": klass.name, "step": "sheet_signing", "term": "HK1"}
        )
        after = late_since(year.closes)
    assert page.status_code == 200, page.text
    rows = table_rows(page.text, "progress-items")
    [late] = [r for r in rows if math.full_name in r]
    assert "Toán" in late
    assert f"hết ngày {dmy(year.closes)}" in late  # the deadline, dd/mm/yyyy in Vietnam's time
    assert lateness_text(before) in late or lateness_text(after) in late, late
    assert 'class="late"' in page.text


def test_the_board_reminds_a_teacher_who_sees_it_in_the_portal_and_by_email(
    system: SystemClient, year: Year, mailbox: Any
) -> None:
    """`mailbox`: the root conftest's session SMTP server (the stack's grades sends to it)."""
    klass, math, literature = year.klass, year.math, year.literature
    with portal(system, "phohieutruong") as (vice, _):
        page = vice.get("/progress", params={"class_name": klass.name, "step": "score_entry", "term": "HK1"})
        assert page.status_code == 200, page.text
        text = html.unescape(page.text)
        assert "<svg" in page.text  # the charts, drawn on the server
        assert "bar-done" in page.text
        items = text[text.index('id="progress-items"') :]
        rows = re.findall(r"<tr[^>]*>(.*?)</tr>", items, re.S)
        named = {re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in rows}
        assert any(math.full_name in r and "Toán" in r and "đang nhập điểm" in r for r in named), named
        assert any(literature.full_name in r and "Ngữ văn" in r for r in named), named
        row = next(r for r in rows if math.full_name in html.unescape(r))
        sheet_id = re.search(r'name="sheet_id" value="([^"]+)"', row)
        back = re.search(r'name="back" value="([^"]+)"', row)
        assert sheet_id is not None
        assert back is not None
        uuid.UUID(sheet_id.group(1))

        sent = vice.post(
            "/progress/remind",
            data={
                "csrf": csrf_of(page.text),
                "step": "score_entry",
                "term": "HK1",
                "sheet_id": sheet_id.group(1),
                "back": html.unescape(back.group(1)),
            },
        )
        assert sent.status_code == 303, sent.text
        assert "notice=reminded" in sent.headers["location"]
        after = html.unescape(vice.get(sent.headers["location"]).text)
        assert "Đã gửi lời nhắc." in after
        listed = after[after.index('id="progress-sent"') :]
        assert math.full_name in listed  # the board sees whom it reminded
        forged = vice.post("/progress/remind", data={"csrf": "wrong", "sheet_id": sheet_id.group(1)})
        assert forged.status_code == 403

    with portal(system, math.username) as (browser, home):
        assert home == "/sheets"
        page = html.unescape(browser.get(home).text)
        assert "Lời nhắc của Ban Giám hiệu" in page
        assert f"Lớp {klass.name} – môn Toán – Học kỳ I: Nhập điểm" in page
        reminder_id = re.search(r'action="/reminders/([0-9a-f-]+)/read"', page)
        assert reminder_id is not None
        seen = browser.post(
            f"/reminders/{reminder_id.group(1)}/read", data={"csrf": csrf_of(page), "next": "/sheets"}
        )
        assert seen.status_code == 303
        assert seen.headers["location"] == "/sheets"
        assert "Lời nhắc của Ban Giám hiệu" not in browser.get("/sheets").text
        assert "Đã xem lúc" in browser.get("/reminders").text

    with portal(system, literature.username) as (browser, _):
        assert "Lời nhắc của Ban Giám hiệu" not in browser.get("/sheets").text  # only the one reminded

    received = wait_until(f"the reminder e-mail to {year.address}", lambda: mailbox.to(year.address))
    assert len(received) == 1
    mail = email.message_from_bytes(received[0].content, policy=email.policy.default)
    assert mail["Subject"] == "[HBS] Nhắc việc: Nhập điểm và nộp sổ điểm"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert f"Lớp {klass.name} – môn Toán – Học kỳ I" in body.get_content()


def test_the_homeroom_teachers_missing_sheets_name_their_teacher(system: SystemClient, year: Year) -> None:
    with portal(system, year.homeroom.username) as (browser, _):
        page = html.unescape(browser.get("/records/homeroom").text)
    assert f"Môn Toán – Học kỳ I: sổ điểm đang nhập điểm, chưa ký (GV bộ môn: {year.math.full_name})" in page
    literature = year.literature.full_name
    assert f"Môn Ngữ văn – Học kỳ II: sổ điểm đang nhập điểm, chưa ký (GV bộ môn: {literature})" in page


# --- Extensions and step 1 --------------------------------------------------------------------------


def test_extensions_let_the_late_teachers_sign_step_1(
    system: SystemClient, school: SchoolFactory, year: Year
) -> None:
    klass, math, literature = year.klass, year.math, year.literature
    today = datetime.now(VN).date()
    with portal(system, "phohieutruong") as (vice, _):
        page = vice.get("/oversight/windows").text
        extension = {
            "csrf": csrf_of(page),
            "slot": "HK1:1",
            "who": "teacher",
            "teacher_id": math.id,
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
        assert math.full_name in listed
        assert "Giáo viên nằm viện, có giấy ra viện" in listed
        assert dmy(today + timedelta(days=2)) in listed
        # The literature teacher's class gets its own extension (the window itself stays closed).
        for_class = vice.post(
            "/oversight/windows/extensions",
            data={
                **extension,
                "who": "class",
                "teacher_id": "",
                "class_name": klass.name,
                "reason": "Lớp đi trải nghiệm thực tế",
            },
        )
        assert for_class.status_code == 303, for_class.text
        assert "Lớp đi trải nghiệm thực tế" in vice.get(for_class.headers["location"]).text

    sheet = year.sheet(system, math, "HK1")
    with portal(system, math.username) as (browser, _):
        form = {
            "csrf": csrf_of(browser.get("/sheets").text),
            "version": str(sheet["version"]),
            "pin": SIGNING_PIN,
        }
        signed = browser.post(f"/sheets/{sheet['id']}/sign", data=form)
        assert signed.status_code == 303, signed.text
    system.wait_for_state(system.token(math.username), sheet["id"], "signed")
    # Late from the school's closing day (its end, Vietnam time), not from the extension.
    year.seen["late_hours"] = late_since(year.closes) / 3600

    # The literature teacher submits HK2, then changes a score after submission, with a reason.
    token = system.token(literature.username)
    sheet = year.sheet(system, literature, "HK2")
    with system.client("grades", token) as grades:
        submitted = grades.post(f"/sheets/{sheet['id']}/submit", json={"expected_version": sheet["version"]})
        assert submitted.status_code == 200, submitted.text
        student = grades.get(f"/sheets/{sheet['id']}/scores").json()["rows"][0]
        changed = grades.put(
            f"/sheets/{sheet['id']}/scores",
            json={
                "expected_version": submitted.json()["version"],
                "rows": [{"student_id": student["student_id"], "final": "4.5"}],
                "reason": "Phúc khảo bài cuối kỳ",
            },
        )
        assert changed.status_code == 200, changed.text
    year.seen["changed_student"] = student["full_name"]
    for teacher in (math, literature):
        sign_every_sheet(system, teacher.username, klass)
    states = {
        s["state"]
        for t in (math, literature)
        for s in system.sheets(system.token(t.username))
        if s["class_name"] == klass.name
    }
    assert states == {"signed"}


# --- Đ6.1 and step 2 ---------------------------------------------------------------------------------


def test_step_2_waits_for_the_homeroom_check_and_a_discrepancy_goes_through_the_office(
    system: SystemClient, year: Year
) -> None:
    klass = year.klass
    van = year.homeroom.username
    set_conduct(system, klass)
    lines = checks_of(system, van, klass)
    assert [line["status"] for line in lines] == ["unchecked"] * 4
    *checked, last = lines

    # The homeroom teacher ticks every field of three students; step 2 names the fourth.
    url = f"/review/personal-data/{klass.name}"
    with portal(system, van) as (homeroom, _):
        assert "Kiểm tra thông tin cá nhân của học sinh" in homeroom.get("/records/homeroom").text
        page = homeroom.get(url).text
        assert "Báo sai lệch" in page
        for line in checked:
            done = homeroom.post(
                f"{url}/{line['student_id']}",
                data={"csrf": csrf_of(page), "fields": list(FIELDS), "note": "", "action": "verify"},
            )
            assert done.status_code == 303, done.text
        # The page offers no signing form while something is missing; a hand-made post is refused.
        assert 'action="/records/sign"' not in homeroom.get("/records/homeroom").text
        refused = homeroom.post(
            "/records/sign",
            data={"csrf": csrf_of(page), "step": "homeroom", "class_names": klass.name, "pin": SIGNING_PIN},
        )
        assert refused.status_code == 422
        assert f"Chưa kiểm tra thông tin cá nhân (Điều 6): {last['full_name']}" in refused.text
        assert not any(line["full_name"] in refused.text for line in checked)

        # The birth certificate shows another birthplace: "Báo sai lệch" asks the office.
        page = homeroom.get(url).text
        reported = homeroom.post(
            f"{url}/{last['student_id']}",
            data={
                "csrf": csrf_of(page),
                "fields": ["full_name", "date_of_birth", "birthplace"],
                "correct_birthplace": "Xã Đông Hoà, Thành phố Thái Bình",
                "note": "Giấy khai sinh ghi nơi sinh khác",
                "action": "report",
            },
        )
        assert reported.status_code == 303, reported.text
        assert "chờ văn phòng" in homeroom.get(url).text

    # The office sees the request with the student's name, and applies it.
    with portal(system, "quantri") as (office, _):
        page = office.get("/change-requests").text
        assert last["full_name"] in page
        assert "Xã Đông Hoà, Thành phố Thái Bình" in page
        request_id = re.findall(r'data-request="([^"]+)"', page)
        mine = [
            r
            for r in request_id
            if f'id="yc-{r}"' in page and last["full_name"] in page.split(f'id="yc-{r}"')[1][:400]
        ]
        assert mine, page
        applied = office.post(f"/change-requests/{mine[0]}/apply", data={"csrf": csrf_of(page)})
        assert applied.status_code == 303
        assert "Đã sửa thông tin theo yêu cầu." in office.get(applied.headers["location"]).text

    # Identity's event reaches grades: the data changed, so the check must be done again.
    def stale() -> dict[str, Any] | None:
        line = next(x for x in checks_of(system, van, klass) if x["student_id"] == last["student_id"])
        return line if line["status"] == "stale" else None

    line = wait_until("the applied change in grades", stale)
    assert line["data"]["birthplace"] == "Xã Đông Hoà, Thành phố Thái Bình"
    with portal(system, van) as (homeroom, _):
        page = homeroom.get(url).text
        assert "đã sửa" in page  # the teacher sees the outcome of her request
        done = homeroom.post(
            f"{url}/{last['student_id']}",
            data={
                "csrf": csrf_of(page),
                "fields": list(FIELDS),
                "note": "Đã đối chiếu lại",
                "action": "verify",
            },
        )
        assert done.status_code == 303
        assert done.headers["location"].endswith(f"?notice=verified#hs-{last['student_id']}")
        again = next(x for x in checks_of(system, van, klass) if x["student_id"] == last["student_id"])
        assert again["status"] == "verified", again
        wait_for_batch(homeroom, post_sign_form(homeroom, homeroom.get("/records/homeroom").text))
    assert records_of(system, van, klass)["counts"] == {"homeroom_signed": 4}


# --- Đ4.2: the review sample, then step 3 ------------------------------------------------------------


def test_a_review_sample_drawn_again_from_its_seed_is_the_same(system: SystemClient, year: Year) -> None:
    klass = year.klass
    records = records_of(system, year.homeroom.username, klass)
    with portal(system, "phohieutruong") as (vice, _):
        page = vice.get(f"/records/classes/{klass.name}").text
        assert "Chọn mẫu kiểm tra" in page
        drawn = vice.post(f"/review/classes/{klass.name}/samples", data={"csrf": csrf_of(page)})
        assert drawn.status_code == 303
        page = vice.get(drawn.headers["location"]).text
        seed = re.search(r'<code class="seed">([0-9a-f]{64})</code>', page)
        assert seed is not None
        with system.client("grades", system.token("phohieutruong")) as grades:
            sample = grades.get(f"/review/classes/{klass.name}/samples").json()[0]
        assert sample["seed"] == seed.group(1)
        size = max(sample["minimum"], -(-4 * sample["share_percent"] // 100))
        ids = sorted(r["id"] for r in records["records"])
        key = bytes.fromhex(sample["seed"])
        by_hand = sorted(ids, key=lambda i: (hmac.new(key, i.encode(), hashlib.sha256).hexdigest(), i))[:size]
        assert [i["record_id"] for i in sample["items"]] == by_hand
        again = vice.get(f"/review/samples/{sample['id']}/redraw").text
        assert "Kết quả rút lại trùng khớp với mẫu đã lưu" in again
        for item in sample["items"]:
            marked = vice.post(
                f"/review/samples/{sample['id']}/records/{item['record_id']}/verdict",
                data={"csrf": csrf_of(page), "class_name": klass.name, "verdict": "correct"},
            )
            assert marked.status_code == 303, marked.text
        page = vice.get(f"/records/classes/{klass.name}").text
        assert "đã đạt" in page
        assert "Ký duyệt học bạ cả lớp" in page
        wait_for_batch(vice, post_sign_form(vice, page))  # step 3
    assert records_of(system, "phohieutruong", klass)["counts"] == {"reviewed": 4}


# --- Đ9.2: a correction of a signed sheet under signed minutes ---------------------------------------


def test_a_signed_sheet_is_corrected_under_signed_minutes_and_the_records_are_signed_again(
    system: SystemClient, year: Year, tmp_path: Path
) -> None:
    klass = year.klass
    teacher = year.math.username
    token = system.token(teacher)
    records = records_of(system, teacher, klass)
    with system.client("signing", system.token(year.homeroom.username)) as signing:
        old_record = signing.get(f"/documents/{records['records'][0]['document_id']}")
    assert old_record.status_code == 200, old_record.text
    old_record_code = old_record.json()["verification_code"]
    sheet = year.sheet(system, year.math, "HK2")
    first, second = (s.id for s in klass.students[:2])
    with system.client("grades", token) as grades:
        rows = grades.get(f"/sheets/{sheet['id']}/scores").json()["rows"]
    signed_finals = {r["student_id"]: r["final"] for r in rows}
    first_seat = next(i for i, r in enumerate(rows) if r["student_id"] == first)
    second_seat = next(i for i, r in enumerate(rows) if r["student_id"] == second)

    # The principal opens the correction from the signed sheet's page with the minutes.
    with portal(system, "hieutruong") as (head, _):
        assert "Mở điều chỉnh (biên bản)" in head.get(f"/sheets/{sheet['id']}/scores").text
        page = head.get(f"/sheets/{sheet['id']}/corrections").text
        assert f'value="{first}|final"' in page
        form = {
            "csrf": csrf_of(page),
            "version": str(sheet["version"]),
            "minutes_number": "15/BB-HBS",
            "minutes_date": time.strftime("%Y-%m-%d"),
            "present": "Trần Văn Hiệu – Hiệu trưởng\nGiáo viên bộ môn Toán",
            "reason": "Nhập nhầm điểm cuối kỳ",
        }
        no_cell = head.post(f"/sheets/{sheet['id']}/corrections", data=form)
        assert no_cell.status_code == 422
        assert "Ô điều chỉnh: chọn ít nhất một ô" in no_cell.text
        opened = head.post(f"/sheets/{sheet['id']}/corrections", data={**form, "cell": f"{first}|final"})
        assert opened.status_code == 303, opened.text
        minutes_url = opened.headers["location"].split("?")[0]
        year.seen["minutes_url"] = minutes_url
        page = head.get(opened.headers["location"]).text
        assert "Biên bản điều chỉnh số 15/BB-HBS" in page
        assert "Trần Văn Hiệu – Hiệu trưởng" in page

        # The opener signs the minutes with the PIN; signing renders and signs the PDF.
        wrong = head.post(f"{minutes_url}/sign", data={"csrf": csrf_of(page), "pin": "000000"})
        assert wrong.status_code == 422
        assert "Mã PIN ký số không đúng" in wrong.text
        asked = head.post(f"{minutes_url}/sign", data={"csrf": csrf_of(page), "pin": SIGNING_PIN})
        assert asked.status_code == 303, asked.text
        deadline = time.monotonic() + 90
        while "Tải biên bản đã ký (PDF)" not in (page := head.get(minutes_url).text):
            assert 'http-equiv="refresh"' in page, page  # the page refreshes itself while signing
            assert time.monotonic() < deadline, page
            time.sleep(0.5)
        minutes_pdf = head.get(f"{minutes_url}/minutes.pdf")
        assert minutes_pdf.headers["content-type"] == "application/pdf"
    report = verify_pdf(system, minutes_pdf.content)
    assert (report["verdict"], report["document"]["kind"], report["document"]["status"]) == (
        "valid",
        "correction_minutes",
        "current",
    )
    assert [s["role"] for s in report["signatures"]] == ["principal"]
    path = tmp_path / "bien-ban.pdf"
    path.write_bytes(minutes_pdf.content)
    poppler = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    assert "Signature Field Name: BB_HT" in poppler
    assert "Signature is Valid" in poppler
    assert "Total document signed" in poppler

    # The teacher sees the minutes and may change the listed cell only.
    with portal(system, teacher) as (browser, _):
        page = browser.get(f"/sheets/{sheet['id']}/scores").text
        assert "biên bản số 15/BB-HBS" in page
        fields = grid_fields(page)
        cell, other = f"c{first_seat}_final", f"c{second_seat}_final"
        assert cell in fields
        assert other not in fields
        assert f"c{first_seat}_midterm" not in fields
        [old_final] = fields[cell]
        corrected = "10" if old_final != "10" else "9"
        # A forged post of another cell is refused by grades, naming it; nothing is saved.
        forged = browser.post(f"/sheets/{sheet['id']}/scores", data={**fields, other: ["3"]})
        assert forged.status_code == 422
        assert "không thuộc biên bản điều chỉnh số 15/BB-HBS" in forged.text
        saved = browser.post(f"/sheets/{sheet['id']}/scores", data={**fields, cell: [corrected]})
        assert saved.status_code == 303, saved.text
        current = system.wait_for_state(token, sheet["id"], "open")
        page = browser.get("/sheets").text
        resigned = browser.post(
            f"/sheets/{sheet['id']}/sign",
            data={"csrf": csrf_of(page), "version": current["version"], "pin": SIGNING_PIN},
        )
        assert resigned.status_code == 303, resigned.text
        new_sheet = system.wait_for_state(token, sheet["id"], "signed")
    with system.client("grades", token) as grades:
        scores = grades.get(f"/sheets/{sheet['id']}/scores").json()
    finals = {r["student_id"]: r["final"] for r in scores["rows"]}
    assert finals == {**signed_finals, first: corrected}

    # The class's records went back to step 2: signed again, counting the corrected cell.
    with portal(system, year.homeroom.username) as (homeroom, _):
        page = homeroom.get("/records/homeroom").text
        assert "Ký học bạ cả lớp" in page
        wait_for_batch(homeroom, post_sign_form(homeroom, page))
    records = records_of(system, teacher, klass)
    assert set(records["counts"]) == {"homeroom_signed"}
    with system.client("grades", token) as grades:
        mine = next(r for r in records["records"] if r["student_id"] == first)
        content = grades.get(f"/records/{mine['id']}").json()["content"]
        [correction] = grades.get(f"/sheets/{sheet['id']}/corrections").json()
    assert (content["record_version"], content["corrections_count"]) == (2, 1)
    assert (correction["closed_at"] is not None, correction["new_document_id"]) == (
        True,
        new_sheet["document_id"],
    )

    # The old sheet and the old record verify as superseded; the list shows the closed correction.
    with system.client("signing", token) as signing:
        old_sheet_pdf = signing.get(f"/documents/{sheet['document_id']}/pdf").content
    old_sheet = verify_pdf(system, old_sheet_pdf)
    assert (old_sheet["verdict"], old_sheet["document"]["status"]) == ("valid", "superseded")
    with httpx.Client(base_url=system.stack.url("signing"), timeout=60) as public:
        old_record = public.get(f"/verify/{old_record_code}").json()
    assert (old_record["verdict"], old_record["document"]["status"]) == ("valid", "superseded")
    with portal(system, "hieutruong") as (head, _):
        page = head.get(f"/sheets/{sheet['id']}/corrections").text
        assert "Đã đóng: ký lại" in page
        assert "Bản cũ (đã thay thế)" in page
        assert "Mở điều chỉnh (biên bản)" in page  # signed again: a new correction could be opened


# --- Đ10: the compliance report counts what happened -------------------------------------------------


def test_the_compliance_report_counts_the_year(system: SystemClient, year: Year) -> None:
    math, literature = year.math, year.literature
    idle = year.idle.teachers["TOAN"]
    expected_hours = year.seen["late_hours"]
    with system.client("grades", system.token("hieutruong")) as grades:
        report = grades.get("/compliance").json()

    def row_of(person: Person, step: int, period: str) -> dict[str, Any]:
        [row] = [
            r
            for r in report["rows"]
            if r["person_id"] == person.id and r["step"] == step and r["period"] == period
        ]
        return dict(row)

    def counts(row: dict[str, Any]) -> tuple[int, ...]:
        return (row["items"], row["on_time"], row["late"], row["open_late"], row["extended"])

    row = row_of(math, 1, "HK1")
    assert counts(row) == (1, 0, 1, 0, 1)
    assert abs(row["late_max_hours"] - expected_hours) < 0.3
    assert counts(row_of(literature, 1, "HK1"))[2:] == (1, 0, 1)  # late, under the class's extension
    assert row_of(math, 1, "HK2")["corrections"] == 1  # the correction after signing (Đ9.2)
    assert counts(row_of(idle, 1, "HK1"))[1:] == (0, 0, 1, 0)  # never submitted: still open, late

    with portal(system, "hieutruong") as (head, _):
        page = head.get("/oversight/compliance").text
        assert '<a href="/oversight/compliance" aria-current="page">Chấp hành thời hạn</a>' in page
        line = re.search(
            rf"<td>{re.escape(math.full_name)}</td>"
            r"<td>Ký sổ điểm \(bước 1\)</td><td>Học kỳ I</td>(.*?)</tr>",
            page,
            re.S,
        )
        assert line is not None, page
        assert f"<td>{row['late_max_text']}</td>" in line.group(1)
        cells = re.findall(r"<td>([^<]*)</td>", line.group(1))
        assert cells[:5] == ["1", "0", "1", "0", "0"]  # items, on time, late, open and late, pending
        assert row["late_max_text"].startswith(f"{int(expected_hours // 24)} ngày")
        workbook = head.get("/oversight/compliance.xlsx")
        assert workbook.status_code == 200
        rows = list(
            openpyxl.load_workbook(io.BytesIO(workbook.content)).active.iter_rows(min_row=4, values_only=True)
        )
        [mine] = [r for r in rows if r[1] == math.full_name and r[2] == "Ký sổ điểm" and r[3] == "Học kỳ I"]
        assert mine[6] == 1
        assert isinstance(mine[12], int | float)  # a number (69.0 reads back as 69)
        assert abs(mine[12] - expected_hours) < 0.3


# --- §7: the audit trail and its verification --------------------------------------------------------


def test_the_principal_reads_the_trail_and_an_edited_row_is_named(system: SystemClient, year: Year) -> None:
    literature = year.literature
    subject = f"Sổ điểm Ngữ văn – lớp {year.klass.name} – Học kỳ II"
    with portal(system, "hieutruong") as (head, _):
        page = head.get("/admin/audit")
        assert page.status_code == 200, page.text
        assert page.text.count("Chuỗi kiểm chứng: toàn vẹn") == 2
        # The whole year since then is in the trail: read grades' part, deep enough to reach it.
        deep = head.post(
            "/admin/audit", data={"csrf": csrf_of(page.text), "source": "grades", "limit": "500"}
        )
        assert deep.status_code == 200, deep.text
        mine = [row for row in audit_rows(deep.text) if row[3] == subject]
        actions = [row[2] for row in mine if row[2] in ("Sửa điểm sau khi nộp", "Nộp sổ điểm")]
        assert actions == ["Sửa điểm sau khi nộp", "Nộp sổ điểm"]  # newest first
        change = next(row for row in mine if row[2] == "Sửa điểm sau khi nộp")
        assert re.fullmatch(r"\d\d/\d\d/20\d\d \d\d:\d\d", change[0])
        assert change[1] == literature.full_name
        assert "Lý do: Phúc khảo bài cuối kỳ" in change[4]
        assert f"{year.seen['changed_student']} – ĐĐGck:" in change[4]
        assert change[4].endswith("→ 4,5")
        seq = int(change[5].rsplit("mục ", 1)[1])

        url = system.stack.database_urls["grades"]
        assert verify_audit(url).returncode == 0
        sql(url, "UPDATE audit_trail SET actor_name = 'Người khác' WHERE seq = :seq", seq=seq)
        try:
            broken = verify_audit(url)
            assert broken.returncode == 1
            assert f"grades: audit chain BROKEN at seq {seq} (edited)" in broken.stderr
            shown = head.get("/admin/audit").text
            assert f"Chuỗi kiểm chứng: hỏng tại mục {seq} – nội dung mục này đã bị sửa" in shown
        finally:
            sql(
                url,
                "UPDATE audit_trail SET actor_name = :name WHERE seq = :seq",
                name=literature.full_name,
                seq=seq,
            )
        assert verify_audit(url).returncode == 0


# --- The board's walk in Chromium (last: it keeps this thread's event loop while open) ---------------


def shoot(page: Page, name: str) -> None:
    """With HBS_SCREENSHOTS set, the page as the reader sees it, for docs/oversight-walk.md."""
    if not os.environ.get("HBS_SCREENSHOTS"):
        return
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, type="png")
    if path.stat().st_size > 400_000:  # a long page: the part a reader sees first
        page.screenshot(path=str(path), type="png")


def test_the_board_walks_its_pages_in_a_browser(page: Page, stack: Stack, year: Year) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    portal_url = stack.url("portal")
    idle = year.idle.teachers["TOAN"]

    # Tiến độ: the vice-principal lands here, filters the late class and reminds its teacher.
    sign_in(page, stack, "phohieutruong")
    expect(page.get_by_role("heading", name=re.compile("Tiến độ nhập điểm và ký học bạ"))).to_be_visible()
    shoot(page, "01-progress")
    assert_accessible(page)
    page.locator('form.filters select[name="step"]').select_option(label="Bước 1: ký sổ điểm")
    page.locator('form.filters select[name="term"]').select_option(label="Học kỳ I")
    page.locator('form.filters select[name="class_name"]').select_option(label=year.idle.name)
    page.get_by_role("button", name="Xem").click()
    item = page.locator("#progress-items tbody tr", has_text=year.idle.name)
    expect(item).to_have_count(1)
    expect(item.locator(".responsible")).to_have_text(idle.full_name)
    expect(item).to_contain_text(f"hết ngày {dmy(year.closes)}")
    expect(item).to_have_class("late")
    shoot(page, "02-progress-late-item")
    item.get_by_role("button", name="Nhắc").click()
    expect(page.get_by_role("status")).to_have_text("Đã gửi lời nhắc.")
    expect(page.locator("#progress-sent")).to_contain_text(idle.full_name)
    shoot(page, "03-progress-reminded")
    assert_accessible(page)

    # Thời hạn: the window and the two extensions with their reasons, dates as dd/mm/yyyy.
    page.get_by_role("link", name="Thời hạn", exact=True).click()
    expect(page.get_by_role("heading", name=f"Thời hạn năm học {year.klass.school_year}")).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"{dmy(year.opens)} – {dmy(year.closes)}")
    expect(page.locator("main")).to_contain_text("Giáo viên nằm viện, có giấy ra viện")
    shoot(page, "04-windows")
    assert_accessible(page)

    # The review page of the class (records back at step 2 after the correction): draw, mark one.
    page.goto(f"{portal_url}/records/classes/{year.klass.name}")
    page.get_by_role("button", name="Chọn mẫu kiểm tra").click()
    expect(page.get_by_role("status")).to_have_text("Đã chọn mẫu kiểm tra.")
    current = page.locator("article.sample:not(.superseded)")
    expect(current.locator("code.seed")).to_have_text(re.compile("^[0-9a-f]{64}$"))
    current.locator("tbody tr").first.get_by_role("button", name="Đúng").click()
    expect(page.get_by_role("status")).to_have_text("Đã ghi kết quả kiểm tra.")
    expect(page.locator("article.sample:not(.superseded) td.verdict-correct")).to_have_count(1)
    page.locator("#mau-kiem-tra").scroll_into_view_if_needed()
    shoot(page, "05-review-sample")
    assert_accessible(page)

    # The reminded (homeroom) teacher sees the board's reminder on the first page, then the
    # checklist of the students' personal data (Đ6.1).
    page.context.clear_cookies()
    sign_in(page, stack, idle.username)
    expect(page.get_by_text("Lời nhắc của Ban Giám hiệu")).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"Lớp {year.idle.name} – môn Toán – Học kỳ I")
    shoot(page, "06-teacher-reminder")
    assert_accessible(page)
    page.goto(f"{portal_url}/records/homeroom")
    page.get_by_role("link", name="Kiểm tra thông tin cá nhân của học sinh").click()
    expect(
        page.get_by_role("heading", name=f"Kiểm tra thông tin cá nhân lớp {year.klass.name}")
    ).to_be_visible()
    expect(page.locator(".check-state").first).to_be_visible()
    shoot(page, "07-homeroom-check")
    assert_accessible(page)

    # The principal: compliance (and its Excel), the correction's minutes, the audit trail.
    page.context.clear_cookies()
    sign_in(page, stack, "hieutruong")
    page.get_by_role("link", name="Chấp hành thời hạn", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Chấp hành thời hạn – năm học"))).to_be_visible()
    late_row = (
        page.locator("tr.compliance-row", has_text=year.math.full_name)
        .filter(has_text="Ký sổ điểm (bước 1)")
        .filter(has=page.get_by_role("cell", name="Học kỳ I", exact=True))
    )
    expect(late_row.locator("td").nth(3)).to_have_text("1")  # Số việc: a count, not a Python repr
    expect(late_row.locator("td").nth(11)).to_have_text(re.compile(r"^\d+ ngày"))  # Trễ nhiều nhất
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải về Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    shoot(page, "08-compliance")
    assert_accessible(page)

    page.goto(portal_url + year.seen["minutes_url"])
    expect(page.locator("h1")).to_have_text(
        re.compile(r"^Biên bản điều chỉnh số 15/BB-HBS ngày \d\d/\d\d/\d{4}$")
    )
    expect(page.get_by_role("link", name="Tải biên bản đã ký (PDF)")).to_be_visible()
    shoot(page, "09-correction-minutes")
    assert_accessible(page)

    page.get_by_role("link", name="Nhật ký", exact=True).click()
    expect(page.get_by_role("heading", name="Nhật ký hệ thống")).to_be_visible()
    expect(page.get_by_text("Chuỗi kiểm chứng: toàn vẹn")).to_have_count(2)
    expect(page.locator("tr.audit-row td").first).to_have_text(re.compile(r"^\d\d/\d\d/20\d\d \d\d:\d\d$"))
    shoot(page, "10-audit")
    assert_accessible(page)
