"""Đ8 Steps 1–4 and the correction procedure (Đ9), end to end through the portal, the real broker,
SoftHSM2 and the four services: a small class of this module's own has its sheets signed by its
teachers, the homeroom teacher signs every record of the class in one batch, the vice-principal
reviews and signs, the principal approves and seals; the final PDF validates with poppler and by
its code. Then the board corrects a signed sheet: the old record verifies as superseded and the new
one counts the correction."""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hbs_devtools.drive import SIGNING_PIN, SystemClient, sign_in_portal

from .factories import SchoolClass, SchoolFactory, password_of

# The longest flow of the suite (four signing steps, a correction, a fifth batch): minutes under load.
pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm, pytest.mark.timeout(480)]


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    """Three students; mathematics, and literature taught by the homeroom teacher (as in the demo's
    10A1), every sheet scored. The board (vice-principal, principal) is the demo school's."""
    homeroom = school.staff(["subject_teacher", "homeroom_teacher"])
    made = school.school_class(
        students=3, subjects=("TOAN", "NGU_VAN"), teachers={"NGU_VAN": homeroom}, homeroom_teacher=homeroom
    )
    for teacher in made.teachers.values():
        for sheet in school.system.sheets(school.system.token(teacher.username)):
            if sheet["class_name"] == made.name:
                school.fill_scores(teacher, sheet["id"])
    return made


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


@contextlib.contextmanager
def portal(system: SystemClient, username: str) -> Iterator[httpx.Client]:
    """A browser session signed in as `username`."""
    with httpx.Client(base_url=system.stack.url("portal"), timeout=60) as browser:
        signed_in = sign_in_portal(browser, username, password_of(username))
        assert signed_in.status_code == 303, signed_in.text
        yield browser


def sign_every_sheet(system: SystemClient, username: str, klass: SchoolClass) -> None:
    """Step 1 for the teacher's sheets of the class."""
    token = system.token(username)
    for sheet in system.sheets(token):
        if sheet["class_name"] != klass.name or sheet["state"] == "signed":
            continue
        if sheet["state"] == "open":
            system.submit_and_sign(token, sheet)
        elif sheet["state"] == "submitted":
            activation = system.activate(token, sheet["id"])
            with system.client("grades", token) as grades:
                body = {"expected_version": sheet["version"], "activation_id": activation}
                assert grades.post(f"/sheets/{sheet['id']}/sign", json=body).status_code == 202
        system.wait_for_state(token, sheet["id"], "signed")


def set_conduct(system: SystemClient, klass: SchoolClass) -> None:
    assert klass.homeroom is not None
    token = system.token(klass.homeroom.username)
    with system.client("grades", token) as grades:
        students = grades.get(f"/classes/{klass.name}/conduct").json()
        rows = [
            {"student_id": s["student_id"], "term": t, "conduct": "T"}
            for s in students
            for t in ("HK1", "HK2")
        ]
        saved = grades.put(f"/classes/{klass.name}/conduct", json={"rows": rows})
        assert saved.status_code == 200, saved.text


def post_sign_form(browser: httpx.Client, page: str) -> str:
    """Submit the page's batch signing form with the PIN; the batch id it redirects to."""
    form = re.search(r'<form class="sign" method="post" action="/records/sign">(.*?)</form>', page, re.S)
    assert form is not None, page
    fields: dict[str, Any] = {}
    for name, value in re.findall(
        r'<input type="(?:hidden|checkbox)" name="(\w+)" value="([^"]*)"', form.group(1)
    ):
        fields.setdefault(name, []).append(value)
    data = {k: v if k == "class_names" else v[0] for k, v in fields.items()}
    started = browser.post("/records/sign", data={**data, "pin": SIGNING_PIN})
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert location.startswith("/records/batches/")
    return location.rsplit("/", 1)[1]


def wait_for_batch(browser: httpx.Client, batch_id: str) -> str:
    deadline = time.monotonic() + 300
    while True:
        page = browser.get(f"/records/batches/{batch_id}").text
        if "Đã xử lý xong" in page:
            assert 'http-equiv="refresh"' not in page
            return page
        assert 'http-equiv="refresh"' in page  # the page refreshes itself while signing
        assert time.monotonic() < deadline, page
        time.sleep(0.3)


def records_of(system: SystemClient, username: str, klass: SchoolClass) -> dict[str, Any]:
    with system.client("grades", system.token(username)) as grades:
        listed = grades.get(f"/records/classes/{klass.name}")
        assert listed.status_code == 200, listed.text
        return dict(listed.json())


