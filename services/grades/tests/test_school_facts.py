"""The school's facts in grades come from identity's `identity.school.changed`, never from settings:
a school grades has not heard of is a 503 naming it, a later event replaces the facts, an older
one delivered late does not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hbs_shared.events.envelope import make_envelope
from hbs_shared.messaging.consumer import Outcome

from .conftest import PRINCIPAL, YEAR, GradesHarness, school_changed

pytestmark = [pytest.mark.db, pytest.mark.broker]


async def test_a_school_grades_has_not_heard_of_is_a_503_naming_it(grades: GradesHarness) -> None:
    board = grades.headers(uuid.uuid4(), "Hiệu trưởng", ("principal",), school_id="thpt-chua-bao")
    for path in ("/records", "/records/homeroom-classes", "/results/classes/10A1"):
        answer = await grades.client.get(path, headers=board)
        assert answer.status_code == 503, (path, answer.text)
        problem = answer.json()
        assert problem["title"].startswith("Chưa nhận được thông tin của trường")
        assert problem["field"] == "school_id"
    known = await grades.client.get("/records", headers=grades.headers(uuid.uuid4(), "HT", ("principal",)))
    assert known.status_code == 200, known.text
    assert known.json()["school_year"] == YEAR


async def test_a_school_without_a_current_year_is_a_409(grades: GradesHarness) -> None:
    school = f"thpt-{uuid.uuid4().hex[:8]}"
    assert await grades.feed(school_changed(school, current_year=None), school) is Outcome.applied
    answer = await grades.client.get(
        "/records", headers=grades.headers(uuid.uuid4(), "HT", ("principal",), school)
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["field"] == "school_year"


async def test_the_newest_announcement_wins(grades: GradesHarness) -> None:
    school = f"thpt-{uuid.uuid4().hex[:8]}"
    consumer = next(c for c in grades.app.state.runtime.consumers if c.topic == "identity.structure")
    now = datetime.now(UTC)

    async def deliver(principal: str, at: datetime) -> Outcome:
        envelope = make_envelope(school_changed(school, principal_name=principal), school)
        raw = envelope.model_copy(update={"occurred_at": at}).model_dump_json().encode()
        outcome: Outcome = await consumer.process(raw)
        return outcome

    assert await deliver(PRINCIPAL, now) is Outcome.applied
    assert await deliver("Hiệu trưởng mới", now + timedelta(seconds=1)) is Outcome.applied
    assert await deliver("Hiệu trưởng cũ", now - timedelta(seconds=5)) is Outcome.applied  # late
    async with grades.app.state.runtime.db.transaction() as session:
        facts = await grades.app.state.grades.school.require(session, school)
    assert facts.principal_name == "Hiệu trưởng mới"
    assert facts.school_year == YEAR
