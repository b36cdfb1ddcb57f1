"""Issue 15, "no dead ends": every refusal on the teacher's and the office's pages leads back to
where the person can fix it, files are named after what they hold, and a downloaded Excel file
stays usable after one upload of it (against the running system)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest

from hbs_devtools.drive import SIGNING_PIN, SystemClient

from .factories import SchoolClass, SchoolFactory
from .test_portal_scores import api_scores, form_fields, portal_as, sheet_of

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    return school.school_class(students=3, subjects=("TOAN",))


@pytest.fixture(scope="module")
def token(system: SystemClient, klass: SchoolClass) -> str:
    token = system.token(klass.teachers["TOAN"].username)
    with system.client("signing", token) as signing:
        assert signing.put("/signing-pin", json={"pin": SIGNING_PIN}).status_code == 204
    return token


@pytest.fixture(scope="module")
def teacher(system: SystemClient, klass: SchoolClass, token: str) -> Iterator[httpx.Client]:
    with portal_as(system, klass.teachers["TOAN"].username) as browser:
        yield browser


def _sign_form(teacher: httpx.Client, sheet_id: str, pin: str) -> dict[str, Any]:
    """The sheet list's "Nộp và ký số" form, as the browser sends it."""
    form = form_fields(teacher.get("/sheets").text, f"/sheets/{sheet_id}/sign")
    return {"csrf": form["csrf"], "version": form["version"], "pin": pin}


def test_an_incomplete_sheet_and_a_wrong_pin_lead_back_to_the_grid(
    system: SystemClient, school: SchoolFactory, teacher: httpx.Client, token: str, klass: SchoolClass
) -> None:
    sheet_id = str(sheet_of(system, token, klass, "HK1")["id"])
    scores = api_scores(system, token, sheet_id)
    first = scores["rows"][0]["full_name"]
    # Nothing entered yet: signing from the sheet list names who is missing, on the grid.
    incomplete = teacher.post(f"/sheets/{sheet_id}/sign", data=_sign_form(teacher, sheet_id, SIGNING_PIN))
    assert incomplete.status_code == 422
    assert "Sổ điểm còn thiếu đánh giá, chưa nộp được." in incomplete.text
    assert re.search(rf"<li>{re.escape(first)}: ĐĐGtx 1, [^<]*ĐĐGgk, ĐĐGck</li>", incomplete.text)
    assert f'action="/sheets/{sheet_id}/scores"' in incomplete.text  # the grid, to fill them in

    school.fill_scores(klass.teachers["TOAN"], sheet_id)
    wrong = teacher.post(f"/sheets/{sheet_id}/sign", data=_sign_form(teacher, sheet_id, "000000"))
    assert wrong.status_code == 403
    assert "Mã PIN ký số không đúng (còn" in wrong.text
    assert f'action="/sheets/{sheet_id}/sign"' in wrong.text  # try again right there
    assert api_scores(system, token, sheet_id)["sheet"]["state"] == "open"
