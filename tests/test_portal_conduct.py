"""Conduct and attendance through the portal (Đ6: the homeroom teacher compiles conduct; Thông tư 22
rèn luyện, sessions absent, summer conduct training), against the running system."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from hbs_devtools.drive import SystemClient, sign_in_portal

from .factories import SchoolClass, SchoolFactory, password_of, wait_until

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    """This module's class: four students, a homeroom teacher and a mathematics teacher."""
    return school.school_class(students=4, subjects=("TOAN",))


@pytest.fixture(scope="module")
def page_path(klass: SchoolClass) -> str:
    return f"/classes/{klass.name}/conduct"


@contextmanager
def portal_as(system: SystemClient, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.stack.url("portal"), timeout=60) as browser:
        signed = sign_in_portal(browser, username, password_of(username))
        assert signed.status_code == 303, signed.text
        yield browser


def form_fields(page: str, path: str) -> dict[str, Any]:
    """The conduct form's fields as a browser would send them."""
    start = page.index(f'action="{path}"')
    form = page[start : page.index("</form>", start)]
    fields: dict[str, Any] = {"sid": re.findall(r'name="sid" value="([^"]+)"', form)}
    fields.update(re.findall(r'name="(csrf|section)" value="([^"]*)"', form))
    for name, value in re.findall(r'<input name="([^"]+)" value="([^"]*)"', form):
        fields[name] = html.unescape(value)
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        fields[name] = html.unescape(chosen.group(1)) if chosen else ""
    return fields


def conduct(system: SystemClient, token: str, klass: SchoolClass) -> list[dict[str, Any]]:
    with system.client("grades", token) as grades:
        answer = grades.get(f"/classes/{klass.name}/conduct")
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


@pytest.fixture(scope="module")
def homeroom(system: SystemClient, klass: SchoolClass) -> Iterator[httpx.Client]:
    assert klass.homeroom is not None
    with portal_as(system, klass.homeroom.username) as browser:
        yield browser


@pytest.fixture(scope="module")
def token(system: SystemClient, klass: SchoolClass) -> str:
    """The homeroom teacher's token, once grades' roster has the whole class (events)."""
    assert klass.homeroom is not None
    token = system.token(klass.homeroom.username)
    wait_until("the class in grades", lambda: len(conduct(system, token, klass)) == len(klass.students))
    return token


def test_the_homeroom_teacher_finds_the_class_and_saves_conduct_and_absences(
    system: SystemClient, homeroom: httpx.Client, token: str, klass: SchoolClass, page_path: str
) -> None:
    classes = homeroom.get("/classes").text
    assert f'href="{page_path}"' in classes
    assert "Chủ nhiệm" in classes
    page = homeroom.get(page_path + "?term=HK2").text
    form = form_fields(page, page_path)
    assert form["section"] == "HK2"
    form.update(c0_conduct="T", c0_conduct_comment="Gương mẫu", c0_absent_excused="2", c1_conduct="K")
    saved = homeroom.post(page_path, data=form)
    assert saved.status_code == 303
    assert saved.headers["location"] == page_path + "?term=HK2&notice=saved"

    after = homeroom.get(saved.headers["location"]).text
    assert "Đã lưu." in after
    rows = conduct(system, token, klass)
    assert rows[0]["terms"]["HK2"] == {
        "conduct": "T",
        "conduct_comment": "Gương mẫu",
        "absent_excused": 2,
        "absent_unexcused": 0,
    }
    assert rows[1]["terms"]["HK2"]["conduct"] == "K"
    # The change log on the same page: who, which item, old → new.
    assert klass.homeroom is not None
    assert re.search(
        rf"<td>{klass.homeroom.full_name}</td><td>[^<]+</td><td>Học kỳ II</td><td>Rèn luyện</td>"
        r"\s*<td>\(trống\) → T</td>",
        after,
    )


def test_a_refused_value_is_shown_on_its_cell_and_nothing_is_saved(
    system: SystemClient, homeroom: httpx.Client, token: str, klass: SchoolClass, page_path: str
) -> None:
    before = conduct(system, token, klass)
    form = form_fields(homeroom.get(page_path + "?term=HK1").text, page_path)
    form.update(c0_conduct="T", c2_absent_unexcused="ba")
    refused = homeroom.post(page_path, data=form)
    assert refused.status_code == 422
    assert "Có ô không hợp lệ, chưa lưu gì" in refused.text
    assert re.search(r'name="c2_absent_unexcused" value="ba"[^>]*class="bad"', refused.text)
    assert "số buổi nghỉ là số nguyên từ 0 đến 200" in refused.text
    assert re.search(r'<option value="T" selected>', refused.text)  # the valid typed value is kept
    assert conduct(system, token, klass) == before


