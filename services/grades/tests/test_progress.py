"""The board's progress view and reminders (issue 11 §2, Đ4.1), through grades' HTTP API on the
module's app: counts per class/teacher/department/step, the missing items naming who must act,
lateness against a deadline book, Nhắc to the teacher (portal list, e-mail to a local SMTP
server) and the automatic reminders before a closing date, sent once."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hbs_devtools.broker import free_port
from hbs_grades.progress.deadlines import DeadlineBook
from hbs_grades.progress.steps import ProgressStep
from hbs_grades.reminders.mailer import NoMailer, SmtpMailer
from hbs_grades.reminders.service import ReminderService
from hbs_grades.wiring import Grades
from hbs_shared.audit.store import audit_trail
from hbs_shared.events.envelope import make_envelope
from hbs_shared.events.identity import AssignmentChanged
from hbs_shared.messaging.consumer import Outcome

from .conftest import SCHOOL, YEAR, GradesHarness

pytestmark = [pytest.mark.db, pytest.mark.broker]

TOAN_TEACHER = "Nguyễn Thị Toán"
VAN_TEACHER = "Đỗ Văn Văn"
HOMEROOM = "Lê Thị Chủ Nhiệm"


@dataclass
class Book:
    """A deadline for some classes' HK1 sheets at one step (the windows' book stands in for this)."""

    class_name: str | set[str]
    step: ProgressStep
    at: datetime

    def due(
        self, step: ProgressStep, term: str | None, class_name: str, person_id: uuid.UUID | None
    ) -> datetime | None:
        names = {self.class_name} if isinstance(self.class_name, str) else self.class_name
        return self.at if class_name in names and (step, term) == (self.step, "HK1") else None


@dataclass
class Fixed:
    book_: Book

    async def book(self, session: AsyncSession, school_id: str, school_year: str) -> DeadlineBook:
        return self.book_


class Inbox:
    """What the local SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 — aiosmtpd's name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


class School:
    def __init__(self, h: GradesHarness) -> None:
        self.h = h
        self.toan, self.van, self.homeroom = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        self.vice, self.head = uuid.uuid4(), uuid.uuid4()
        self.class_name = f"10P-{uuid.uuid4().hex[:5]}"
        self.email = f"toan.{uuid.uuid4().hex[:6]}@truong.example"

    async def setup(self) -> None:
        await self.assign(self.toan, "TOAN", TOAN_TEACHER, self.email)
        await self.assign(self.van, "NGU_VAN", VAN_TEACHER, None)
        await self.h.assign(
            self.homeroom, self.class_name, None, kind="homeroom_teacher", teacher_name=HOMEROOM
        )
        self.students = await self.h.enrol(self.class_name, ["Phạm Thị An", "Vũ Văn Bình"])

    async def assign(
        self, teacher: uuid.UUID, code: str, name: str, email: str | None, class_name: str | None = None
    ) -> None:
        class_name = class_name or self.class_name
        await self.h.feed(
            AssignmentChanged(
                assignment_id=uuid.uuid4(),
                kind="subject_teacher",
                teacher_id=teacher,
                teacher_name=name,
                class_id=uuid.uuid5(uuid.NAMESPACE_URL, class_name),
                class_name=class_name,
                grade_level=10,
                subject_code=code,
                school_year=YEAR,
                active=True,
                teacher_email=email,
            )
        )

    def vice_principal(self) -> dict[str, str]:
        return self.h.headers(self.vice, "Trần Thị Phó", ("vice_principal",))

    def teacher(self, who: uuid.UUID | None = None) -> dict[str, str]:
        return self.h.headers(who or self.toan, TOAN_TEACHER)

    async def get(self, path: str, **params: Any) -> Any:
        answer = await self.h.client.get(path, params=params, headers=self.vice_principal())
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def submit_toan_hk1(self) -> None:
        sheets = (await self.h.client.get("/sheets", headers=self.teacher())).json()
        sheet = next(s for s in sheets if s["class_name"] == self.class_name and s["term"] == "HK1")
        n = sheet["regular_count"]
        rows = [
            {"student_id": str(s), "regular": ["8"] * n, "midterm": "8", "final": "8"} for s in self.students
        ]
        saved = await self.h.client.put(
            f"/sheets/{sheet['id']}/scores",
            headers=self.teacher(),
            json={"expected_version": sheet["version"], "rows": rows},
        )
        assert saved.status_code == 200, saved.text
        version = (await self.h.client.get(f"/sheets/{sheet['id']}", headers=self.teacher())).json()[
            "version"
        ]
        submitted = await self.h.client.post(
            f"/sheets/{sheet['id']}/submit", headers=self.teacher(), json={"expected_version": version}
        )
        assert submitted.status_code == 200, submitted.text


