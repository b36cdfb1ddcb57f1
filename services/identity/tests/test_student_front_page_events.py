"""Identity's student events carry the year record's front-page data (DOMAIN §3b) as identity
stores it now: the official ethnic group name, the policy group's label, empty text for what the
student has none of; an update carries the whole current data, not only what changed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from hbs_shared.events.identity import FRONT_PAGE_FIELDS, StudentEnrolled, StudentUpdated

pytestmark = [pytest.mark.db, pytest.mark.broker]
Login = Callable[..., Awaitable[dict[str, str]]]
Events = Callable[[str], Awaitable[list[dict[str, Any]]]]

STUDENT: dict[str, Any] = {
    "national_id": "0349998101",
    "full_name": "Lò Thị Mai",
    "date_of_birth": "2011-05-02",
    "birthplace": "Xã Mường Lạn, Sốp Cộp, Sơn La",
    "gender": "female",
    "ethnicity": "thai",
    "nationality": "Việt Nam",
    "address": "Bản Huổi Khương, xã Mường Lạn",
    "father_name": "Lò Văn Sinh",
    "mother_name": "Quàng Thị Én",
    "policy_group": "Con hộ nghèo",
}


async def _class_id(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    classes = (await client.get("/classes", headers=headers)).json()
    return str(next(c["id"] for c in classes if c["name"] == name))


def _front_page(payload: dict[str, Any]) -> dict[str, Any]:
    return {name: payload[name] for name in FRONT_PAGE_FIELDS}


async def test_enrolment_and_updates_carry_the_current_front_page(
    client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin = await login("quantri")
    class_id = await _class_id(client, admin, "10A2")
    created = await client.post("/students", headers=admin, json={**STUDENT, "class_id": class_id})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]

    enrolled = [e for e in await outbox_events("identity.student.enrolled") if e["student_id"] == sid]
    assert len(enrolled) == 1
    StudentEnrolled.model_validate(enrolled[0])  # what grades will decode
    assert _front_page(enrolled[0]) == {
        "birthplace": "Xã Mường Lạn, Sốp Cộp, Sơn La",
        "ethnicity": "Thái",  # the official name identity stored, not the spelling typed
        "nationality": "Việt Nam",
        "address": "Bản Huổi Khương, xã Mường Lạn",
        "father_name": "Lò Văn Sinh",
        "mother_name": "Quàng Thị Én",
        "guardian_name": "",  # none stored
        "policy_group": "Con hộ nghèo",
    }

    changed = await client.patch(
        f"/students/{sid}",
        headers=admin,
        json={
            "guardian_name": "Lò Văn Pấng",
            "father_name": None,
            "policy_group": "Con thương binh",
            "reason": "Bổ sung theo hồ sơ gốc",
            "expected_version": 1,
        },
    )
    assert changed.status_code == 200, changed.text
    updated = [e for e in await outbox_events("identity.student.updated") if e["student_id"] == sid]
    assert len(updated) == 1
    StudentUpdated.model_validate(updated[0])
    assert sorted(updated[0]["changed_fields"]) == ["father_name", "guardian_name", "policy_group"]
    assert updated[0]["personal_data_version"] == 2
    assert _front_page(updated[0]) == {
        **_front_page(enrolled[0]),  # unchanged fields travel too: grades replaces them all
        "father_name": "",
        "guardian_name": "Lò Văn Pấng",
        "policy_group": "Con thương binh",
    }

    # A move re-enrols with the data as it is now.
    moved = await client.post(
        f"/students/{sid}/enrolments",
        headers=admin,
        json={"class_id": await _class_id(client, admin, "10A1"), "enrolled_on": "2026-10-01"},
    )
    assert moved.status_code == 201, moved.text
    enrolled = [e for e in await outbox_events("identity.student.enrolled") if e["student_id"] == sid]
    assert len(enrolled) == 2
    assert _front_page(enrolled[1]) == _front_page(updated[0])


async def test_a_student_with_only_the_required_data_sends_empty_text(
    client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin = await login("quantri")
    minimal = {
        "national_id": "0349998102",
        "full_name": "Trần Văn Bảo",
        "date_of_birth": "2011-08-20",
        "birthplace": "Thái Bình",
        "gender": "male",
        "class_id": await _class_id(client, admin, "10A2"),
    }
    created = await client.post("/students", headers=admin, json=minimal)
    assert created.status_code == 201, created.text
    enrolled = [
        e for e in await outbox_events("identity.student.enrolled") if e["student_id"] == created.json()["id"]
    ]
    assert _front_page(enrolled[0]) == {
        "birthplace": "Thái Bình",
        "ethnicity": "Kinh",
        "nationality": "Việt Nam",
        "address": "",
        "father_name": "",
        "mother_name": "",
        "guardian_name": "",
        "policy_group": "",
    }