def test_summer_training_is_entered_at_year_end_for_a_student_whose_year_conduct_is_chua_dat(
    system: SystemClient, homeroom: httpx.Client, token: str, klass: SchoolClass, page_path: str
) -> None:
    student = conduct(system, token, klass)[-1]
    with system.client("grades", token) as grades:
        answer = grades.put(
            f"/classes/{klass.name}/conduct",
            json={
                "rows": [
                    {"student_id": student["student_id"], "term": term, "conduct": "CĐ"}
                    for term in ("HK1", "HK2")
                ]
            },
        )
    assert answer.status_code == 200, answer.text
    page = homeroom.get(page_path + "?term=year-end").text
    assert student["full_name"] in page
    form = form_fields(page, page_path)
    index = form["sid"].index(student["student_id"])
    form[f"c{index}_summer_training"] = "Đ"
    saved = homeroom.post(page_path, data=form)
    assert saved.status_code == 303, saved.text
    after = next(r for r in conduct(system, token, klass) if r["student_id"] == student["student_id"])
    assert after["summer_training"] == "Đ"
    assert "Rèn luyện hè" in homeroom.get(saved.headers["location"]).text


def test_another_teacher_of_the_class_reads_but_cannot_change_conduct(
    system: SystemClient, token: str, klass: SchoolClass, page_path: str
) -> None:
    before = conduct(system, token, klass)
    with portal_as(system, klass.teachers["TOAN"].username) as colleague:
        page = colleague.get(page_path + "?term=HK2")
        assert page.status_code == 200
        assert "Chỉ giáo viên chủ nhiệm của lớp nhập được mục này; bạn đang xem." in page.text
        assert 'name="c0_conduct"' not in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        form = {"csrf": csrf.group(1), "section": "HK2", "sid": [before[0]["student_id"]], "c0_conduct": "CĐ"}
        refused = colleague.post(page_path, data=form)
        assert refused.status_code == 403
        assert "Chỉ giáo viên chủ nhiệm của lớp mới nhập được mục này" in refused.text
        # A class they neither teach nor lead does not exist for them.
        assert colleague.get("/classes/12A9/conduct").status_code == 404
    assert conduct(system, token, klass) == before


def test_the_principal_reads_a_class_conduct(system: SystemClient, page_path: str) -> None:
    with portal_as(system, "hieutruong") as principal:
        page = principal.get(page_path + "?term=HK2")
        assert page.status_code == 200
        assert "Gương mẫu" in page.text
        assert "bạn đang xem" in page.text
        assert principal.get(page_path + "?term=HK3").status_code == 422


def test_a_re_examination_result_is_entered_at_year_end_and_a_bad_one_is_refused_on_its_cell(
    system: SystemClient, homeroom: httpx.Client, token: str, klass: SchoolClass, page_path: str
) -> None:
    student = conduct(system, token, klass)[-2]
    maths = system.token(klass.teachers["TOAN"].username)
    # Conduct Tốt but mathematics failed in both semesters (ĐTBmcn < 5): re-examined in mathematics.
    for sheet in (s for s in system.sheets(maths) if s["class_name"] == klass.name):
        with system.client("grades", maths) as grades:
            low = grades.put(
                f"/sheets/{sheet['id']}/scores",
                json={
                    "expected_version": sheet["version"],
                    "rows": [
                        {
                            "student_id": student["student_id"],
                            "regular": ["2", "2", "2", "2"],
                            "midterm": "2",
                            "final": "2",
                        }
                    ],
                },
            )
        assert low.status_code == 200, low.text
    with system.client("grades", token) as grades:
        rated = grades.put(
            f"/classes/{klass.name}/conduct",
            json={
                "rows": [
                    {"student_id": student["student_id"], "term": term, "conduct": "T"}
                    for term in ("HK1", "HK2")
                ]
            },
        )
    assert rated.status_code == 200, rated.text

    page = homeroom.get(page_path + "?term=year-end").text
    form = form_fields(page, page_path)
    index = form["sid"].index(student["student_id"])
    assert f"c{index}_reexam.TOAN" in form
    assert form[f"c{index}_reexam_choice"] == ""  # the student's choice is not recorded yet
    # Issue 11 §8: the student chose to retake mathematics, ticked beside its result cell.
    form[f"c{index}_reexam_choice"] = "chosen"
    assert f'name="c{index}_retake.TOAN" value="1">' in page
    unticked = homeroom.post(page_path, data=form)
    assert unticked.status_code == 422
    assert "chưa đánh dấu môn nào" in unticked.text
    form[f"c{index}_retake.TOAN"] = "1"
    form[f"c{index}_reexam.TOAN"] = "mười"
    refused = homeroom.post(page_path, data=form)
    assert refused.status_code == 422
    assert re.search(rf'name="c{index}_reexam.TOAN" value="mười"[^>]*class="bad"', refused.text)
    assert (
        next(r for r in conduct(system, token, klass) if r["student_id"] == student["student_id"])["reexam"]
        == {}
    )

    form[f"c{index}_reexam.TOAN"] = "6,5"
    assert homeroom.post(page_path, data=form).status_code == 303
    after = next(r for r in conduct(system, token, klass) if r["student_id"] == student["student_id"])
    assert (after["reexam"], after["reexam_choice"]) == ({"TOAN": "6.5"}, ["TOAN"])
    page = homeroom.get(page_path + "?term=year-end").text
    assert f'name="c{index}_retake.TOAN" value="1" checked>' in page
