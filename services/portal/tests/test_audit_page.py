"""Nhật ký (issue 11): identity's and grades' trails as one, newest first, in Vietnamese with names
and Vietnam's clock, and each trail's hash chain shown intact or broken at its entry."""

from __future__ import annotations

import re

import httpx
import pytest

from hbs_portal.web.admin.audit_lines import detail_lines, local_time, merged
from hbs_shared.audit.actions import ACTION_LABELS

from .conftest import GRADES, IDENTITY, Portal, problem

pytestmark = pytest.mark.db

SHEET = "55555555-5555-5555-5555-555555555555"
TEACHER = "22222222-2222-2222-2222-222222222222"
IDENTITY_ENTRY = {
    "seq": 41,
    "hash": "a" * 64,
    "at": "2026-12-05T17:30:00+00:00",
    "actor_id": "44444444-4444-4444-4444-444444444444",
    "actor_name": "Trần Văn Minh",
    "action": "factor_reset.approved",
    "object_type": "account",
    "object_id": TEACHER,
    "object_name": "Đặng Thị Mai",
    "source": "10.0.0.7",
    "detail": {"factor": "signing_pin", "reset_id": "66666666-6666-6666-6666-666666666666"},
}
GRADES_ENTRY = {
    "seq": 7,
    "hash": "b" * 64,
    "occurred_at": "2026-12-06T01:05:00+00:00",
    "actor_id": TEACHER,
    "actor_name": "Đặng Thị Mai",
    "action": "scores_changed",
    "subject_kind": "sheet",
    "subject_id": SHEET,
    "details": {
        "class_name": "10A1",
        "subject": "Toán",
        "term": "HK1",
        "school_year": "2026-2027",
        "reason": "Chấm phúc khảo",
        "cells": [
            {
                "student_id": "77777777-7777-7777-7777-777777777777",
                "student_name": "Lê Thị An",
                "column": "final",
                "column_label": "ĐĐGck",
                "old": "8",
                "new": "8.5",
            }
        ],
    },
}
INTACT = {"service": "identity", "intact": True, "checked": 41, "last_seq": 41, "head_hash": "a" * 64}
BROKEN = {
    "service": "grades",
    "intact": False,
    "checked": 2,
    "last_seq": 2,
    "head_hash": "c" * 64,
    "broken": {"seq": 3, "fault": "edited", "message": "entry 3 was changed"},
}


def rows(page: str) -> list[list[str]]:
    found = re.findall(r'<tr class="audit-row">(.*?)</tr>', page, re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", cell.replace("<br>", " | ")).strip()
            for cell in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        for row in found
    ]


def test_lines_are_merged_newest_first_in_local_time_with_a_decimal_comma() -> None:
    lines = merged([IDENTITY_ENTRY], [GRADES_ENTRY])
    assert [line.seq for line in lines] == [7, 41]
    assert [line.when for line in lines] == ["06/12/2026 08:05", "06/12/2026 00:30"]
    assert lines[0].subject == "Sổ điểm Toán – lớp 10A1 – Học kỳ I"
    assert lines[0].details == ["Lý do: Chấm phúc khảo", "Ô đã sửa: Lê Thị An – ĐĐGck: 8 → 8,5"]
    assert lines[1].details == ["Yếu tố: mã PIN ký số"]
    assert detail_lines({"step": 3, "batch_id": "x", "sha256": "y"}) == [
        "Bước: 3 (Phó Hiệu trưởng ký duyệt học bạ)"
    ]
    assert local_time(lines[1].moment) == "06/12/2026 00:30"


def test_every_action_is_named_in_vietnamese() -> None:
    assert all(label and label != code for code, label in ACTION_LABELS.items())


def test_details_show_vietnamese_labels_days_and_states_not_codes() -> None:
    """Issue 15: an entry about a change request or a window shows no field codes nor ISO days."""
    lines = detail_lines(
        {"fields": ["date_of_birth", "birthplace"], "closes_on": "2026-12-20", "state": "signed"}
    )
    assert lines == ["Thông tin: Ngày sinh, Nơi sinh", "Đóng sau ngày: 20/12/2026", "Trạng thái: đã ký"]


