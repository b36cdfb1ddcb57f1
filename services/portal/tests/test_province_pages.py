"""Sở GD&ĐT's pages (issue 14) with identity and grades faked to their contract: the province's
progress per school in Vietnamese numbers, the schools and a new school whose administrator's
one-time password is shown once; a province account refused every school page, a school account
refused the province's; the header naming the signed-in person's school."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest

from hbs_portal.web.common import count, nav_for, percent
from hbs_portal.web.province import SchoolProgress, progress_rows
from hbs_shared.schools import PROVINCE_SCOPE

from .conftest import GRADES, IDENTITY, SIGNING, Portal, problem

pytestmark = pytest.mark.db

SCHOOLS = [
    {
        "id": "thpt-phu-cu",
        "name": "Trường THPT Phù Cừ",
        "authority": "Sở GD&ĐT Hưng Yên",
        "province": "Hưng Yên",
        "classes": 3,
        "students": 120,
        "staff": 9,
    },
    {
        "id": "thpt-chuyen-thai-binh",
        "name": "Trường THPT Chuyên Thái Bình",
        "authority": "Sở GD&ĐT Hưng Yên",
        "province": "Hưng Yên",
        "classes": 36,
        "students": 1473,
        "staff": 112,
    },
]
PROGRESS = {
    "schools": [
        {
            "school_id": "thpt-chuyen-thai-binh",
            "name": "THPT Chuyên Thái Bình (grades)",
            "school_year": "2026-2027",
            "classes": 36,
            "sheets": {"open": 300, "submitted": 100, "signing": 50, "signed": 1550},
            "records": {"draft": 400, "reviewed": 73, "approved": 1000, "revoked": 2},
        },
        {
            "school_id": "thpt-phu-cu",
            "name": "Trường THPT Phù Cừ",
            "school_year": "2026-2027",
            "classes": 3,
            "sheets": {"signed": 7, "open": 1},
            "records": {"approved": 0, "draft": 120},
        },
    ]
}
CREATED = {
    "school": {
        "id": "thpt-tien-lu",
        "name": "Trường THPT Tiên Lữ",
        "authority": "Sở GD&ĐT Hưng Yên",
        "province": "Hưng Yên",
    },
    "admin": {"username": "quantri.tl", "password": "Mot-Lan-Thoi-7Q2x"},
}
NEW_SCHOOL = {
    "school_id": "thpt-tien-lu",
    "name": "Trường THPT Tiên Lữ",
    "authority": "Sở GD&ĐT Hưng Yên",
    "province": "Hưng Yên",
    "admin_full_name": "Vũ Thị Thu Hà",
    "admin_username": "quantri.tl",
}
REFUSAL = "Đây là trang của nhà trường. Tài khoản Sở GD&amp;ĐT không thuộc trường nào"
SCHOOL_PAGES = [
    "/sheets",
    "/classes",
    "/signing-pin",
    "/reminders",
    "/progress",
    "/statistics",
    "/records/homeroom",
    "/records/review",
    "/admin/students",
    "/admin/accounts",
    "/admin/import",
    "/oversight/windows",
    "/results",
]


def province_signs_in(portal: Portal, roles: list[str] | None = None) -> None:
    portal.signs_in("so.gddt", roles or ["province_admin", "province_officer"], school_id=PROVINCE_SCOPE)
    portal.services.on("GET", f"{IDENTITY}/schools", SCHOOLS)
    portal.services.on("GET", f"{GRADES}/province/progress", PROGRESS)


def test_the_table_joins_grades_counts_to_identitys_schools_by_id_in_vietnamese_order() -> None:
    just_made = {"id": "thpt-tien-lu", "name": "Trường THPT Tiên Lữ", "classes": 0}
    rows, total = progress_rows(PROGRESS, [*SCHOOLS, just_made])
    assert [r.name for r in rows] == [
        "Trường THPT Chuyên Thái Bình",  # identity's name, not grades' copy
        "Trường THPT Phù Cừ",
        "Trường THPT Tiên Lữ",
    ]
    chuyen = rows[0]
    assert (chuyen.sheets_signed, chuyen.sheets) == (1550, 2000)
    assert (chuyen.records_sealed, chuyen.records) == (1000, 1473)  # the 2 revoked are not counted
    assert rows[2] == SchoolProgress("thpt-tien-lu", "Trường THPT Tiên Lữ", "", 0, 0, 0, 0, 0)
    assert (total.classes, total.sheets_signed, total.sheets) == (39, 1557, 2008)
    assert (total.records_sealed, total.records) == (1000, 1593)


def test_counts_and_shares_are_written_the_vietnamese_way() -> None:
    assert count(1473) == "1.473"
    assert count(1234567) == "1.234.567"
    assert count(7) == "7"
    assert percent(1000, 1473) == "67,9%"
    assert percent(7, 8) == "87,5%"
    assert percent(1, 16) == "6,3%"  # 6.25 rounds half up
    assert percent(0, 0) == "—"


async def test_the_province_sees_each_schools_progress_and_lands_there_after_signing_in(
    portal: Portal,
) -> None:
    province_signs_in(portal)
    async with portal.browser() as browser:
        signed = await portal.login(browser, "so.gddt")
        page = await browser.get("/province")
        home = await browser.get("/")
    assert (signed.status_code, signed.headers["location"]) == (303, "/province")
    assert home.headers["location"] == "/province"
    assert page.status_code == 200, page.text
    rows = re.findall(r'<tr class="school" data-school="([^"]+)">', page.text)
    assert rows == ["thpt-chuyen-thai-binh", "thpt-phu-cu"]
    assert "Trường THPT Chuyên Thái Bình" in page.text
    assert "1.550 / 2.000" in page.text
    assert "77,5%" in page.text
    assert "1.000 / 1.473" in page.text
    assert "67,9%" in page.text
    assert "7 / 8" in page.text
    assert "87,5%" in page.text
    assert "0 / 120" in page.text
    assert "0,0%" in page.text
    total = page.text.split('<tr class="total">')[1]
    assert "Tổng cộng (2 trường)" in total
    assert "1.557 / 2.008" in total
    assert "1.000 / 1.593" in total
    assert '<span class="school-name">Sở GD&ĐT</span>' in page.text
    [asked] = portal.services.calls("GET", f"{GRADES}/province/progress")
    assert asked.headers["authorization"].startswith("Bearer ")
    assert not portal.services.calls("GET", f"{IDENTITY}/school")  # a province account has no school


async def test_a_province_accounts_menu_has_only_the_province_pages(portal: Portal) -> None:
    assert [path for path, _label in nav_for(["province_admin", "province_officer"])] == [
        "/province",
        "/province/schools",
        "/password",
    ]
    assert [path for path, _label in nav_for(["province_officer"])] == ["/province", "/password"]
    province_signs_in(portal)
    async with portal.browser() as browser:
        await portal.login(browser, "so.gddt")
        page = await browser.get("/province/schools")
    menu = page.text.split('<ul class="menu">')[1].split("</ul>")[0]
    assert re.findall(r'href="([^"]+)"', menu) == ["/province", "/province/schools", "/password"]
    assert '<a href="/province/schools" aria-current="page">' in menu
    assert '<a href="/province">' in menu  # not marked as the current page's parent


async def test_every_school_page_refuses_a_province_account_with_a_vietnamese_403(portal: Portal) -> None:
    province_signs_in(portal)
    async with portal.browser() as browser:
        await portal.login(browser, "so.gddt")
        before = len(portal.services.seen)
        answers = {path: await browser.get(path) for path in SCHOOL_PAGES}
        csrf = await portal.csrf_of(browser, "/province/schools")
        posted = await browser.post("/admin/staff", data={"csrf": csrf, "username": "x"})
    for path, answer in answers.items():
        assert answer.status_code == 403, path
        assert "Đây là trang của nhà trường. Tài khoản Sở GD&amp;ĐT không thuộc trường nào" in answer.text, (
            path
        )
        assert 'href="/province">Về trang chính của bạn' in answer.text, path
    assert posted.status_code == 403
    # Refused by the portal itself: no school page's service call was made for them.
    called = [str(r.url) for r in portal.services.seen[before:]]
    assert all(url.endswith("/schools") for url in called), called


async def test_a_school_account_gets_403_on_the_province_pages(portal: Portal) -> None:
    portal.signs_in("quantri", ["office_admin", "system_admin", "principal"])
    portal.services.on("GET", f"{IDENTITY}/school", {"id": "thpt-phu-cu", "name": "Trường THPT Phù Cừ"})
    portal.services.on("GET", f"{SIGNING}/signing-pin", {"set": True, "locked": False})
    async with portal.browser() as browser:
        await portal.login(browser, "quantri")
        pages = [await browser.get(path) for path in ("/province", "/province/schools")]
        csrf = await portal.csrf_of(browser, "/signing-pin")
        posted = await browser.post("/province/schools", data={"csrf": csrf, **NEW_SCHOOL})
    for refused in [*pages, posted]:
        assert refused.status_code == 403
        assert "Bạn không có quyền mở trang này." in refused.text
        assert "Tiến độ các trường" not in refused.text  # nor in the menu
    assert not portal.services.calls("GET", f"{GRADES}/province/progress")
    assert not portal.services.calls("POST", f"{IDENTITY}/schools")


async def test_a_province_officer_reads_progress_but_cannot_create_schools(portal: Portal) -> None:
    province_signs_in(portal, ["province_officer"])
    async with portal.browser() as browser:
        await portal.login(browser, "so.gddt")
        progress = await browser.get("/province")
        schools = await browser.get("/province/schools")
    assert progress.status_code == 200
    assert ">Các trường</a>" not in progress.text
    assert schools.status_code == 403


async def test_a_new_school_shows_its_administrators_one_time_password_once(
    portal: Portal, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    province_signs_in(portal)
    portal.services.on("POST", f"{IDENTITY}/schools", httpx.Response(201, json=CREATED))
    caplog.set_level(logging.DEBUG)
    async with portal.browser() as browser:
        await portal.login(browser, "so.gddt")
        page = await browser.get("/province/schools")
        csrf = await portal.csrf_of(browser, "/province/schools")
        made = await browser.post("/province/schools", data={"csrf": csrf, **NEW_SCHOOL})
        again = await browser.get("/province/schools")
    assert page.status_code == 200, page.text
    assert re.findall(r'<tr class="school" data-school="([^"]+)">', page.text) == [
        "thpt-chuyen-thai-binh",
        "thpt-phu-cu",
    ]
    assert "1.473" in page.text  # students, a count only
    [asked] = portal.services.calls("POST", f"{IDENTITY}/schools")
    assert json.loads(asked.content) == {
        "id": "thpt-tien-lu",
        "name": "Trường THPT Tiên Lữ",
        "authority": "Sở GD&ĐT Hưng Yên",
        "province": "Hưng Yên",
        "admin": {"full_name": "Vũ Thị Thu Hà", "username": "quantri.tl"},
    }
    assert made.status_code == 200, made.text  # the answer itself, never a redirect with it in the URL
    assert "location" not in made.headers
    assert made.headers["cache-control"] == "no-store"
    assert '<strong id="admin-password"><code>Mot-Lan-Thoi-7Q2x</code></strong>' in made.text
    assert "Mật khẩu này chỉ hiện một lần" in made.text
    assert "phải đổi mật khẩu" in made.text
    assert "Mot-Lan-Thoi-7Q2x" not in again.text
    logged = caplog.text + "".join(capsys.readouterr())
    assert "Mot-Lan-Thoi-7Q2x" not in logged


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"school_id": "THPT Tiên Lữ"}, "Mã trường: chữ thường không dấu"),
        ({"school_id": PROVINCE_SCOPE}, "Mã trường: chữ thường không dấu"),
        ({"name": "  "}, "Tên trường: chưa nhập."),
        ({"authority": ""}, "Cơ quan chủ quản: chưa nhập."),
        ({"province": ""}, "Tỉnh, thành phố: chưa nhập."),
        ({"admin_full_name": ""}, "Họ và tên người quản trị: chưa nhập."),
        ({"name": "Trường " * 30}, "Tên trường: dài quá 200 ký tự."),
        ({"admin_username": "q t"}, "Tên đăng nhập người quản trị: 3–120 ký tự"),
    ],
)
async def test_a_form_the_portal_cannot_send_names_its_field(
    portal: Portal, change: dict[str, str], expected: str
) -> None:
    province_signs_in(portal)
    async with portal.browser() as browser:
        await portal.login(browser, "so.gddt")
        csrf = await portal.csrf_of(browser, "/province/schools")
        refused = await browser.post("/province/schools", data={"csrf": csrf, **NEW_SCHOOL, **change})
    assert refused.status_code == 422
    assert expected in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert 'value="Vũ Thị Thu Hà"' in refused.text or change.get("admin_full_name") == ""
    assert not portal.services.calls("POST", f"{IDENTITY}/schools")


@pytest.mark.parametrize(
    ("answer", "expected", "invalid"),
    [
        (
            problem(409, "Dữ liệu xung đột với dữ liệu đã có", field="id"),
            "Mã trường: đã có trường mang mã này.",
            "school_id",
        ),
        (
            problem(409, "Dữ liệu xung đột với dữ liệu đã có", field="admin.username"),
            "Tên đăng nhập người quản trị: đã có người dùng tên đăng nhập này.",
            "admin_username",
        ),
        (
            problem(422, "Dữ liệu không hợp lệ", field="admin.full_name"),
            "Họ và tên người quản trị: Dữ liệu không hợp lệ",
            "admin_full_name",
        ),
        (problem(409, "Đã có", field=None), "Mã trường: đã có trường mang mã này.", "school_id"),
    ],
)
async def test_identitys_refusal_names_the_field_in_vietnamese(
    portal: Portal, answer: httpx.Response, expected: str, invalid: str
) -> None:
    province_signs_in(portal)
    portal.services.on("POST", f"{IDENTITY}/schools", answer)
    async with portal.browser() as browser:
        await portal.login(browser, "so.gddt")
        csrf = await portal.csrf_of(browser, "/province/schools")
        refused = await browser.post("/province/schools", data={"csrf": csrf, **NEW_SCHOOL})
    assert refused.status_code == answer.status_code
    assert expected in refused.text
    assert re.search(rf'id="{invalid}"[^>]*aria-invalid="true"', refused.text), refused.text
    assert 'value="Trường THPT Tiên Lữ"' in refused.text  # what was typed is kept


async def test_the_header_names_a_school_persons_school_asking_identity_once(portal: Portal) -> None:
    portal.signs_in("gv.toan.pc", ["subject_teacher"], school_id="thpt-phu-cu")
    portal.services.on("GET", f"{IDENTITY}/school", {"id": "thpt-phu-cu", "name": "Trường THPT Phù Cừ"})
    portal.services.on("GET", f"{SIGNING}/signing-pin", {"set": True, "locked": False})
    async with portal.browser() as browser:
        await portal.login(browser, "gv.toan.pc")
        first = await browser.get("/signing-pin")
        second = await browser.get("/signing-pin")
    for page in (first, second):
        assert page.status_code == 200, page.text
        assert '<span class="school-name">Trường THPT Phù Cừ</span>' in page.text
    assert len(portal.services.calls("GET", f"{IDENTITY}/school")) == 1


async def test_a_school_identity_cannot_name_leaves_the_header_without_one_and_is_not_asked_again(
    portal: Portal,
) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    portal.services.on("GET", f"{IDENTITY}/school", problem(404, "Không tìm thấy"))
    portal.services.on("GET", f"{SIGNING}/signing-pin", {"set": True, "locked": False})
    async with portal.browser() as browser:
        await portal.login(browser)
        first = await browser.get("/signing-pin")
        await browser.get("/signing-pin")
    assert first.status_code == 200
    assert "school-name" not in first.text
    assert len(portal.services.calls("GET", f"{IDENTITY}/school")) == 1


async def test_the_province_pages_render_in_english(portal: Portal) -> None:
    province_signs_in(portal)
    portal.services.on("POST", f"{IDENTITY}/schools", httpx.Response(201, json=CREATED))
    async with portal.browser() as browser:
        await portal.login(browser, "so.gddt")
        browser.cookies.set("hbs_lang", "en")
        progress = await browser.get("/province")
        schools = await browser.get("/province/schools")
        csrf = await portal.csrf_of(browser, "/province/schools")
        made = await browser.post("/province/schools", data={"csrf": csrf, **NEW_SCHOOL})
        refused = await browser.get("/sheets")
    assert progress.status_code == 200, progress.text
    assert "Share of score sheets signed" in progress.text
    assert "Total (2 schools)" in progress.text
    assert "67,9%" in progress.text  # numbers stay as a Vietnamese school writes them
    assert schools.status_code == 200, schools.text
    assert "Add a school" in schools.text
    assert made.status_code == 200, made.text
    assert "This password is shown only once" in made.text
    assert refused.status_code == 403
    assert "This is a school&#39;s page." in refused.text
