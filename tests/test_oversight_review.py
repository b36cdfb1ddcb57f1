"""Issue 11, §3 and §4 through the real stack and the portal, with this module's own class: the
homeroom teacher checks each student's personal data (Đ6.1) and step 2 is refused naming whoever is
not checked; a discrepancy reaches the office as a change request, which the office applies; the
vice-principal draws a random sample (Đ4.2) whose stored seed draws the same sample again."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

import pytest

from hbs_devtools.drive import SIGNING_PIN, SystemClient

from .factories import SchoolClass, SchoolFactory, wait_until
from .test_year_records import (
    csrf_of,
    portal,
    post_sign_form,
    records_of,
    set_conduct,
    sign_every_sheet,
    wait_for_batch,
)

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm, pytest.mark.timeout(300)]
FIELDS = (
    "full_name",
    "national_id",
    "date_of_birth",
    "gender",
    "birthplace",
    "ethnicity",
    "nationality",
    "address",
    "father_name",
    "mother_name",
    "guardian_name",
    "policy_group",
)


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    """Four students and mathematics, every sheet scored; the board is the demo school's."""
    made = school.school_class(students=4, subjects=("TOAN",))
    teacher = made.teachers["TOAN"]
    for sheet in school.system.sheets(school.system.token(teacher.username)):
        if sheet["class_name"] == made.name:
            school.fill_scores(teacher, sheet["id"])
    return made


def checks_of(system: SystemClient, username: str, klass: SchoolClass) -> list[dict[str, Any]]:
    with system.client("grades", system.token(username)) as grades:
        listed = grades.get(f"/review/classes/{klass.name}/personal-data")
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


