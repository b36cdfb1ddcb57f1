"""The office's transfer and graduation pages (issue 13) with the services faked: an export goes to
signing with the student and the reason; a refused import shows every file's reason in Vietnamese;
an accepted one links the sealed receipt."""

from __future__ import annotations

import json

import httpx
import pytest

from .conftest import SIGNING, Portal, problem

pytestmark = pytest.mark.db

STUDENT = "33333333-3333-4333-8333-333333333333"
PACKAGE = "44444444-4444-4444-8444-444444444444"


def package(direction: str) -> dict[str, object]:
    return {
        "id": PACKAGE,
        "direction": direction,
        "reason": "transferred",
        "student_id": STUDENT,
        "sha256": "a" * 64,
        "size": 1000,
        "records": 2,
        "sender_school_id": "thpt-a",
        "sender_school_name": "Trường THPT Chuyên Thái Bình",
        "sender_package_id": PACKAGE,
        "receipt_sha256": "b" * 64 if direction == "imported" else None,
        "created_at": "2026-12-06T03:00:00+00:00",
        "files": [
            {
                "name": "0341008001-2026-2027-hoc-ba.pdf",
                "kind": "record_pdf",
                "media_type": "application/pdf",
                "sha256": "c" * 64,
                "size": 10,
                "school_year": "2026-2027",
                "class_name": "10A1",
            }
        ],
    }


async def test_the_office_exports_a_students_package_and_downloads_it(portal: Portal) -> None:
    portal.signs_in("quantri", ["system_admin"])
    portal.services.on(
        "POST",
        f"{SIGNING}/exchange/packages",
        {"exported": [{"package": package("exported"), "student_left": True}]},
    )
    async with portal.browser() as browser:
        await portal.login(browser, "quantri")
        csrf = await portal.csrf_of(browser, "/admin/exchange")
        refused = await browser.post(
            f"/admin/students/{STUDENT}/exchange", data={"csrf": csrf, "reason": "transferred"}
        )
        page = await browser.post(
            f"/admin/students/{STUDENT}/exchange",
            data={"csrf": csrf, "reason": "transferred", "confirm": "yes"},
        )
    assert refused.status_code == 422
    assert "hãy đánh dấu ô xác nhận xuất hồ sơ" in refused.text
    assert page.status_code == 200, page.text
    [call] = portal.services.calls("POST", f"{SIGNING}/exchange/packages")
    assert json.loads(call.content) == {"student_ids": [STUDENT], "reason": "transferred"}
    assert "Đã lập và đóng dấu 1 hồ sơ." in page.text
    assert f'href="/admin/exchange/packages/{PACKAGE}/pdf"' in page.text


async def test_a_refused_package_lists_each_files_reason(portal: Portal) -> None:
    portal.signs_in("quantri", ["system_admin"])
    files = [
        {
            "file": "package",
            "code": "seal_broken",
            "message": "Hồ sơ đã bị thay đổi sau khi đóng dấu",
            "detail": "",
        },
        {
            "file": "0341008001-ly-lich.json",
            "code": "missing",
            "message": "Thiếu tệp 0341008001-ly-lich.json",
            "detail": "",
        },
    ]
    portal.services.on(
        "POST",
        f"{SIGNING}/exchange/imports",
        problem(422, "Hồ sơ không hợp lệ, không tiếp nhận", field="file", files=files),
    )
    async with portal.browser() as browser:
        await portal.login(browser, "quantri")
        csrf = await portal.csrf_of(browser, "/admin/exchange")
        page = await browser.post(
            "/admin/exchange/import",
            data={"csrf": csrf},
            files={"file": ("ho-so.pdf", b"%PDF-1.7 ...", "application/pdf")},
        )
    assert page.status_code == 422
    [call] = portal.services.calls("POST", f"{SIGNING}/exchange/imports")
    assert call.content == b"%PDF-1.7 ..."
    assert call.headers["content-type"] == "application/pdf"
    assert "Hồ sơ không được tiếp nhận" in page.text
    assert "<td>Cả hồ sơ (dấu số)</td><td>Hồ sơ đã bị thay đổi sau khi đóng dấu</td>" in page.text
    assert "<td>0341008001-ly-lich.json</td><td>Thiếu tệp 0341008001-ly-lich.json</td>" in page.text


async def test_an_accepted_package_links_its_sealed_receipt(portal: Portal) -> None:
    portal.signs_in("quantri", ["system_admin"])
    portal.services.on(
        "POST",
        f"{SIGNING}/exchange/imports",
        httpx.Response(
            201,
            json={
                "package": package("imported"),
                "student_created": True,
                "national_id": "0341008001",
                "receipt_url": f"/exchange/packages/{PACKAGE}/receipt",
            },
        ),
    )
    portal.services.on(
        "GET",
        f"{SIGNING}/exchange/packages/{PACKAGE}/receipt",
        httpx.Response(200, content=b"%PDF receipt", headers={"content-type": "application/pdf"}),
    )
    async with portal.browser() as browser:
        await portal.login(browser, "quantri")
        csrf = await portal.csrf_of(browser, "/admin/exchange")
        page = await browser.post(
            "/admin/exchange/import",
            data={"csrf": csrf},
            files={"file": ("ho-so.pdf", b"%PDF-1.7 ...", "application/pdf")},
        )
        receipt = await browser.get(f"/admin/exchange/packages/{PACKAGE}/receipt")
    assert page.status_code == 200, page.text
    assert "Đã tiếp nhận hồ sơ của trường Trường THPT Chuyên Thái Bình" in page.text
    assert "Học sinh mới được tạo từ hồ sơ." in page.text
    assert f'href="/admin/exchange/packages/{PACKAGE}/receipt"' in page.text
    assert receipt.status_code == 200
    assert receipt.content == b"%PDF receipt"
    assert receipt.headers["cache-control"] == "no-store"


async def test_a_teacher_does_not_reach_the_exchange_pages(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    async with portal.browser() as browser:
        await portal.login(browser)
        page = await browser.get("/admin/exchange")
    assert page.status_code in (403, 404)
    assert not portal.services.calls("POST", f"{SIGNING}/exchange/imports")
