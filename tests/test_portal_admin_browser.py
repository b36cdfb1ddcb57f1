"""The office imports a list in a real browser: a file with bad rows, then the corrected file."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from hbs_devtools.demo import DEMO_PASSWORD
from hbs_devtools.drive import SystemClient

from .a11y import assert_accessible
from .factories import SchoolFactory

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]

HEADER = "Mã định danh,Họ và tên,Ngày sinh,Giới tính,Nơi sinh,Lớp\n"


def national_id() -> str:
    return "".join(random.choice("0123456789") for _ in range(12))


def test_the_office_sees_every_bad_row_then_imports_the_corrected_file(
    page: Page, system: SystemClient, school: SchoolFactory, tmp_path: Path
) -> None:
    # The module's own class, so the demo school's classes keep their students.
    own = school.school_class(students=0, subjects=(), homeroom=False)
    ids = [national_id(), national_id()]
    bad = tmp_path / "hoc-sinh-loi.csv"
    bad.write_text(
        HEADER
        + f"{ids[0]},Mai Văn Tùng,12/12/2010,Nam,Hà Nam,{own.name}\n"
        + f"{ids[1]},Tạ Thị Yến,12/13/2010,Nữ,Hà Nam,{own.name}\n"
        + f"{national_id()},,01/01/2010,Nam,Hà Nam,{own.name}\n",
        encoding="utf-8",
    )
    good = tmp_path / "hoc-sinh.csv"
    good.write_text(
        HEADER
        + f"{ids[0]},Mai Văn Tùng,12/12/2010,Nam,Hà Nam,{own.name}\n"
        + f"{ids[1]},Tạ Thị Yến,12/11/2010,Nữ,Hà Nam,{own.name}\n",
        encoding="utf-8",
    )

    page.goto(system.stack.url("portal") + "/")
    page.get_by_label("Tên đăng nhập").fill("quantri")
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Nhập dữ liệu").click()
    expect(page.get_by_role("heading", name="Nhập dữ liệu")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Danh sách").select_option("students")
    page.get_by_label("Tệp dữ liệu").set_input_files(bad)
    page.get_by_role("button", name="Kiểm tra tệp").click()
    expect(page.locator("tr.row-error")).to_have_count(2)
    expect(page.locator("tr.row-error").first).to_contain_text("3")
    expect(page.get_by_text("không dòng nào được nhập")).to_be_visible()
    expect(page.get_by_role("button", name="Nhập dữ liệu")).to_have_count(0)
    assert_accessible(page)

    page.get_by_label("Danh sách").select_option("students")
    page.get_by_label("Tệp dữ liệu").set_input_files(good)
    page.get_by_role("button", name="Kiểm tra tệp").click()
    expect(page.get_by_role("status")).to_contain_text("Tệp hợp lệ: 2 dòng")
    assert_accessible(page)
    page.get_by_role("button", name="Nhập dữ liệu").click()
    expect(page.get_by_role("status")).to_have_text("Đã nhập 2 mục từ 2 dòng (Học sinh).")

    with system.client("identity", system.token("quantri")) as identity:
        listed = {s["national_id"] for s in identity.get(f"/classes/{own.id}/students").json()}
    assert set(ids) <= listed