def test_personal_data_checked_a_discrepancy_applied_by_the_office_and_a_reproducible_sample(
    system: SystemClient, klass: SchoolClass
) -> None:
    assert klass.homeroom is not None
    van, toan = klass.homeroom.username, klass.teachers["TOAN"].username
    for username in (van, toan):
        system.ensure_pin(system.token(username))
    sign_every_sheet(system, toan, klass)
    set_conduct(system, klass)
    lines = checks_of(system, van, klass)
    assert [line["status"] for line in lines] == ["unchecked"] * 4
    *checked, last = lines

    # Đ6.1: the homeroom teacher ticks every field of three students; step 2 names the fourth.
    with portal(system, van) as homeroom:
        assert "Kiểm tra thông tin cá nhân của học sinh" in homeroom.get("/records/homeroom").text
        url = f"/review/personal-data/{klass.name}"
        page = homeroom.get(url).text
        assert "Báo sai lệch" in page
        for line in checked:
            done = homeroom.post(
                f"{url}/{line['student_id']}",
                data={"csrf": csrf_of(page), "fields": list(FIELDS), "note": "", "action": "verify"},
            )
            assert done.status_code == 303, done.text
        # The page offers no signing form while something is missing; a hand-made post is refused.
        assert 'action="/records/sign"' not in homeroom.get("/records/homeroom").text
        refused = homeroom.post(
            "/records/sign",
            data={"csrf": csrf_of(page), "step": "homeroom", "class_names": klass.name, "pin": SIGNING_PIN},
        )
        assert refused.status_code == 422
        assert f"Chưa kiểm tra thông tin cá nhân (Điều 6): {last['full_name']}" in refused.text
        assert not any(line["full_name"] in refused.text for line in checked)

        # The birth certificate shows another birthplace: "Báo sai lệch" asks the office.
        page = homeroom.get(url).text
        reported = homeroom.post(
            f"{url}/{last['student_id']}",
            data={
                "csrf": csrf_of(page),
                "fields": ["full_name", "date_of_birth", "birthplace"],
                "correct_birthplace": "Xã Đông Hoà, Thành phố Thái Bình",
                "note": "Giấy khai sinh ghi nơi sinh khác",
                "action": "report",
            },
        )
        assert reported.status_code == 303, reported.text
        assert "chờ văn phòng" in homeroom.get(url).text

    # The office sees the request with the student's name, and applies it.
    with portal(system, "quantri") as office:
        page = office.get("/change-requests").text
        assert last["full_name"] in page
        assert "Xã Đông Hoà, Thành phố Thái Bình" in page
        request_id = re.findall(r'data-request="([^"]+)"', page)
        mine = [
            r
            for r in request_id
            if f'id="yc-{r}"' in page and last["full_name"] in page.split(f'id="yc-{r}"')[1][:400]
        ]
        assert mine, page
        applied = office.post(f"/change-requests/{mine[0]}/apply", data={"csrf": csrf_of(page)})
        assert applied.status_code == 303
        assert "Đã sửa thông tin theo yêu cầu." in office.get(applied.headers["location"]).text

    # Identity's event reaches grades: the data changed, so the check must be done again.
    def stale() -> dict[str, Any] | None:
        line = next(x for x in checks_of(system, van, klass) if x["student_id"] == last["student_id"])
        return line if line["status"] == "stale" else None

    line = wait_until("the applied change in grades", stale)
    assert line["data"]["birthplace"] == "Xã Đông Hoà, Thành phố Thái Bình"
    with portal(system, van) as homeroom:
        page = homeroom.get(url).text
        assert "đã sửa" in page  # the teacher sees the outcome of her request
        done = homeroom.post(
            f"{url}/{last['student_id']}",
            data={
                "csrf": csrf_of(page),
                "fields": list(FIELDS),
                "note": "Đã đối chiếu lại",
                "action": "verify",
            },
        )
        assert done.status_code == 303
        assert done.headers["location"].endswith(f"?notice=verified#hs-{last['student_id']}")
        again = next(x for x in checks_of(system, van, klass) if x["student_id"] == last["student_id"])
        assert again["status"] == "verified", again
        wait_for_batch(homeroom, post_sign_form(homeroom, homeroom.get("/records/homeroom").text))
    records = records_of(system, van, klass)
    assert records["counts"] == {"homeroom_signed": 4}

    # Đ4.2: the vice-principal draws a sample; its stored seed draws the same sample again.
    with portal(system, "phohieutruong") as vice:
        page = vice.get(f"/records/classes/{klass.name}").text
        assert "Chọn mẫu kiểm tra" in page
        drawn = vice.post(f"/review/classes/{klass.name}/samples", data={"csrf": csrf_of(page)})
        assert drawn.status_code == 303
        page = vice.get(drawn.headers["location"]).text
        seed = re.search(r'<code class="seed">([0-9a-f]{64})</code>', page)
        assert seed is not None
        with system.client("grades", system.token("phohieutruong")) as grades:
            sample = grades.get(f"/review/classes/{klass.name}/samples").json()[0]
        assert sample["seed"] == seed.group(1)
        size = max(sample["minimum"], -(-4 * sample["share_percent"] // 100))
        ids = sorted(r["id"] for r in records["records"])
        key = bytes.fromhex(sample["seed"])
        by_hand = sorted(ids, key=lambda i: (hmac.new(key, i.encode(), hashlib.sha256).hexdigest(), i))[:size]
        assert [i["record_id"] for i in sample["items"]] == by_hand
        again = vice.get(f"/review/samples/{sample['id']}/redraw").text
        assert "Kết quả rút lại trùng khớp với mẫu đã lưu" in again
        for item in sample["items"]:
            marked = vice.post(
                f"/review/samples/{sample['id']}/records/{item['record_id']}/verdict",
                data={"csrf": csrf_of(page), "class_name": klass.name, "verdict": "correct"},
            )
            assert marked.status_code == 303, marked.text
        page = vice.get(f"/records/classes/{klass.name}").text
        assert "đã đạt" in page
        assert "Ký duyệt học bạ cả lớp" in page
