"""Review samples (Đ4.2, Đ8 step 3) and the homeroom teacher's check of personal data (Đ6.1):
the draw as a pure function, then the service over HTTP with identity's events fed directly."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import date
from typing import Any

import pytest

from hbs_devtools.statements import statements
from hbs_grades.review.__main__ import main
from hbs_grades.review.draw import draw, new_seed, sample_size
from hbs_shared.events.identity import StudentUpdated

from .conftest import GradesHarness
from .test_records import ClassUnderTest, signed_class


def test_the_sample_size_is_the_share_rounded_up_but_at_least_the_minimum_and_at_most_the_class() -> None:
    assert sample_size(45, 10, 3) == 5  # 4,5 rounded up
    assert sample_size(20, 10, 3) == 3  # the minimum
    assert sample_size(2, 10, 3) == 2  # never more than the class
    assert sample_size(40, 10, 3) == 4
    assert sample_size(0, 10, 3) == 0


def test_a_draw_is_a_pure_function_of_seed_ids_share_and_minimum(capsys: pytest.CaptureFixture[str]) -> None:
    ids = [str(uuid.uuid4()) for _ in range(45)]
    seed = new_seed()
    assert len(seed) == 64
    first = draw(seed, ids, 10, 3)
    assert len(first) == 5
    assert set(first) <= set(ids)
    assert draw(seed, list(reversed(ids)), 10, 3) == first  # order of the population does not matter
    assert draw(seed, ids + ids[:3], 10, 3) == first  # nor duplicates
    # The documented algorithm, rewritten with the standard library only, gives the same sample.
    by_hand = sorted(
        ids, key=lambda i: (hmac.new(bytes.fromhex(seed), i.encode(), hashlib.sha256).hexdigest(), i)
    )
    assert first == by_hand[:5]
    # The offline command prints the same sample, one id per line.
    assert main([seed, "10", "3", *reversed(ids)]) == 0
    assert capsys.readouterr().out.split() == first
    others = {tuple(draw(new_seed(), ids, 10, 3)) for _ in range(5)}
    assert others != {tuple(first)}  # another seed, another sample


@pytest.mark.db
@pytest.mark.broker
async def test_step_2_waits_for_every_student_checked_and_a_change_of_data_makes_the_check_stale(
    grades: GradesHarness,
) -> None:
    klass = ClassUnderTest(grades)
    await klass.setup()
    for sheet in await klass.sheets():
        await klass.fill_and_sign(sheet, "8")
    await klass.set_conduct()
    url = f"/review/classes/{klass.class_name}/personal-data"
    lines = (await grades.client.get(url, headers=klass.as_homeroom())).json()
    assert [(line["full_name"], line["status"]) for line in lines] == [
        ("Phạm Thị Giỏi", "unchecked"),
        ("Vũ Văn Khá", "unchecked"),
    ]
    assert lines[0]["data"]["date_of_birth"] == "01/01/2011"
    first, second = (line["student_id"] for line in lines)
    fields = list(lines[0]["data"])
    check = f"/review/students/{first}/personal-data"

    # Only the class's homeroom teacher checks; someone else's student is not found.
    by_teacher = await grades.client.put(
        check, headers=klass.as_teacher(), json={"state": "verified", "fields": fields}
    )
    assert by_teacher.status_code == 403
    stranger = grades.headers(uuid.uuid4(), "Người Lạ", ("homeroom_teacher",))
    assert (await grades.client.put(check, headers=stranger, json={"state": "verified"})).status_code == 404
    # Every field ticked to verify; a discrepancy needs a note; an unknown field is named.
    partial = await grades.client.put(
        check, headers=klass.as_homeroom(), json={"state": "verified", "fields": fields[:-1]}
    )
    assert (partial.status_code, partial.json()["field"]) == (422, "fields")
    assert "Đối tượng chính sách" in partial.json()["title"]
    silent = await grades.client.put(check, headers=klass.as_homeroom(), json={"state": "discrepancy"})
    assert (silent.status_code, silent.json()["field"]) == (422, "note")
    unknown = await grades.client.put(
        check, headers=klass.as_homeroom(), json={"state": "verified", "fields": [*fields, "shoe_size"]}
    )
    assert (unknown.status_code, unknown.json()["field"]) == (422, "fields")

    request_id = str(uuid.uuid4())
    reported = await grades.client.put(
        check,
        headers=klass.as_homeroom(),
        json={
            "state": "discrepancy",
            "fields": fields[:3],
            "note": "Giấy khai sinh ghi nơi sinh Thái Bình",
            "change_request_id": request_id,
        },
    )
    assert reported.status_code == 200, reported.text
    assert (reported.json()["status"], reported.json()["change_request_id"]) == ("discrepancy", request_id)
    refused = await klass.sign("homeroom", klass.as_homeroom())
    assert refused.status_code == 422
    title = refused.json()["title"]
    assert "Chưa kiểm tra thông tin cá nhân (Điều 6): Vũ Văn Khá" in title
    assert "có sai lệch, chờ văn phòng sửa rồi kiểm tra lại: Phạm Thị Giỏi" in title

    # The office applies the change in identity: its event reaches grades and the check is stale.
    await grades.feed(
        StudentUpdated(
            student_id=uuid.UUID(first),
            national_id="034000000000",
            full_name="Phạm Thị Giỏi",
            date_of_birth=date(2011, 1, 1),
            gender="female",
            birthplace="Thái Bình",
            changed_fields=["birthplace"],
            personal_data_version=2,
        )
    )
    lines = (await grades.client.get(url, headers=klass.as_homeroom())).json()
    assert [line["status"] for line in lines] == ["stale", "unchecked"]
    assert lines[0]["data"]["birthplace"] == "Thái Bình"
    # Đánh dấu tất cả đúng: every field of every chosen student at once, all or nothing.
    every = f"/review/classes/{klass.class_name}/personal-data/verify-all"
    both = {"student_ids": [first, second], "confirmed": True}
    assert (await grades.client.post(every, headers=klass.as_teacher(), json=both)).status_code == 403
    unsure = await grades.client.post(every, headers=klass.as_homeroom(), json={**both, "confirmed": False})
    assert (unsure.status_code, unsure.json()["field"]) == (422, "confirmed")
    outsider = await grades.client.post(
        every, headers=klass.as_homeroom(), json={**both, "student_ids": [first, str(uuid.uuid4())]}
    )
    assert (outsider.status_code, outsider.json()["field"]) == (422, "student_ids")
    lines = (await grades.client.get(url, headers=klass.as_homeroom())).json()
    assert [line["status"] for line in lines] == ["stale", "unchecked"]  # nothing half-written
    ticked = await grades.client.post(every, headers=klass.as_homeroom(), json=both)
    assert ticked.status_code == 200, ticked.text
    assert [(line["status"], line["checked_by_name"]) for line in ticked.json()] == [
        ("verified", "Lê Thị Chủ Nhiệm"),
        ("verified", "Lê Thị Chủ Nhiệm"),
    ]
    assert all(line["fields"] == fields for line in ticked.json())
    assert [
        line["status"] for line in (await grades.client.get(url, headers=klass.as_homeroom())).json()
    ] == [
        "verified",
        "verified",
    ]
    assert (await klass.sign("homeroom", klass.as_homeroom())).status_code == 202
    assert second
    checks = await grades.client.get(
        "/audit", headers=klass.as_head(), params={"action": "personal_data_verified", "subject_id": first}
    )
    assert [e["details"]["state"] for e in checks.json()["entries"]] == ["verified", "discrepancy"]
    by_second = await grades.client.get(
        "/audit", headers=klass.as_head(), params={"action": "personal_data_verified", "subject_id": second}
    )
    assert [e["details"]["state"] for e in by_second.json()["entries"]] == ["verified"]  # one per student


@pytest.mark.db
@pytest.mark.broker
async def test_a_sample_is_checked_returned_and_redrawn_and_step_3_waits_until_it_passes(
    grades: GradesHarness,
) -> None:
    klass = ClassUnderTest(grades)
    await klass.setup()
    await signed_class(klass)
    samples = f"/review/classes/{klass.class_name}/samples"

    # The school's rule: the principal sets it, the vice-principal may not.
    assert (await grades.client.get("/review/settings", headers=klass.as_vice())).json() == {
        "share_percent": 10,
        "minimum": 3,
    }
    rule = {"share_percent": 50, "minimum": 1}
    assert (
        await grades.client.put("/review/settings", headers=klass.as_vice(), json=rule)
    ).status_code == 403
    assert (
        await grades.client.put("/review/settings", headers=klass.as_head(), json=rule)
    ).status_code == 200
    bad = await grades.client.put(
        "/review/settings", headers=klass.as_head(), json={**rule, "share_percent": 0}
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "share_percent")

    async def overview() -> tuple[Any, ...]:
        got = await grades.client.get("/review/overview", headers=klass.as_vice())
        assert got.status_code == 200, got.text
        [mine] = [c for c in got.json() if c["class_name"] == klass.class_name]
        return tuple(
            mine[k] for k in ("sample_state", "sample_pending", "verified", "students", "ready_for_step3")
        )

    # The whole school in a fixed number of statements, however many classes it has.
    engine = grades.app.state.runtime.db.engine.sync_engine

    async def statements_of_overview() -> tuple[int, int]:
        with statements(engine) as sent:
            classes = (await grades.client.get("/review/overview", headers=klass.as_vice())).json()
        assert sent, "no statement counted: the request's context did not reach the engine"
        return len(classes), len(sent)

    before = await statements_of_overview()
    await ClassUnderTest(grades).setup()
    after = await statements_of_overview()
    assert after[0] == before[0] + 1
    assert after[1] == before[1]
    assert (await grades.client.get("/review/overview", headers=klass.as_homeroom())).status_code == 403
    assert await overview() == ("none", 0, 2, 2, False)  # both students verified before step 2
    assert (await grades.client.post(samples, headers=klass.as_homeroom())).status_code == 403
    drawn = await grades.client.post(samples, headers=klass.as_vice())
    assert drawn.status_code == 201, drawn.text
    sample = drawn.json()
    assert (sample["population_size"], sample["share_percent"], sample["minimum"]) == (2, 50, 1)
    assert len(sample["items"]) == 1
    assert sample["state"] == "open"
    assert await overview() == ("open", 1, 2, 2, False)
    assert len(sample["seed"]) == 64
    item = sample["items"][0]
    verdict = f"/review/samples/{sample['id']}/records/{item['record_id']}/verdict"

    # Marking needs the homeroom teacher's signature first; step 3 waits for the sample.
    early = await grades.client.post(verdict, headers=klass.as_vice(), json={"verdict": "correct"})
    assert early.status_code == 409
    assert "GVCN ký lại" in early.json()["title"]
    assert (await klass.sign("homeroom", klass.as_homeroom())).status_code == 202
    await klass.complete_records(klass.homeroom, "homeroom_teacher")
    waiting = await klass.sign("vice_principal", klass.as_vice())
    assert waiting.status_code == 409
    assert (
        f"Lớp {klass.class_name} chưa qua kiểm tra mẫu: 1 học bạ trong mẫu chưa kiểm tra"
        == waiting.json()["title"]
    )

    # A score is returned to that subject's teacher; the record itself stays signed.
    to_teacher = await grades.client.post(
        verdict,
        headers=klass.as_vice(),
        json={
            "verdict": "returned",
            "reason": "Điểm cuối kỳ Toán lệch bảng điểm giấy",
            "subject_code": "TOAN",
        },
    )
    assert to_teacher.status_code == 200, to_teacher.text
    returned = to_teacher.json()
    assert returned["state"] == "returned"
    assert returned["items"][0]["returned_to_name"] == "Trần Văn Toán (môn Toán)"
    assert returned["items"][0]["record_state"] == "homeroom_signed"
    assert (await overview())[:2] == ("returned", 0)
    # Anything else goes back to the homeroom teacher through the give-back path.
    to_homeroom = await grades.client.post(
        verdict, headers=klass.as_vice(), json={"verdict": "returned", "reason": "Thiếu nhận xét của GVCN"}
    )
    back = to_homeroom.json()["items"][0]
    assert (back["returned_to_name"], back["record_state"]) == ("Lê Thị Chủ Nhiệm", "draft")
    assert len(back["history"]) == 2
    record = (await grades.client.get(f"/records/{item['record_id']}", headers=klass.as_homeroom())).json()
    assert record["returned_reason"] == "Kiểm tra mẫu: Thiếu nhận xét của GVCN"
    still = await klass.sign("vice_principal", klass.as_vice())
    assert "1 học bạ trong mẫu đã trả lại, chưa kiểm tra lại" in still.json()["title"]

    # The homeroom teacher signs it again; the vice-principal re-checks it: the sample passes.
    assert (await klass.sign("homeroom", klass.as_homeroom())).status_code == 202
    await klass.complete_records(klass.homeroom, "homeroom_teacher")
    passed = await grades.client.post(verdict, headers=klass.as_vice(), json={"verdict": "correct"})
    assert passed.json()["state"] == "passed"
    assert await overview() == ("passed", 0, 2, 2, True)

    # Anyone auditing draws it again from the stored seed and population: the same sample.
    again = (
        await grades.client.get(f"/review/samples/{sample['id']}/redraw", headers=klass.as_head())
    ).json()
    assert again["identical"] is True
    assert again["drawn"] == [item["record_id"]]
    assert (
        await grades.client.get(f"/review/samples/{sample['id']}/redraw", headers=stranger(grades))
    ).status_code == 404

    # The draw and every verdict are on the audit trail, with the seed and the names.
    trail = await grades.client.get(
        "/audit", headers=klass.as_head(), params={"subject_kind": "sample", "subject_id": sample["id"]}
    )
    drawn_entry = trail.json()["entries"][0]
    assert (drawn_entry["action"], drawn_entry["details"]["seed"]) == ("sample_drawn", sample["seed"])
    assert drawn_entry["details"]["class_name"] == klass.class_name
    verdicts = await grades.client.get(
        "/audit", headers=klass.as_head(), params={"subject_kind": "record", "subject_id": item["record_id"]}
    )
    said = [
        (e["details"]["verdict"], e["details"].get("returned_to_name"))
        for e in verdicts.json()["entries"]
        if e["action"] == "sample_verdict"
    ]
    assert said == [
        ("correct", None),
        ("returned", "Lê Thị Chủ Nhiệm"),
        ("returned", "Trần Văn Toán (môn Toán)"),
    ]

    # A new draw supersedes it (both kept); the old one takes no more verdicts.
    newer = (await grades.client.post(samples, headers=klass.as_head())).json()
    history = (await grades.client.get(samples, headers=klass.as_vice())).json()
    assert [(s["id"], s["superseded"]) for s in history] == [(newer["id"], False), (sample["id"], True)]
    stale = await grades.client.post(verdict, headers=klass.as_vice(), json={"verdict": "correct"})
    assert stale.status_code == 409
    assert (await overview())[0] == "open"  # the new draw is the class's sample now
    assert (await klass.sign("vice_principal", klass.as_vice())).status_code == 409
    await klass.pass_sample()
    assert (await klass.sign("vice_principal", klass.as_vice())).status_code == 202


def stranger(grades: GradesHarness) -> dict[str, str]:
    return grades.headers(uuid.uuid4(), "Giáo Viên Khác", ("subject_teacher",))
