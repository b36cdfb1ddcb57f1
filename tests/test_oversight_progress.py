"""The board's progress view and reminders through the real stack (issue 11 §2, Đ4.1): the
vice-principal lands on "Tiến độ", sees this module's class with its missing sheets naming their
teachers, clicks "Nhắc"; the teacher's next portal visit shows the reminder, the session's local
SMTP server (`mailbox`) receives it, and the homeroom teacher's list of missing sheets names the
teacher too."""

from __future__ import annotations

import contextlib
import email
import email.policy
import html
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hbs_devtools.drive import SystemClient, sign_in_portal

from .factories import Person, SchoolClass, SchoolFactory, password_of, wait_until

pytestmark = [pytest.mark.db, pytest.mark.broker]


@pytest.fixture(scope="module")
def teacher(school: SchoolFactory) -> tuple[Person, str]:
    """The mathematics teacher, with an e-mail address the office keeps in identity."""
    person = school.staff(["subject_teacher"])
    address = f"{person.username}@thpt.example"
    with school.identity() as identity:
        changed = identity.patch(f"/staff/{person.id}", json={"email": address})
    assert changed.status_code == 200, changed.text
    return person, address


@pytest.fixture(scope="module")
def klass(school: SchoolFactory, teacher: tuple[Person, str]) -> SchoolClass:
    return school.school_class(students=2, subjects=("TOAN", "NGU_VAN"), teachers={"TOAN": teacher[0]})


@contextlib.contextmanager
def portal(system: SystemClient, username: str) -> Iterator[tuple[httpx.Client, str]]:
    """A browser signed in as `username`, and where the portal sent it first."""
    with httpx.Client(base_url=system.stack.url("portal"), timeout=60) as browser:
        signed_in = sign_in_portal(browser, username, password_of(username))
        assert signed_in.status_code == 303, signed_in.text
        yield browser, signed_in.headers["location"]


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_board_sees_who_is_missing_reminds_and_the_teacher_is_told(
    system: SystemClient, klass: SchoolClass, teacher: tuple[Person, str], mailbox: Any
) -> None:
    """`mailbox`: the root conftest's session SMTP server (the stack's grades sends to it)."""
    math, address = teacher
    literature = klass.teachers["NGU_VAN"]
    with portal(system, "phohieutruong") as (vice, home):
        assert home == "/progress"  # the board lands on its progress view, not on 866 sheets
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
                "csrf": csrf(page.text),
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
            f"/reminders/{reminder_id.group(1)}/read", data={"csrf": csrf(page), "next": "/sheets"}
        )
        assert seen.status_code == 303
        assert seen.headers["location"] == "/sheets"
        assert "Lời nhắc của Ban Giám hiệu" not in browser.get("/sheets").text
        assert "Đã xem lúc" in browser.get("/reminders").text

    with portal(system, literature.username) as (browser, _):
        assert "Lời nhắc của Ban Giám hiệu" not in browser.get("/sheets").text  # only the one reminded

    received = wait_until(f"the reminder e-mail to {address}", lambda: mailbox.to(address))
    assert len(received) == 1
    mail = email.message_from_bytes(received[0].content, policy=email.policy.default)
    assert mail["Subject"] == "[HBS] Nhắc việc: Nhập điểm và nộp sổ điểm"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert f"Lớp {klass.name} – môn Toán – Học kỳ I" in body.get_content()


def test_the_homeroom_teachers_missing_sheets_name_their_teacher(
    system: SystemClient, klass: SchoolClass, teacher: tuple[Person, str]
) -> None:
    assert klass.homeroom is not None
    with portal(system, klass.homeroom.username) as (browser, _):
        page = html.unescape(browser.get("/records/homeroom").text)
    assert f"Môn Toán – Học kỳ I: sổ điểm đang nhập điểm, chưa ký (GV bộ môn: {teacher[0].full_name})" in page
    literature = klass.teachers["NGU_VAN"].full_name
    assert f"Môn Ngữ văn – Học kỳ II: sổ điểm đang nhập điểm, chưa ký (GV bộ môn: {literature})" in page
