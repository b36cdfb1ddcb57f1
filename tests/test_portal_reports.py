"""Reports through the portal: the class result sheet (bảng tổng hợp) and subject statistics, with
their .xlsx; who may see which (the board every class, a teacher only their own classes)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest

from hbs_devtools.demo import DEMO_PASSWORD
from hbs_devtools.drive import SystemClient, sign_in_portal

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


@contextmanager
def portal_as(system: SystemClient, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.stack.url("portal"), timeout=60) as browser:
        signed = sign_in_portal(browser, username, DEMO_PASSWORD)
        assert signed.status_code == 303, signed.text
        yield browser


@pytest.fixture(scope="module", autouse=True)
def roster_ready(system: SystemClient) -> None:
    """Grades has the classes and students once identity's events built the sheets."""
    system.sheets(system.token("gv.van"))


def student_names(system: SystemClient, class_name: str) -> list[str]:
    with system.client("grades", system.token("hieutruong")) as grades:
        answer = grades.get(f"/results/classes/{class_name}")
    assert answer.status_code == 200, answer.text
    return [s["full_name"] for s in answer.json()["students"]]


def test_the_principal_sees_every_class_and_its_result_sheet_with_excel(system: SystemClient) -> None:
    with portal_as(system, "hieutruong") as principal:
        menu = principal.get("/classes").text
        for path in ('href="/classes/10A1/results"', 'href="/classes/10A2/results"', 'href="/statistics"'):
            assert path in menu
        assert 'href="/classes/11%20To%C3%A1n%20chuy%C3%AAn/results"' in menu

        page = principal.get("/classes/11%20To%C3%A1n%20chuy%C3%AAn/results")
        assert page.status_code == 200
        assert "Bảng tổng hợp kết quả – lớp 11 Toán chuyên" in page.text
        assert "<th>Toán</th>" in page.text
        for name in student_names(system, "11 Toán chuyên"):
            assert name in page.text
        assert "Tổng hợp cả năm" in page.text
        assert "Lên lớp:" in page.text
        semester = principal.get("/classes/10A1/results?period=HK1")
        assert semester.status_code == 200
        assert "<strong>Học kỳ I</strong>" in semester.text

        download = principal.get("/classes/10A1/results.xlsx")
        assert download.status_code == 200
        assert "attachment" in download.headers["content-disposition"]
        cells = [
            str(c.value)
            for row in openpyxl.load_workbook(io.BytesIO(download.content)).active.iter_rows()
            for c in row
        ]
        assert student_names(system, "10A1")[0] in cells


def test_the_board_sees_subject_statistics_per_class_and_grade_with_excel(system: SystemClient) -> None:
    with portal_as(system, "phohieutruong") as vice:
        page = vice.get("/statistics", params={"subject": "TOAN", "period": "HK1"})
        assert page.status_code == 200
        assert "Thống kê kết quả môn Toán – Học kỳ I" in page.text
        assert "<td>10A1</td>" in page.text
        assert "<td>Khối 10</td>" in page.text
        download = vice.get("/statistics.xlsx", params={"subject": "TOAN", "period": "HK1"})
        assert download.status_code == 200
        openpyxl.load_workbook(io.BytesIO(download.content))
        unknown = vice.get("/statistics", params={"subject": "KHONG_CO"})
        assert unknown.status_code == 422
        assert "Môn học: không có môn này." in unknown.text


def test_a_homeroom_teacher_sees_their_class_but_not_another_class_nor_school_statistics(
    system: SystemClient,
) -> None:
    with portal_as(system, "gv.van") as teacher:
        menu = teacher.get("/classes").text
        assert 'href="/classes/10A1/results"' in menu
        assert "10A2" not in menu
        assert teacher.get("/classes/10A1/results").status_code == 200
        other = teacher.get("/classes/10A2/results")
        assert other.status_code == 404
        assert "Không tìm thấy lớp" in other.text
        assert not any(name in other.text for name in student_names(system, "10A2"))
        assert teacher.get("/classes/10A2/results.xlsx").status_code == 404
        stats = teacher.get("/statistics", params={"subject": "TOAN"})
        assert stats.status_code == 403
        assert "Chỉ Ban Giám hiệu và văn phòng xem được thống kê toàn trường" in stats.text
        assert (
            "Thống kê"
            not in teacher.get("/classes").text.split('<nav aria-label="Menu chính">')[1].split("</nav>")[0]
        )