@pytest.fixture(scope="module")
async def school(grades: GradesHarness) -> School:
    made = School(grades)
    await made.setup()
    await made.submit_toan_hk1()
    return made


def services(h: GradesHarness) -> Grades:
    found: Grades = h.app.state.grades
    return found


async def test_the_board_sees_counts_per_class_teacher_and_step(school: School) -> None:
    by_class = await school.get("/progress", step="score_entry", group_by="class", term="HK1")
    mine = next(g for g in by_class["groups"] if g["key"] == school.class_name)
    # Two sheets in HK1 (Toán submitted, Ngữ văn still open).
    assert (mine["total"], mine["done"], mine["missing"]) == (2, 1, 1)
    assert mine["counts"] == {"submitted": 1, "open": 1}
    assert not by_class["deadlines_known"]

    by_teacher = await school.get(
        "/progress", step="sheet_signing", group_by="teacher", class_name=school.class_name
    )
    labels = {g["label"]: (g["total"], g["done"]) for g in by_teacher["groups"]}
    assert labels == {TOAN_TEACHER: (2, 0), VAN_TEACHER: (2, 0)}
    steps = {s["key"]: (s["total"], s["done"]) for s in by_teacher["steps"]}
    assert steps["score_entry"] == (4, 1)
    assert steps["homeroom"] == (2, 0)  # two students' year records, none signed by the homeroom teacher

    by_department = await school.get(
        "/progress", step="score_entry", group_by="department", class_name=school.class_name
    )
    assert {g["label"] for g in by_department["groups"]} == {"Tổ Toán – Tin", "Tổ Ngữ văn"}
    assert school.class_name in by_department["classes"]
    assert {"value": str(school.toan), "label": TOAN_TEACHER} in by_department["teachers"]


async def test_missing_items_name_the_person_responsible(school: School) -> None:
    found = await school.get("/progress/items", class_name=school.class_name, term="HK1")
    items = found["items"]
    entry = [i for i in items if i["step"] == "score_entry"]
    assert [(i["subject"], i["responsible_name"], i["state_label"]) for i in entry] == [
        ("Ngữ văn", VAN_TEACHER, "đang nhập điểm")
    ]
    signing = {i["subject"]: i["responsible_name"] for i in items if i["step"] == "sheet_signing"}
    assert signing == {"Toán": TOAN_TEACHER, "Ngữ văn": VAN_TEACHER}
    homeroom = next(i for i in items if i["step"] == "homeroom")
    assert (homeroom["responsible_name"], homeroom["missing"], homeroom["can_remind"]) == (HOMEROOM, 2, True)
    review = next(i for i in items if i["step"] == "review")
    assert (review["responsible_name"], review["can_remind"]) == ("Phó Hiệu trưởng", False)

    only_state = await school.get("/progress/items", class_name=school.class_name, state="submitted")
    assert {i["subject"] for i in only_state["items"]} == {"Toán"}


async def test_lateness_comes_from_the_deadline_book(school: School) -> None:
    grades = services(school.h)
    closed = datetime.now(UTC) - timedelta(days=2, hours=3)
    windows = grades.progress.deadlines
    grades.progress.deadlines = Fixed(Book(school.class_name, ProgressStep.score_entry, closed))
    try:
        counts = await school.get("/progress", step="score_entry", group_by="class", term="HK1")
        mine = next(g for g in counts["groups"] if g["key"] == school.class_name)
        assert counts["deadlines_known"] is True
        assert mine["late"] == 1
        assert 2 * 86400 + 3 * 3600 - 60 <= mine["max_late_seconds"] <= 2 * 86400 + 3 * 3600 + 60
        late = await school.get("/progress/items", late_only="true")
        assert [(i["subject"], i["class_name"]) for i in late["items"]] == [("Ngữ văn", school.class_name)]
    finally:
        grades.progress.deadlines = windows


async def test_only_the_board_sees_progress(school: School) -> None:
    for path in ("/progress", "/progress/items"):
        refused = await school.h.client.get(path, headers=school.teacher())
        assert refused.status_code == 403, refused.text
    bad = await school.h.client.get(
        "/progress", params={"group_by": "nobody"}, headers=school.vice_principal()
    )
    assert bad.status_code == 422


