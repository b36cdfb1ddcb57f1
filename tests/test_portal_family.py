"""Parents and students read results on the running system (Đ9): a parent sees their children's
signed results and signed học bạ, never another family's child; a student only themself. Year
records are signed for real: steps 2–4 requested on the bus, signed by signing.

The module's own school data (tests/factories.py): A = a student of class X who signs in, the
parent's child; C = the parent's other child, in class Y; B = another family's child in X."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import jwt
import pytest
from faststream.kafka import KafkaBroker
from playwright.sync_api import Page, expect

from hbs_devtools.drive import SystemClient, sign_in_portal
from hbs_shared.display import average_text
from hbs_shared.events.contracts import RecordSigningRequested
from hbs_shared.events.envelope import make_envelope
from hbs_shared.records import StudentPersonalData
from hbs_signing.samples import year_record_content

from .a11y import assert_accessible
from .factories import Person, SchoolClass, SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]

STEPS = (("van", "homeroom_teacher"), ("vice", "vice_principal"), ("head", "principal"))
"""Who signs each step: keys of the `tokens` fixture (the board is the demo school's)."""


@dataclass
class Family:
    x: SchoolClass
    """A and B's class; its homeroom teacher also teaches Ngữ văn there."""
    a: uuid.UUID
    b: uuid.UUID
    c: uuid.UUID
    parent: Person
    student: Person
    """A, who signs in."""


@pytest.fixture(scope="module")
def family(school: SchoolFactory) -> Family:
    homeroom = school.staff(["subject_teacher", "homeroom_teacher"])
    x = school.school_class(
        students=2,
        student_logins=True,
        subjects=("TOAN", "NGU_VAN"),
        teachers={"NGU_VAN": homeroom},
        homeroom_teacher=homeroom,
    )
    y = school.school_class(students=1, subjects=("TOAN",), homeroom=False)
    a, b = x.students
    parent = school.parent([a, y.students[0]])
    return Family(x, uuid.UUID(a.id), uuid.UUID(b.id), uuid.UUID(y.students[0].id), parent, a)


@dataclass
class Signed:
    records: dict[uuid.UUID, str]
    """Student id → the sealed year record's document id."""
    unsealed: dict[uuid.UUID, str]
    """Student id → the homeroom teacher's version (one signature, not yet sealed)."""
    van_hk2: str
    """A's signed Ngữ văn HK2 result, as the teacher sees it."""
    van_hk1_shown: str
    """What a family sees for Ngữ văn HK1: "Chưa có": this module never signs that sheet."""


def _publish(bootstrap: str, school_id: str, request: RecordSigningRequested) -> None:
    async def send() -> None:
        broker = KafkaBroker(bootstrap)
        await broker.start()
        try:
            body = json.dumps(make_envelope(request, school_id).model_dump(mode="json")).encode()
            await broker.publish(body, topic=request.topic, key=request.partition_key().encode())
        finally:
            await broker.stop()

    asyncio.run(send())


def _wait(what: str, probe: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def _sign_year_record(
    system: SystemClient, tokens: dict[str, str], student_id: uuid.UUID, school_year: str
) -> tuple[str, str]:
    """Steps 2–4 of one student's year record; returns (sealed document, first version)."""
    with system.client("identity", tokens["head"]) as identity:
        person = identity.get(f"/students/{student_id}").json()
    school_id = str(jwt.decode(tokens["head"], options={"verify_signature": False})["school_id"])
    record = year_record_content().model_copy(
        update={
            "record_id": uuid.uuid4(),
            "school_year": school_year,
            "student": StudentPersonalData(
                student_id=student_id,
                national_id=person["national_id"],
                full_name=person["full_name"],
                gender=person["gender"],
                date_of_birth=date.fromisoformat(person["date_of_birth"]),
            ),
        }
    )
    base: str | None = None
    first = ""
    for step, (who, role) in enumerate(STEPS, start=1):
        activation = system.activate(tokens[who], str(record.record_id))
        claims = jwt.decode(tokens[who], options={"verify_signature": False})
        _publish(
            system.stack.broker.bootstrap,
            school_id,
            RecordSigningRequested(
                request_id=uuid.uuid4(),
                activation_id=uuid.UUID(activation),
                signer_user_id=uuid.UUID(str(claims["sub"])),
                signer_name=str(claims["name"]),
                signer_role=role,
                base_document_id=uuid.UUID(base) if base else None,
                record=record,
            ),
        )

        def newest(step: int = step) -> dict[str, Any] | None:
            # The principal (an overseer) lists every version, sealed or not.
            with system.client("signing", tokens["head"]) as signing:
                listed = signing.get(f"/documents/students/{student_id}/records").json()
            mine = [d for d in listed if d["record_id"] == str(record.record_id)]
            return mine[0] if mine and mine[0]["signature_count"] >= step else None

        document = _wait(f"{role} signature", newest)
        base = document["document_id"]
        first = first or document["document_id"]
    assert document["sealed"] is True
    return str(base), first


@pytest.fixture(scope="module")
def tokens(system: SystemClient, family: Family) -> dict[str, str]:
    assert family.x.homeroom is not None
    names = {
        "toan": family.x.teachers["TOAN"].username,
        "van": family.x.homeroom.username,
        "vice": "phohieutruong",
        "head": "hieutruong",
        "parent": family.parent.username,
        "student": family.student.username,
    }
    return {key: system.token(name) for key, name in names.items()}


@pytest.fixture(scope="module")
def signed(system: SystemClient, school: SchoolFactory, tokens: dict[str, str], family: Family) -> Signed:
    A, B = family.a, family.b  # noqa: N806 — the module docstring's names
    # Grades builds its roster from identity's events: wait until it knows the parent's children.
    with system.client("grades", tokens["parent"]) as grades:
        _wait("the children in grades", lambda: len(grades.get("/family/students").json()) == 2)
    van = tokens["van"]
    assert family.x.homeroom is not None
    # Văn HK2 scored and signed; Văn HK1 stays unsigned.
    sheet = next(
        s
        for s in system.sheets(van)
        if s["class_name"] == family.x.name and s["subject_code"] == "NGU_VAN" and s["term"] == "HK2"
    )
    system.submit_and_sign(van, school.fill_scores(family.x.homeroom, sheet["id"])["sheet"])
    system.wait_for_state(van, sheet["id"], "signed")
    with system.client("grades", van) as grades:
        seen = grades.get(f"/results/students/{A}").json()
    van_hk2 = next(s["semester2"] for s in seen["subjects"] if s["code"] == "NGU_VAN")
    hk1 = next(
        s
        for s in system.sheets(van)
        if s["class_name"] == family.x.name and s["subject_code"] == "NGU_VAN" and s["term"] == "HK1"
    )
    hk1_value = next(s["semester1"] for s in seen["subjects"] if s["code"] == "NGU_VAN")
    hk1_shown = str(hk1_value) if hk1["state"] == "signed" else "Chưa có"
    records, unsealed = {}, {}
    for student in (A, B):
        records[student], unsealed[student] = _sign_year_record(system, tokens, student, family.x.school_year)
    return Signed(records, unsealed, str(van_hk2), hk1_shown)


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_signing_gives_a_parent_their_childs_sealed_record_and_nothing_else(
    system: SystemClient, tokens: dict[str, str], signed: Signed, family: Family
) -> None:
    A, B = family.a, family.b  # noqa: N806 — the module docstring's names
    parent, student = tokens["parent"], tokens["student"]
    with httpx.Client(base_url=system.stack.url("signing"), timeout=30) as signing:
        listed = signing.get(f"/documents/students/{A}/records", headers=_auth(parent)).json()
        assert [d["document_id"] for d in listed] == [signed.records[A]]
        for who in (parent, student):
            pdf = signing.get(f"/documents/{signed.records[A]}/pdf", headers=_auth(who))
            assert pdf.status_code == 200
            assert pdf.content.startswith(b"%PDF")
            # Another family's child, and A's version still being signed: not found.
            for other in (signed.records[B], signed.unsealed[A]):
                refused = signing.get(f"/documents/{other}/pdf", headers=_auth(who))
                assert refused.status_code == 404
                assert refused.json()["field"] == "document_id"
            assert signing.get(f"/documents/students/{B}/records", headers=_auth(who)).status_code == 404
        # A teacher who did not sign it is not an overseer: the record is not theirs to read.
        assert (
            signing.get(f"/documents/{signed.records[A]}/pdf", headers=_auth(tokens["toan"])).status_code
            == 404
        )
        # The signer of a version keeps reading it; the principal reads every version.
        mine = signing.get(f"/documents/{signed.unsealed[A]}/pdf", headers=_auth(tokens["van"]))
        assert mine.status_code == 200
        # ... and the later versions that carry their signature (the sealed record of their class).
        later = signing.get(f"/documents/{signed.records[A]}/pdf", headers=_auth(tokens["van"]))
        assert later.status_code == 200
        sealed = signing.get(f"/documents/{signed.records[B]}/pdf", headers=_auth(tokens["head"]))
        assert sealed.status_code == 200


@contextlib.contextmanager
def _portal_login(system: SystemClient, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.stack.url("portal"), timeout=30) as browser:
        answer = sign_in_portal(browser, username, password_of(username))
        assert answer.status_code == 303
        # The family's home page is their results (the first entry of their menu).
        assert answer.headers["location"] == "/results"
        yield browser


def test_portal_parent_sees_their_children_and_404_for_another_child(
    system: SystemClient, signed: Signed, family: Family
) -> None:
    A, B, C = family.a, family.b, family.c  # noqa: N806 — the module docstring's names
    with _portal_login(system, family.parent.username) as browser:
        home = browser.get("/results")
        assert home.status_code == 200
        assert "Kết quả học tập" in home.text
        assert f'data-student="{A}"' in home.text
        assert f'data-student="{C}"' in home.text
        assert f'data-student="{B}"' not in home.text
        page = browser.get(f"/results/{A}")
        assert page.status_code == 200
        van_row = page.text.split('data-subject="NGU_VAN"', 1)[1].split("</tr>", 1)[0]
        cells = re.findall(r"<td>(.*?)</td>", van_row)
        assert cells[:3] == [
            "Ngữ văn",
            signed.van_hk1_shown,
            average_text(signed.van_hk2),
        ]  # decimal comma (issue 15); an average of 7.0 reads "7", as every score does
        assert "Kết quả rèn luyện" in page.text
        assert "Lên lớp" in page.text
        assert "Tải học bạ đã ký (PDF)" in page.text
        pdf = browser.get(f"/results/{A}/records/{signed.records[A]}")
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        # Another family's child's id typed by hand: not found, in Vietnamese, nothing of theirs shown.
        other = browser.get(f"/results/{B}")
        assert other.status_code == 404
        assert "Không tìm thấy học sinh" in other.text
        assert browser.get(f"/results/{B}/records/{signed.records[B]}").status_code == 404
        assert browser.get(f"/results/{A}/records/{signed.records[B]}").status_code == 404
        # A parent has no sheets menu and no business there.
        assert 'href="/sheets"' not in page.text


def test_portal_student_sees_themself_and_404_for_another_student(
    system: SystemClient, signed: Signed, family: Family
) -> None:
    A, B, C = family.a, family.b, family.c  # noqa: N806 — the module docstring's names
    with _portal_login(system, family.student.username) as browser:
        # One student: the home page is their results at once, with no list to choose from.
        home = browser.get("/results")
        assert home.status_code == 200
        assert "Tải học bạ đã ký (PDF)" in home.text
        assert "Chọn học sinh khác" not in home.text
        mine = browser.get(f"/results/{A}")
        assert mine.status_code == 200
        assert f"/results/{A}/records/{signed.records[A]}" in mine.text
        for other in (B, C):
            refused = browser.get(f"/results/{other}")
            assert refused.status_code == 404
            assert "Không tìm thấy học sinh" in refused.text
        assert browser.get(f"/results/{B}/records/{signed.records[B]}").status_code == 404


def test_browser_parent_chooses_a_child_and_reads_the_signed_results(
    page: Page, system: SystemClient, signed: Signed, family: Family
) -> None:
    A = family.a  # noqa: N806 — the module docstring's names
    page.goto(system.stack.url("portal") + "/")
    page.get_by_label("Tên đăng nhập").fill(family.parent.username)
    page.get_by_label("Mật khẩu").fill(password_of(family.parent.username))
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Kết quả học tập")).to_be_visible()
    expect(page.get_by_role("link", name="Kết quả học tập")).to_be_visible()
    expect(page.locator("tr[data-student]")).to_have_count(2)
    assert_accessible(page)
    page.locator(f'tr[data-student="{A}"]').get_by_role("link", name="Xem kết quả").click()
    van = page.locator('tr[data-subject="NGU_VAN"] td')
    expect(van.nth(1)).to_have_text(signed.van_hk1_shown)  # an unsigned sheet: no draft score
    expect(van.nth(2)).to_have_text(average_text(signed.van_hk2))
    # The ratings shown are grades' answer for the family (signed sheets only), in words.
    with system.client("grades", system.token(family.parent.username)) as grades:
        result = grades.get(f"/family/students/{A}/results").json()["result"]
    words = {"T": "Tốt", "K": "Khá", "Đ": "Đạt", "CĐ": "Chưa đạt", None: "Chưa có"}
    expect(page.locator('tr[data-row="learning"] td').nth(1)).to_have_text(
        words[result["learning_semester1"]]
    )
    expect(page.locator('tr[data-row="conduct"] td').nth(3)).to_have_text(words[result["conduct_year"]])
    link = page.get_by_role("link", name="Tải học bạ đã ký (PDF)")
    expect(link).to_be_visible()
    assert_accessible(page)
    answer = page.request.get(system.stack.url("portal") + str(link.get_attribute("href")))
    assert answer.status == 200
    assert answer.body().startswith(b"%PDF")
    page.get_by_role("link", name="← Chọn học sinh khác").click()
    expect(page.locator("tr[data-student]")).to_have_count(2)
