"""Sở GD&ĐT's pages through the portal of the running system (issue 14): the province's progress
from grades joined with identity's schools, a new school whose administrator signs in with the
one-time password shown once, and each kind of account kept to its own pages; the header names the
school of whoever is signed in."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from hbs_devtools.demo import DEMO_PASSWORD, DEMO_PROVINCE, DEMO_SCHOOL, DEMO_SCHOOLS, SECOND_SCHOOL
from hbs_devtools.drive import SystemClient, sign_in_portal
from hbs_portal.catalogue import read

from .test_portal_language import PLACEHOLDER, crawl, pages_of, portal, texts

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]

PROVINCE_REFUSAL = "Đây là trang của nhà trường. Tài khoản Sở GD&amp;ĐT không thuộc trường nào"


def signed_in(system: SystemClient, username: str, password: str = DEMO_PASSWORD) -> httpx.Client:
    portal = httpx.Client(base_url=system.stack.url("portal"), timeout=60)
    answer = sign_in_portal(portal, username, password)
    assert answer.status_code == 303, answer.text
    return portal


@pytest.fixture
def province(system: SystemClient) -> Iterator[httpx.Client]:
    with closing(signed_in(system, DEMO_PROVINCE.username)) as portal:
        yield portal


def csrf_of(portal: httpx.Client, page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', portal.get(page).text)
    assert found is not None
    return found.group(1)


def vietnamese(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def new_school_form(suffix: str) -> dict[str, str]:
    return {
        "school_id": f"thpt-thu-{suffix}",
        "name": f"Trường THPT Thử {suffix}",
        "authority": "Sở GD&ĐT Hưng Yên",
        "province": "Hưng Yên",
        "admin_full_name": "Vũ Thị Thu Hà",
        "admin_username": f"quantri.{suffix}",
    }


def test_the_province_lands_on_each_schools_progress_as_grades_counts_it(
    system: SystemClient, province: httpx.Client
) -> None:
    with closing(httpx.Client(base_url=system.stack.url("portal"), timeout=60)) as browser:
        landing = sign_in_portal(browser, DEMO_PROVINCE.username)
    assert landing.headers["location"] == "/province"
    page = province.get("/province")
    assert page.status_code == 200, page.text
    rows = dict(
        re.findall(r'<tr class="school" data-school="([^"]+)">\s*<th scope="row">([^<]+)</th>', page.text)
    )
    for school in DEMO_SCHOOLS:
        assert rows.get(school.id) == school.name, rows
    with system.client("grades", system.token(DEMO_PROVINCE.username)) as grades:
        counted = grades.get("/province/progress")
    assert counted.status_code == 200, counted.text
    for school in counted.json()["schools"]:
        if school["school_id"] not in {s.id for s in DEMO_SCHOOLS}:
            continue
        row = page.text.split(f'data-school="{school["school_id"]}"')[1].split("</tr>")[0]
        signed, sheets = school["sheets"].get("signed", 0), sum(school["sheets"].values())
        records = {k: v for k, v in school["records"].items() if k != "revoked"}
        assert f"{vietnamese(signed)} / {vietnamese(sheets)}" in row
        assert f"{vietnamese(records.get('approved', 0))} / {vietnamese(sum(records.values()))}" in row
        assert school["school_year"] in row
    assert "Tổng cộng" in page.text
    # Counts only: no demo person's name anywhere on the page.
    for school in DEMO_SCHOOLS:
        assert school.person("gv.toan").full_name not in page.text
    menu = page.text.split('<ul class="menu">')[1].split("</ul>")[0]
    assert re.findall(r'href="([^"]+)"', menu) == ["/province", "/province/schools", "/password"]


def test_a_new_schools_administrator_signs_in_with_the_password_shown_once(
    system: SystemClient, province: httpx.Client
) -> None:
    form = new_school_form(uuid.uuid4().hex[:8])
    made = province.post("/province/schools", data={"csrf": csrf_of(province, "/province/schools"), **form})
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"
    found = re.search(r'<strong id="admin-password"><code>([^<]+)</code></strong>', made.text)
    assert found is not None, made.text
    assert "Mật khẩu này chỉ hiện một lần" in made.text
    listed = province.get("/province/schools")
    assert f'data-school="{form["school_id"]}"' in listed.text
    assert found.group(1) not in listed.text
    again = province.post("/province/schools", data={"csrf": csrf_of(province, "/province/schools"), **form})
    assert again.status_code == 409, again.text
    assert "Mã trường: " in again.text
    assert re.search(r'id="school_id"[^>]*aria-invalid="true"', again.text)

    with closing(httpx.Client(base_url=system.stack.url("portal"), timeout=60)) as admin:
        first = sign_in_portal(admin, form["admin_username"], found.group(1))
        assert (first.status_code, first.headers["location"]) == (303, "/password")


def test_a_province_account_gets_a_vietnamese_403_on_every_school_page(province: httpx.Client) -> None:
    for path in ("/sheets", "/classes", "/admin/students", "/admin/accounts", "/progress", "/records/review"):
        refused = province.get(path)
        assert refused.status_code == 403, path
        assert PROVINCE_REFUSAL in refused.text, path
    # Their own account's security (two-factor sign-in) is theirs, not a school's.
    security = province.get("/security")
    assert security.status_code == 200, security.text
    assert "Bảo mật đăng nhập" in security.text


@pytest.mark.parametrize("school", DEMO_SCHOOLS, ids=lambda s: s.id)
def test_a_school_account_sees_its_school_in_the_header_and_no_province_page(
    system: SystemClient, school: Any
) -> None:
    with closing(signed_in(system, school.person("quantri").username)) as office:
        page = office.get("/admin/students")
        assert page.status_code == 200, page.text
        assert f'<span class="school-name">{school.name}</span>' in page.text
        other = next(s for s in DEMO_SCHOOLS if s is not school)
        assert other.name not in page.text
        for path in ("/province", "/province/schools"):
            refused = office.get(path)
            assert refused.status_code == 403, path
            assert "Bạn không có quyền mở trang này." in refused.text


def test_the_second_schools_teacher_sees_their_school_not_the_first(system: SystemClient) -> None:
    with closing(signed_in(system, SECOND_SCHOOL.person("gv.toan").username)) as teacher:
        page = teacher.get("/signing-pin")
    assert f'<span class="school-name">{SECOND_SCHOOL.name}</span>' in page.text
    assert DEMO_SCHOOL.name not in page.text


def test_the_province_pages_read_in_english_too(system: SystemClient) -> None:
    """As every role's pages do (test_portal_language): no wrapped message left in Vietnamese."""
    wrapped = {str(m.id) for m in read("en") if m.id and not PLACEHOLDER.search(str(m.id))}
    with (
        portal(system, DEMO_PROVINCE.username, "vi") as vi,
        portal(system, DEMO_PROVINCE.username, "en") as en,
    ):
        home = vi.get("/", follow_redirects=True)
        paths = crawl(vi, pages_of(home.text))
        assert {"/province", "/province/schools"} <= set(paths), paths
        for path in paths:
            in_vi, in_en = vi.get(path), en.get(path)
            assert (in_vi.status_code, in_en.status_code) == (200, 200), path
            assert "Schools' progress" in in_en.text, path  # the menu, in English
            left = texts(in_vi.text) & texts(in_en.text) & wrapped
            assert not left, f"{path}: Vietnamese left on the English page: {left}"