async def test_nhac_reaches_the_teacher_in_the_portal_list_and_by_e_mail(
    school: School, smtp: tuple[Controller, Inbox]
) -> None:
    controller, inbox = smtp
    grades = services(school.h)
    grades.reminders.mailer = SmtpMailer(host="127.0.0.1", port=controller.port, sender="hbs@truong.example")
    try:
        items = (await school.get("/progress/items", class_name=school.class_name, step="sheet_signing"))[
            "items"
        ]
        toan = next(i for i in items if i["subject"] == "Toán" and i["term"] == "HK1")
        sent = await school.h.client.post(
            "/reminders",
            headers=school.vice_principal(),
            json={"step": "sheet_signing", "sheet_id": toan["sheet_id"], "note": "Hạn thứ Sáu."},
        )
        assert sent.status_code == 201, sent.text
        [reminder] = sent.json()
        assert reminder["recipient_name"] == TOAN_TEACHER
        assert reminder["email_state"] == "pending"
        assert "Toán" in reminder["message"]
        assert "Hạn thứ Sáu." in reminder["message"]

        # The audit trail (Đ9.2) keeps who reminded whom, with names.
        async with school.h.app.state.runtime.db.transaction() as session:
            logged = (
                await session.execute(
                    select(audit_trail.c.action, audit_trail.c.actor_name, audit_trail.c.details).where(
                        audit_trail.c.subject_id == reminder["id"]
                    )
                )
            ).all()
        assert [(a, n, d["recipient_name"]) for a, n, d in logged] == [
            ("reminder_sent", "Trần Thị Phó", TOAN_TEACHER)
        ]

        mine = await school.h.client.get(
            "/reminders/mine", params={"unread_only": "true"}, headers=school.teacher()
        )
        assert [r["id"] for r in mine.json()] == [reminder["id"]]
        other = await school.h.client.post(
            f"/reminders/{reminder['id']}/read", headers=school.teacher(school.van)
        )
        assert other.status_code == 404
        read = await school.h.client.post(f"/reminders/{reminder['id']}/read", headers=school.teacher())
        assert read.status_code == 200
        assert read.json()["read_at"]
        unread = await school.h.client.get(
            "/reminders/mine", params={"unread_only": "true"}, headers=school.teacher()
        )
        assert unread.json() == []

        await school.h.app.state.reminder_runner.deliver()  # the nudged runner may have sent it already
        for _ in range(50):
            received = [m for m in inbox.messages if school.email in m.rcpt_tos]
            if received:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)  # a second copy would have arrived by now
        received = [m for m in inbox.messages if school.email in m.rcpt_tos]
        assert len(received) == 1
        mail = email.message_from_bytes(received[0].content, policy=email.policy.default)
        assert mail["Subject"] == "[HBS] Nhắc việc: Bước 1: GV bộ môn ký sổ điểm"
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        assert f"Lớp {school.class_name} – môn Toán – Học kỳ I" in body.get_content()
        listed = await school.get("/reminders")
        assert next(r for r in listed if r["id"] == reminder["id"])["email_state"] == "sent"
    finally:
        grades.reminders.mailer = NoMailer()


async def test_nhac_refuses_what_no_teacher_must_do_and_callers_off_the_board(school: School) -> None:
    board_step = await school.h.client.post(
        "/reminders",
        headers=school.vice_principal(),
        json={"step": "review", "class_name": school.class_name},
    )
    assert board_step.status_code == 409
    nothing = await school.h.client.post(
        "/reminders", headers=school.vice_principal(), json={"step": "review"}
    )
    assert nothing.status_code == 422
    teacher = await school.h.client.post(
        "/reminders", headers=school.teacher(), json={"teacher_id": str(school.van)}
    )
    assert teacher.status_code == 403
    homeroom = await school.h.client.post(
        "/reminders",
        headers=school.vice_principal(),
        json={"step": "homeroom", "class_name": school.class_name},
    )
    assert homeroom.status_code == 201
    assert [r["recipient_name"] for r in homeroom.json()] == [HOMEROOM]


async def test_automatic_reminders_go_out_once_before_the_window_closes(school: School) -> None:
    h = school.h
    grades = services(h)
    # The mathematics teacher also teaches a second class: one reminder lists both.
    second = f"10Q-{uuid.uuid4().hex[:5]}"
    await school.assign(school.toan, "TOAN", TOAN_TEACHER, school.email, class_name=second)
    await h.enrol(second, ["Hồ Văn Cường"])
    closes = datetime.now(UTC) + timedelta(days=2)
    windows = grades.progress.deadlines
    book = Book({school.class_name, second}, ProgressStep.sheet_signing, closes)
    grades.progress.deadlines = Fixed(book)
    db = h.app.state.runtime.db
    try:
        async with db.transaction() as session:
            first = await grades.reminders.remind_due_soon(session)
        assert first == 2  # one to each teacher: within 3 days, nothing signed
        toan = (await h.client.get("/reminders/mine", headers=school.teacher())).json()
        [both] = [r for r in toan if r["automatic"]]
        assert f"Lớp {school.class_name} – môn Toán – Học kỳ I" in both["message"]
        assert f"Lớp {second} – môn Toán – Học kỳ I" in both["message"]
        assert both["class_name"] is None  # two classes
        async with db.transaction() as session:
            assert await grades.reminders.remind_due_soon(session) == 0
        # A restarted service (a new service object, same database) sends nothing again.
        restarted = ReminderService(grades.progress)
        async with db.transaction() as session:
            assert await restarted.remind_due_soon(session) == 0
        van = (await h.client.get("/reminders/mine", headers=school.teacher(school.van))).json()
        automatic = [r for r in van if r["automatic"]]
        assert len(automatic) == 1
        assert "còn 3 ngày" in automatic[0]["message"]
        # A day before closing, the 1-day reminder goes out, once.
        later = ReminderService(grades.progress, clock=lambda: closes - timedelta(hours=20))
        async with db.transaction() as session:
            assert await later.remind_due_soon(session) == 2
        async with db.transaction() as session:
            assert await later.remind_due_soon(session) == 0
    finally:
        grades.progress.deadlines = windows


