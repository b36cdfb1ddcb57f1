"""Identity owns the school's facts and announces them whole (`identity.school.changed`): at start,
and whenever the school, its current year or its principal changes; never for unrelated writes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from hbs_devtools.demo import demo_person

pytestmark = [pytest.mark.db, pytest.mark.broker]
Login = Callable[..., Awaitable[dict[str, str]]]
Events = Callable[..., Awaitable[list[dict[str, Any]]]]
CHANGED = "identity.school.changed"


async def test_the_school_its_year_and_its_principal_are_announced(
    client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    started = await outbox_events(CHANGED, "*")
    assert {e["school_id"] for e in started} == {"thpt-chuyen-thai-binh", "thpt-phu-cu"}, (
        "a fresh identity announces each of its schools"
    )
    ours = [e for e in started if e["school_id"] == "thpt-chuyen-thai-binh"][-1]
    assert ours == {
        "school_id": "thpt-chuyen-thai-binh",
        "name": "Trường THPT Chuyên Thái Bình",
        "authority": "Sở GD&ĐT Hưng Yên",
        "province": "Hưng Yên",
        "principal_name": "Trần Văn Minh",
        "current_year": {
            "name": "2026-2027",
            "semester1_start": ours["current_year"]["semester1_start"],
            "semester1_end": ours["current_year"]["semester1_end"],
            "semester2_start": ours["current_year"]["semester2_start"],
            "semester2_end": ours["current_year"]["semester2_end"],
        },
    }
    admin = await login("quantri")

    async def latest_after(count: int) -> dict[str, Any]:
        events = await outbox_events(CHANGED)
        assert len(events) == count + 1, events[count:]
        return events[-1]

    # An unrelated change (a student's address) announces nothing.
    seen = len(await outbox_events(CHANGED))
    students = (await client.get("/students", headers=admin)).json()
    first = students["items"][0] if isinstance(students, dict) else students[0]
    detail = (await client.get(f"/students/{first['id']}", headers=admin)).json()
    edited = await client.patch(
        f"/students/{first['id']}",
        headers=admin,
        json={"expected_version": detail["version"], "address": "Số 2 Lê Lợi", "reason": "chuyển nhà"},
    )
    assert edited.status_code == 200, edited.text
    assert len(await outbox_events(CHANGED)) == seen

    renamed = await client.put(
        "/school",
        headers=admin,
        json={
            "name": "Trường THPT Chuyên Thái Bình (cơ sở 2)",
            "authority": "Sở GD&ĐT Hưng Yên",
            "province": "Hưng Yên",
        },
    )
    assert renamed.status_code == 200, renamed.text
    assert (await latest_after(seen))["name"] == "Trường THPT Chuyên Thái Bình (cơ sở 2)"

    principal = demo_person("hieutruong").user_id
    named = await client.patch(f"/staff/{principal}", headers=admin, json={"full_name": "Trần Văn Minh Mới"})
    assert named.status_code == 200, named.text
    assert (await latest_after(seen + 1))["principal_name"] == "Trần Văn Minh Mới"

    # The board changes: the vice-principal becomes the principal, the principal steps down.
    vice = demo_person("phohieutruong").user_id
    for who, roles in ((principal, ["subject_teacher"]), (vice, ["principal"])):
        changed = await client.patch(f"/staff/{who}", headers=admin, json={"roles": roles})
        assert changed.status_code == 200, changed.text
    assert (await latest_after(seen + 3))["principal_name"] == "Lê Thị Thu Hà"

    year = await client.post(
        "/school-years",
        headers=admin,
        json={
            "name": "2027-2028",
            "semester1_start": "2027-09-05",
            "semester1_end": "2028-01-15",
            "semester2_start": "2028-01-17",
            "semester2_end": "2028-05-31",
            "current": True,
        },
    )
    assert year.status_code == 201, year.text
    assert (await latest_after(seen + 4))["current_year"]["name"] == "2027-2028"