async def test_the_principal_reads_both_trails_and_sees_a_broken_chain(portal: Portal) -> None:
    portal.signs_in("hieutruong", ["principal"])
    portal.services.on("GET", f"{IDENTITY}/audit", [IDENTITY_ENTRY])
    portal.services.on("GET", f"{IDENTITY}/audit/verify", INTACT)
    portal.services.on("GET", f"{GRADES}/audit", {"entries": [GRADES_ENTRY], "total": 1})
    portal.services.on("GET", f"{GRADES}/audit/verify", BROKEN)
    async with portal.browser() as browser:
        await portal.login(browser, "hieutruong")
        page = await browser.get("/admin/audit")
        assert page.status_code == 200, page.text
        assert rows(page.text) == [
            [
                "06/12/2026 08:05",
                "Đặng Thị Mai",
                "Sửa điểm sau khi nộp",
                "Sổ điểm Toán – lớp 10A1 – Học kỳ I",
                "Lý do: Chấm phúc khảo | Ô đã sửa: Lê Thị An – ĐĐGck: 8 → 8,5",
                "Sổ điểm, học bạ · mục 7",
            ],
            [
                "06/12/2026 00:30",
                "Trần Văn Minh",
                "Phê duyệt đặt lại",
                "Tài khoản Đặng Thị Mai",
                "Yếu tố: mã PIN ký số | Địa chỉ: 10.0.0.7",
                "Tài khoản, danh mục · mục 41",
            ],
        ]
        assert "Chuỗi kiểm chứng: toàn vẹn (41 mục)" in page.text
        assert "Chuỗi kiểm chứng: hỏng tại mục 3 – nội dung mục này đã bị sửa" in page.text
        assert TEACHER not in page.text  # names, not ids

        # A grades-only action asks grades alone, with the day boundaries at the school's midnight.
        csrf = await portal.csrf_of(browser, "/admin/audit")
        filtered = await browser.post(
            "/admin/audit",
            data={"csrf": csrf, "action": "scores_changed", "since": "06/12/2026", "until": "06/12/2026"},
        )
        assert filtered.status_code == 200
        asked = portal.services.calls("GET", f"{GRADES}/audit")[-1].url.params
        assert (asked["action"], asked["since"], asked["until"]) == (
            "scores_changed",
            "2026-12-05T17:00:00+00:00",
            "2026-12-06T17:00:00+00:00",
        )
        assert all("action" not in r.url.params for r in portal.services.calls("GET", f"{IDENTITY}/audit"))

        bad = await browser.post("/admin/audit", data={"csrf": csrf, "action": "DROP TABLE"})
        assert (bad.status_code, "Hành động: chọn một hành động trong danh sách." in bad.text) == (422, True)
        bad_day = await browser.post("/admin/audit", data={"csrf": csrf, "since": "2026-12-06"})
        assert bad_day.status_code == 422
        assert "Từ ngày: nhập ngày theo dạng dd/mm/yyyy" in bad_day.text
        too_many = await browser.post("/admin/audit", data={"csrf": csrf, "limit": "5000"})
        assert "Số dòng: từ 1 đến 1000." in too_many.text


async def test_the_page_still_shows_identitys_trail_when_grades_refuses(portal: Portal) -> None:
    portal.signs_in("vanphong", ["office_admin"])
    portal.services.on("GET", f"{IDENTITY}/audit", [IDENTITY_ENTRY])
    portal.services.on("GET", f"{IDENTITY}/audit/verify", INTACT)
    portal.services.on("GET", f"{GRADES}/audit", problem(503, "Dịch vụ bận"))
    portal.services.on("GET", f"{GRADES}/audit/verify", problem(503, "Dịch vụ bận"))
    async with portal.browser() as browser:
        await portal.login(browser, "vanphong")
        page = await browser.get("/admin/audit")
    assert page.status_code == 200
    assert len(rows(page.text)) == 1
    assert "Chưa đọc được nhật ký sổ điểm, học bạ: Dịch vụ bận" in page.text
    assert "Không kiểm tra được chuỗi: Dịch vụ bận" in page.text


async def test_a_teacher_does_not_open_the_trail(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    async with portal.browser() as browser:
        await portal.login(browser)
        answer = await browser.get("/admin/audit")
    assert answer.status_code == 403
    assert not portal.services.calls("GET", f"{GRADES}/audit.*")
    assert isinstance(answer, httpx.Response)
