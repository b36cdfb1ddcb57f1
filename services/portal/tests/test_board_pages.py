"""The board's oversight pages with the services faked: the compliance report's filters reach
grades (the page and its Excel file alike)."""

from __future__ import annotations

import httpx
import pytest

from .conftest import GRADES, Portal

pytestmark = pytest.mark.db

REPORT = {
    "school_year": "2026-2027",
    "counted_at": "2026-12-06T03:00:00+00:00",
    "group_by": "department",
    "period": "HK1",
    "step": 1,
    "department": None,
    "teacher_id": None,
    "departments": ["Tổ Ngữ văn", "Tổ Toán – Tin"],
    "people": [{"id": "22222222-2222-4222-8222-222222222222", "name": "Trần Văn Toán"}],
    "rows": [
        {
            "person_id": None,
            "person_name": "Tổ Toán – Tin",
            "step": 1,
            "period": "HK1",
            "items": 4,
            "on_time": 3,
            "late": 1,
            "open_late": 0,
            "pending": 0,
            "extended": 0,
            "returned": 0,
            "corrections": 0,
            "late_max_text": "2 ngày",
            "late_average_hours": 48.0,
        }
    ],
}


async def test_the_compliance_filters_go_to_grades_and_the_excel_link_keeps_them(portal: Portal) -> None:
    portal.signs_in("pht", ["vice_principal"])
    portal.services.on("GET", f"{GRADES}/compliance", REPORT)
    portal.services.on(
        "GET",
        f"{GRADES}/compliance/xlsx",
        httpx.Response(200, content=b"PK", headers={"content-type": "application/vnd.ms-excel"}),
    )
    chosen = {"term": "HK1", "step": "1", "department": "", "teacher_id": "", "group_by": "department"}
    async with portal.browser() as browser:
        await portal.login(browser)
        page = await browser.get("/oversight/compliance", params=chosen)
        excel = await browser.get(
            "/oversight/compliance.xlsx", params={"term": "HK1", "group_by": "department"}
        )
    assert page.status_code == 200, page.text
    [asked] = portal.services.calls("GET", f"{GRADES}/compliance")
    assert dict(asked.url.params) == {"term": "HK1", "step": "1", "group_by": "department"}
    assert "<th>Tổ chuyên môn</th>" in page.text
    assert 'href="/oversight/compliance.xlsx?term=HK1&amp;step=1&amp;group_by=department"' in page.text
    assert '<option value="HK1" selected>' in page.text
    assert "<option>Tổ Ngữ văn</option>" in page.text
    assert '<option value="22222222-2222-4222-8222-222222222222">Trần Văn Toán</option>' in page.text
    assert excel.status_code == 200
    [file] = portal.services.calls("GET", f"{GRADES}/compliance/xlsx")
    assert dict(file.url.params) == {"term": "HK1", "group_by": "department"}


def review(name: str, state: str, **counts: int) -> dict[str, object]:
    base = {"sample_size": 3, "sample_pending": 0, "sample_returned": 0, "students": 45, "verified": 45}
    return {
        "class_name": name,
        "sample_state": state,
        "discrepancy": 0,
        "unchecked": 0,
        "ready_for_step3": state == "passed",
        **base,
        **counts,
    }


async def test_the_review_overview_shows_each_classs_sample_and_homeroom_check(portal: Portal) -> None:
    portal.signs_in("pht", ["vice_principal"])
    classes = ["10A1", "10A2", "10A3", "10A4"]
    portal.services.on(
        "GET",
        f"{GRADES}/records",
        {
            "school_year": "2026-2027",
            "counts": {},
            "classes": [{"class_name": c, "total": 45, "counts": {"homeroom_signed": 45}} for c in classes],
        },
    )
    portal.services.on(
        "GET",
        f"{GRADES}/review/overview",
        [
            review("10A1", "passed"),
            review("10A2", "open", sample_pending=2),
            review("10A3", "returned", sample_returned=1),
            review("10A4", "none", verified=40, discrepancy=1),
        ],
    )
    async with portal.browser() as browser:
        await portal.login(browser)
        page = await browser.get("/records/review")
    assert page.status_code == 200, page.text
    rows = {c: page.text.split(f'data-class="{c}"')[1].split("</tr>")[0] for c in classes}
    assert "Đã đạt · sẵn sàng ký duyệt" in rows["10A1"]
    assert "2 học bạ chưa kiểm tra" in rows["10A2"]
    assert "Có học bạ bị trả lại (1)" in rows["10A3"]
    assert "Chưa chọn mẫu" in rows["10A4"]
    assert "40/45 học sinh đã xác nhận · 1 sai lệch" in rows["10A4"]
    assert "45/45 học sinh đã xác nhận" in rows["10A1"]
    assert len(portal.services.calls("GET", f"{GRADES}/review/overview")) == 1  # one call, not per class
