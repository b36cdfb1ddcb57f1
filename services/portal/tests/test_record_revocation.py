"""Issue 13 §5 in the portal: the principal revokes an approved record under the board's minutes from
the record's page; no one else is offered the form; grades' refusal names the field in Vietnamese."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .conftest import GRADES, Portal

pytestmark = pytest.mark.db

RECORD = "3f2b1c9e-0000-4000-8000-0000000000aa"


def record(state: str) -> dict[str, Any]:
    return {
        "id": RECORD,
        "full_name": "Vũ Minh Thu",
        "state": state,
        "state_label": {"approved": "đã phê duyệt, đóng dấu", "revoked": "đã thu hồi"}[state],
        "version": 7,
        "edition": 1,
        "document_id": "3f2b1c9e-0000-4000-8000-0000000000bb",
        "returned_reason": None,
        "content": {
            "school_year": "2026-2027",
            "class_name": "10A1",
            "student": {
                "full_name": "Vũ Minh Thu",
                "date_of_birth": "2011-03-04",
                "national_id": "0341008001",
            },
            "subjects": [],
            "corrections_count": 0,
            "corrections_subjects": [],
            "absent_sessions": 0,
            "promoted": True,
            "title": None,
            "homeroom_teacher_name": "Phạm Quốc Dũng",
            "principal_name": "Trần Văn Minh",
            "homeroom_remarks": "",
        },
    }


async def test_the_principal_revokes_an_approved_record_under_minutes_from_its_page(portal: Portal) -> None:
    page = f"/records/view/{RECORD}"
    portal.services.on("GET", f"{GRADES}/records/{RECORD}", record("approved"))
    portal.services.on("POST", f"{GRADES}/records/{RECORD}/revocation", httpx.Response(201, json={}))

    portal.signs_in("phohieutruong", ["vice_principal"])
    async with portal.browser() as browser:
        await portal.login(browser, "phohieutruong")
        seen = await browser.get(page)
    assert seen.status_code == 200
    assert "Mở điều chỉnh" in seen.text
    assert "Thu hồi học bạ" not in seen.text  # the principal's alone (Đ3)

    portal.signs_in("hieutruong", ["principal"])
    async with portal.browser() as browser:
        await portal.login(browser, "hieutruong")
        shown = await browser.get(page)
        assert "Thu hồi học bạ (Điều 9)" in shown.text
        assert f'action="/records/view/{RECORD}/revocation"' in shown.text
        form = {
            "csrf": await portal.csrf_of(browser, page),
            "version": "7",
            "minutes_number": " 12/BB-HĐ ",
            "minutes_date": "2026-11-25",
            "reason": "Hồ sơ nhập học không hợp lệ",
        }
        done = await browser.post(f"{page}/revocation", data=form)
        assert (done.status_code, done.headers["location"]) == (303, f"{page}?notice=revoked")
        [sent] = portal.services.calls("POST", f"{GRADES}/records/{RECORD}/revocation")
        assert json.loads(sent.content) == {
            "expected_version": 7,
            "minutes_number": "12/BB-HĐ",
            "minutes_date": "2026-11-25",
            "reason": "Hồ sơ nhập học không hợp lệ",
        }

        portal.services.on(
            "POST",
            f"{GRADES}/records/{RECORD}/revocation",
            httpx.Response(
                422,
                json={"title": "Dữ liệu không hợp lệ", "status": 422, "field": "reason"},
                headers={"content-type": "application/problem+json"},
            ),
        )
        refused = await browser.post(f"{page}/revocation", data={**form, "reason": "x"})
        assert refused.status_code == 422
        assert "Lý do thu hồi: Dữ liệu không hợp lệ" in refused.text

        portal.services.on("GET", f"{GRADES}/records/{RECORD}", record("revoked"))
        after = await browser.get(f"{page}?notice=revoked")
    assert "Đã thu hồi học bạ theo biên bản" in after.text
    assert "Học bạ này đã bị thu hồi theo biên bản của Ban Giám hiệu." in after.text
    assert "Thu hồi học bạ (Điều 9)" not in after.text