async def test_the_schools_windows_give_the_deadlines_and_lateness(school: School) -> None:
    """Through the time windows (hbs_grades.windows): step 1 of HK1 closed three days ago, so
    every unsigned HK1 sheet is late by the time since the end of its closing day."""
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    closed_on = today - timedelta(days=3)
    window = {"period": "HK1", "step": 1, "opens_on": (closed_on - timedelta(days=30)).isoformat()}
    put = await school.h.client.put(
        "/windows",
        headers=school.vice_principal(),
        json={"school_year": YEAR, "windows": [{**window, "closes_on": closed_on.isoformat()}]},
    )
    assert put.status_code == 200, put.text
    try:
        found = await school.get(
            "/progress/items", class_name=school.class_name, step="sheet_signing", term="HK1"
        )
        due = datetime.combine(
            closed_on + timedelta(days=1), datetime.min.time(), ZoneInfo("Asia/Ho_Chi_Minh")
        )
        assert {i["subject"] for i in found["items"]} == {"Toán", "Ngữ văn"}
        for item in found["items"]:
            assert datetime.fromisoformat(item["due_at"]) == due
            expected = (datetime.now(UTC) - due).total_seconds()
            assert abs(item["late_seconds"] - expected) < 120
        reminded = await school.h.client.post(
            "/reminders",
            headers=school.vice_principal(),
            json={"step": "sheet_signing", "term": "HK1", "teacher_id": str(school.van)},
        )
        assert reminded.status_code == 201, reminded.text
        [message] = [r["message"] for r in reminded.json()]
        assert message.startswith("Phó Hiệu trưởng Trần Thị Phó nhắc thầy/cô hoàn thành:\n- Lớp ")
        assert f"hạn hết ngày {closed_on:%d/%m/%Y}, đã quá hạn 2 ngày" in message  # + the hours of today
        hk2 = await school.get(
            "/progress/items", class_name=school.class_name, step="sheet_signing", term="HK2"
        )
        assert all(i["due_at"] is None and i["late_seconds"] == 0 for i in hk2["items"])
    finally:
        removed = await school.h.client.put(
            "/windows",
            headers=school.vice_principal(),
            json={"school_year": YEAR, "windows": [{"period": "HK1", "step": 1}]},
        )
        assert removed.status_code == 200, removed.text


async def test_an_assignment_event_without_the_e_mail_keeps_the_known_address(school: School) -> None:
    """Events written before `teacher_email` existed say nothing of it: grades keeps what it has;
    one that carries None (the office removed the address) forgets it."""
    grades = services(school.h)
    event = AssignmentChanged(
        assignment_id=uuid.uuid4(),
        kind="subject_teacher",
        teacher_id=school.toan,
        teacher_name=TOAN_TEACHER,
        class_id=uuid.uuid5(uuid.NAMESPACE_URL, school.class_name),
        class_name=school.class_name,
        grade_level=10,
        subject_code="TOAN",
        school_year=YEAR,
        active=True,
    )
    envelope = make_envelope(event, SCHOOL).model_dump(mode="json")
    del envelope["payload"]["teacher_email"]  # as an identity older than the field wrote it
    consumer = next(c for c in school.h.app.state.runtime.consumers if c.topic == event.topic)
    assert await consumer.process(json.dumps(envelope).encode()) is Outcome.applied
    async with school.h.app.state.runtime.db.transaction() as session:
        assert await grades.reminders.repo.emails(session, [school.toan]) == {school.toan: school.email}
    await school.assign(school.toan, "TOAN", TOAN_TEACHER, None)
    async with school.h.app.state.runtime.db.transaction() as session:
        assert await grades.reminders.repo.emails(session, [school.toan]) == {}
    await school.assign(school.toan, "TOAN", TOAN_TEACHER, school.email)
