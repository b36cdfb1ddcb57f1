"""Đ6.1: a discrepancy in a student's personal data goes from the homeroom teacher to the office as
a change request; the office applies it through the ordinary update (new version, who, why, event)
or rejects it with a reason; the teacher sees the outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

Login = Callable[..., Awaitable[dict[str, str]]]
Events = Callable[..., Awaitable[list[dict[str, Any]]]]
pytestmark = [pytest.mark.db, pytest.mark.broker]


async def test_the_homeroom_teacher_asks_and_the_office_applies_or_rejects(
    client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin, van, toan, head = [await login(n) for n in ("quantri", "gv.van", "gv.toan", "hieutruong")]
    classes = {c["name"]: c["id"] for c in (await client.get("/classes", headers=admin)).json()}
    own = (await client.get(f"/classes/{classes['10A1']}/students", headers=admin)).json()
    other = (await client.get(f"/classes/{classes['10A2']}/students", headers=admin)).json()
    student = own[0]["id"]
    before = (await client.get(f"/students/{student}", headers=admin)).json()
    body = {"changes": {"birthplace": "Xã Vũ Hội, Vũ Thư, Thái Bình"}, "note": "Giấy khai sinh ghi khác"}

    # Only the homeroom teacher of the student's class asks: not a subject teacher, nor the office,
    # nor the board; another class's student is refused too.
    url = f"/students/{student}/change-requests"
    for who in (toan, admin, head):
        assert (await client.post(url, headers=who, json=body)).status_code == 403
    elsewhere = await client.post(f"/students/{other[0]['id']}/change-requests", headers=van, json=body)
    assert elsewhere.status_code in (403, 404)
    unknown = await client.post(url, headers=van, json={**body, "changes": {"shoe_size": "38"}})
    assert (unknown.status_code, unknown.json()["field"]) == (422, "changes.shoe_size")
    bad_date = await client.post(url, headers=van, json={**body, "changes": {"date_of_birth": "31/02/2010"}})
    assert (bad_date.status_code, bad_date.json()["field"]) == (422, "changes.date_of_birth")

    made = await client.post(url, headers=van, json=body)
    assert made.status_code == 201, made.text
    request = made.json()
    assert request["state"] == "pending"
    assert request["current"] == {"birthplace": before["birthplace"]}
    wrong = await client.post(url, headers=van, json={**body, "changes": {"ethnicity": "Tày"}})
    assert wrong.status_code == 201

    # The office sees every pending request; the teacher sees her own; a subject teacher none.
    pending = (await client.get("/change-requests", headers=admin)).json()
    assert {r["id"] for r in pending} >= {request["id"], wrong.json()["id"]}
    assert {r["requested_by_name"] for r in (await client.get("/change-requests", headers=van)).json()} == {
        request["requested_by_name"]
    }
    assert (await client.get("/change-requests", headers=toan)).json() == []

    # Only the office decides; applying is the ordinary update: a new version with who and why.
    assert (await client.post(f"/change-requests/{request['id']}/apply", headers=van)).status_code == 403
    applied = await client.post(f"/change-requests/{request['id']}/apply", headers=admin)
    assert applied.status_code == 200, applied.text
    assert (applied.json()["state"], applied.json()["applied_version"]) == ("applied", before["version"] + 1)
    after = (await client.get(f"/students/{student}", headers=admin)).json()
    assert after["birthplace"] == "Xã Vũ Hội, Vũ Thư, Thái Bình"
    versions = (await client.get(f"/students/{student}/versions", headers=admin)).json()
    assert "Giấy khai sinh ghi khác" in versions[-1]["reason"]
    updated = [e for e in await outbox_events("identity.student.updated") if e["student_id"] == student]
    assert [e["changed_fields"] for e in updated] == [["birthplace"]]
    twice = await client.post(f"/change-requests/{request['id']}/apply", headers=admin)
    assert twice.status_code == 409

    rejected = await client.post(
        f"/change-requests/{wrong.json()['id']}/reject", headers=admin, json={"reason": "Hồ sơ gốc ghi Kinh"}
    )
    assert rejected.json()["state"] == "rejected"
    outcome = {r["id"]: r for r in (await client.get("/change-requests?state=all", headers=van)).json()}
    assert outcome[request["id"]]["state"] == "applied"
    assert outcome[wrong.json()["id"]]["decision_reason"] == "Hồ sơ gốc ghi Kinh"