def test_a_class_record_is_signed_in_four_steps_then_corrected_under_minutes(
    system: SystemClient, tmp_path: Path, klass: SchoolClass, school: SchoolFactory
) -> None:
    assert klass.homeroom is not None
    van, toan_teacher = klass.homeroom.username, klass.teachers["TOAN"].username
    for username in (van, "phohieutruong", "hieutruong", toan_teacher):
        system.ensure_pin(system.token(username))
    with portal(system, van) as homeroom:
        page = homeroom.get("/records/homeroom").text
        assert "Học bạ lớp" in page
        if "Chưa ký học bạ được" in page:
            assert "còn thiếu" in page
        sign_every_sheet(system, toan_teacher, klass)
        sign_every_sheet(system, van, klass)
        set_conduct(system, klass)
        school.verify_students(klass)  # Đ6.1: the personal data checked before step 2

        # Step 2: the homeroom teacher signs every record of the class with one PIN entry.
        page = homeroom.get("/records/homeroom").text
        assert "Ký học bạ cả lớp" in page, page
        wrong = homeroom.post(
            "/records/sign",
            data={"csrf": csrf_of(page), "step": "homeroom", "class_names": klass.name, "pin": "000000"},
        )
        assert wrong.status_code == 403
        assert "Mã PIN ký số không đúng" in wrong.text
        forged = homeroom.post(
            "/records/sign",
            data={"csrf": "x" * 20, "step": "homeroom", "class_names": klass.name, "pin": SIGNING_PIN},
        )
        assert forged.status_code == 403
        assert records_of(system, van, klass)["counts"] == {
            "draft": len(records_of(system, van, klass)["records"])
        }
        wait_for_batch(homeroom, post_sign_form(homeroom, page))
    listed = records_of(system, van, klass)
    total = len(listed["records"])
    assert listed["counts"] == {"homeroom_signed": total}

    # The vice-principal returns one record with a reason; the homeroom teacher signs it again.
    returned = listed["records"][0]
    with portal(system, "phohieutruong") as vice:
        page = vice.get(f"/records/view/{returned['id']}").text
        assert "Trả lại GVCN" in page
        form = {"csrf": csrf_of(page), "version": str(returned["version"])}
        no_reason = vice.post(f"/records/view/{returned['id']}/return", data={**form, "reason": " "})
        assert no_reason.status_code == 422
        assert "Lý do trả lại: cần ghi rõ" in no_reason.text
        done = vice.post(
            f"/records/view/{returned['id']}/return", data={**form, "reason": "Nhận xét chưa khớp kết quả"}
        )
        assert done.status_code == 303
        assert "Đã trả lại học bạ cho GVCN." in vice.get(done.headers["location"]).text
    with portal(system, van) as homeroom:
        page = homeroom.get("/records/homeroom").text
        assert "Trả lại: Nhận xét chưa khớp kết quả" in page
        assert "Ký học bạ cả lớp (1 học bạ)" in page
        wait_for_batch(homeroom, post_sign_form(homeroom, page))
    assert records_of(system, van, klass)["counts"] == {"homeroom_signed": total}

    # Step 4 before step 3 is refused, naming what is missing (Đ3).
    with system.client("grades", system.token("hieutruong")) as grades:
        early = grades.post(
            "/records/sign",
            json={
                "step": "principal",
                "activation_id": "00000000-0000-0000-0000-000000000001",
                "batch_id": "00000000-0000-0000-0000-000000000002",
                "class_names": [klass.name],
            },
        )
    assert early.status_code == 409
    assert "chưa đủ chữ ký GVCN và PHT" in early.json()["title"]

    # Step 3: the vice-principal checks a random sample of the class, then signs it.
    school.pass_review_sample(klass)
    with portal(system, "phohieutruong") as vice:
        assert klass.name in vice.get("/records/review").text
        page = vice.get(f"/records/classes/{klass.name}").text
        assert "Ký duyệt học bạ cả lớp" in page
        wait_for_batch(vice, post_sign_form(vice, page))
    assert records_of(system, "phohieutruong", klass)["counts"] == {"reviewed": total}

    # Step 4: the principal signs every ready class; signing adds the seal and a document timestamp.
    with portal(system, "hieutruong") as head:
        page = head.get("/records/approve").text
        assert "Ký phê duyệt và đóng dấu" in page
        wait_for_batch(head, post_sign_form(head, page))
        listed = records_of(system, "hieutruong", klass)
        assert listed["counts"] == {"approved": total}
        record = listed["records"][0]
        pdf = head.get(f"/records/view/{record['id']}/document")
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        with system.client("signing", system.token("hieutruong")) as signing:
            document = signing.get(f"/documents/{record['document_id']}").json()
        assert (document["signature_count"], document["sealed"]) == (4, True)
        code = document["verification_code"]
        assert "đây là phiên bản hiện hành" in head.get(f"/verify/{code}").text

    path = tmp_path / "record.pdf"
    path.write_bytes(pdf.content)
    report = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    # Four signatures (homeroom, vice-principal, principal, seal) that poppler validates, then the
    # document timestamp (B-LTA), which poppler lists without checking and which covers the file.
    assert len(re.findall(r"Signature is Valid", report)) == 4, report
    for field in ("Sig1_GVCN", "Sig2_PHT", "Sig3_HT", "Sig4_DauTruong"):
        assert f"Signature Field Name: {field}" in report
    timestamp = report.split("Signature #5:")[1]
    assert "Timestamp" in timestamp
    assert "Total document signed" in timestamp
    with httpx.Client(base_url=system.stack.url("signing"), timeout=60) as public:
        verified = public.get(f"/verify/{code}").json()
    assert (verified["verdict"], verified["document"]["status"]) == ("valid", "current")

    # Đ9: the principal opens a correction of a signed sheet with the minutes; the teacher corrects it.
    toan = system.token(toan_teacher)
    sheet = next(
        s
        for s in system.sheets(toan)
        if s["class_name"] == klass.name and s["subject"] == "Toán" and s["term"] == "HK2"
    )
    with system.client("grades", toan) as grades:
        first = grades.get(f"/sheets/{sheet['id']}/scores").json()["rows"][0]["student_id"]
    with system.client("grades", system.token("hieutruong")) as grades:
        opened = grades.post(
            f"/sheets/{sheet['id']}/corrections",
            json={
                "expected_version": sheet["version"],
                "minutes_number": "07/BB-HBS",
                "minutes_date": time.strftime("%Y-%m-%d"),
                "reason": "Nhập nhầm điểm cuối kỳ",
                "present": ["Hiệu trưởng", "Giáo viên bộ môn Toán"],
                "cells": [{"student_id": first, "column": "final"}],
            },
        )
    assert opened.status_code == 201, opened.text
    # The principal signs the minutes (the sheet is signed again only after them).
    head_token = system.token("hieutruong")
    correction = opened.json()["correction_id"]
    activation = system.activate(head_token, correction)
    with system.client("grades", head_token) as grades:
        minutes = f"/sheets/{sheet['id']}/corrections/{correction}/minutes/sign"
        assert grades.post(minutes, json={"activation_id": activation}).status_code == 202
        deadline = time.monotonic() + 90
        while grades.get(f"/sheets/{sheet['id']}/corrections").json()[0]["minutes_state"] != "signed":
            assert time.monotonic() < deadline
            time.sleep(0.3)
    with system.client("grades", toan) as grades:
        scores = grades.get(f"/sheets/{sheet['id']}/scores").json()
        row = scores["rows"][0]
        corrected = "10" if row["final"] != "10" else "9"
        saved = grades.put(
            f"/sheets/{sheet['id']}/scores",
            json={
                "expected_version": scores["sheet"]["version"],
                "rows": [{"student_id": row["student_id"], "final": corrected}],
            },
        )
        assert saved.status_code == 200, saved.text
    system.submit_and_sign(toan, saved.json()["sheet"])
    resigned = system.wait_for_state(toan, sheet["id"], "signed")
    assert resigned["document_id"] != sheet["document_id"]

    # The class's records went back to the homeroom teacher; signed again, the sealed PDF is superseded.
    listed = records_of(system, van, klass)
    assert listed["counts"] == {"draft": total}
    mine = next(r for r in listed["records"] if r["student_id"] == row["student_id"])
    with system.client("grades", system.token(van)) as grades:
        content = grades.get(f"/records/{mine['id']}").json()["content"]
    # A new edition: the second, or the third for the record returned once before.
    editions = 3 if mine["id"] == returned["id"] else 2
    assert (content["record_version"], content["corrections_count"], content["corrections_subjects"]) == (
        editions,
        1,
        ["Toán"],
    )
    with portal(system, van) as homeroom:
        wait_for_batch(homeroom, post_sign_form(homeroom, homeroom.get("/records/homeroom").text))
        assert "đã có phiên bản mới hơn thay thế" in homeroom.get(f"/verify/{code}").text
    with system.client("signing", toan) as signing:
        old_pdf = signing.get(f"/documents/{sheet['document_id']}/pdf").content
    with httpx.Client(base_url=system.stack.url("signing"), timeout=60) as public:
        old_record = public.get(f"/verify/{code}").json()
        old_sheet = public.post(
            "/verify", content=old_pdf, headers={"content-type": "application/pdf"}
        ).json()
    assert (old_record["verdict"], old_record["document"]["status"]) == ("valid", "superseded")
    assert old_sheet["document"]["status"] == "superseded"
    assert records_of(system, van, klass)["counts"] == {"homeroom_signed": total}
