"""Đ9.2 through the portal, on the real stack: a correction of a signed score sheet from the minutes
to the re-signed records. A class of this module's own (one subject, two students) has both sheets
signed and its records signed at step 2; the principal opens a correction from the signed sheet with
the minutes (who was present, one cell, why) and signs the minutes with the PIN — the minutes' PDF
verifies; the teacher may change that cell only, changes it and signs the sheet again; the records
are signed again from step 2; the old sheet and the old record verify as superseded."""

from __future__ import annotations

import html
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hbs_devtools.drive import SIGNING_PIN, SystemClient

from .factories import SchoolClass, SchoolFactory
from .test_year_records import csrf_of, portal, post_sign_form, records_of, set_conduct, wait_for_batch

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    """Two students, mathematics only, taught by their homeroom teacher; scores complete."""
    teacher = school.staff(["subject_teacher", "homeroom_teacher"])
    made = school.school_class(
        students=2, subjects=("TOAN",), teachers={"TOAN": teacher}, homeroom_teacher=teacher
    )
    for sheet in school.system.sheets(school.system.token(teacher.username)):
        if sheet["class_name"] == made.name:
            school.fill_scores(teacher, sheet["id"])
    return made


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


def test_a_signed_sheet_is_corrected_under_signed_minutes_and_the_records_are_signed_again(
    system: SystemClient, klass: SchoolClass, school: SchoolFactory, tmp_path: Path
) -> None:
    teacher = klass.teachers["TOAN"].username
    token = system.token(teacher)
    for username in (teacher, "hieutruong"):
        system.ensure_pin(system.token(username))
    # Step 1 for both semesters, conduct, then step 2 by the homeroom teacher (set-up, as in Đ8).
    with portal(system, teacher) as browser:
        for sheet in system.sheets(token):
            if sheet["class_name"] == klass.name:
                page = browser.get("/sheets").text
                signed = browser.post(
                    f"/sheets/{sheet['id']}/sign",
                    data={"csrf": csrf_of(page), "version": sheet["version"], "pin": SIGNING_PIN},
                )
                assert signed.status_code == 303, signed.text
                system.wait_for_state(token, sheet["id"], "signed")
        set_conduct(system, klass)
        school.verify_students(klass)  # Đ6.1: the homeroom teacher's check comes before step 2
        wait_for_batch(browser, post_sign_form(browser, browser.get("/records/homeroom").text))
    records = records_of(system, teacher, klass)
    assert set(records["counts"]) == {"homeroom_signed"}
    with system.client("signing", token) as signing:
        old_record_code = signing.get(f"/documents/{records['records'][0]['document_id']}").json()[
            "verification_code"
        ]
    sheet = next(s for s in system.sheets(token) if s["class_name"] == klass.name and s["term"] == "HK2")
    first, second = (s.id for s in klass.students)
    with system.client("grades", token) as grades:
        rows = grades.get(f"/sheets/{sheet['id']}/scores").json()["rows"]
    signed_finals = {r["student_id"]: r["final"] for r in rows}

    # The principal opens the correction from the signed sheet's page with the minutes.
    with portal(system, "hieutruong") as head:
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
    with portal(system, teacher) as browser:
        page = browser.get(f"/sheets/{sheet['id']}/scores").text
        assert "biên bản số 15/BB-HBS" in page
        fields = grid_fields(page)
        assert "c0_final" in fields
        assert "c1_final" not in fields
        assert "c0_midterm" not in fields
        [old_final] = fields["c0_final"]
        corrected = "10" if old_final != "10" else "9"
        # A forged post of another cell is refused by grades, naming it; nothing is saved.
        forged = browser.post(f"/sheets/{sheet['id']}/scores", data={**fields, "c1_final": ["3"]})
        assert forged.status_code == 422
        assert "không thuộc biên bản điều chỉnh số 15/BB-HBS" in forged.text
        saved = browser.post(f"/sheets/{sheet['id']}/scores", data={**fields, "c0_final": [corrected]})
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
        assert finals == {first: corrected, second: signed_finals[second]}

        # The class's records went back to step 2: signed again, counting the corrected cell.
        page = browser.get("/records/homeroom").text
        assert "Ký học bạ cả lớp" in page
        wait_for_batch(browser, post_sign_form(browser, page))
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
    with portal(system, "hieutruong") as head:
        page = head.get(f"/sheets/{sheet['id']}/corrections").text
        assert "Đã đóng: ký lại" in page
        assert "Bản cũ (đã thay thế)" in page
        assert "Mở điều chỉnh (biên bản)" in page  # signed again: a new correction could be opened
