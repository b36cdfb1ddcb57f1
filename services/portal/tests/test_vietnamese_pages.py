"""Issue 15 in the portal: error pages instead of JSON, /verify in Vietnamese and Vietnam's time."""

from __future__ import annotations

import httpx
import pytest

from .conftest import SIGNING, Portal

pytestmark = pytest.mark.db

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what a browser sends
SHEET = "/sheets/3f2b1c9e-0000-4000-8000-000000000001/scores"


async def test_a_wrong_address_is_a_vietnamese_page_that_says_where_to_go(portal: Portal) -> None:
    async with portal.browser() as browser:
        missing = await browser.get("/khong-co-trang-nay", headers=HTML)
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert "Không tìm thấy trang" in missing.text
        assert 'href="/login"' in missing.text  # not signed in: sign in, or verify a record
        # An API client that asks for JSON still gets the problem document.
        asked = await browser.get("/khong-co-trang-nay", headers={"accept": "application/json"})
        assert asked.status_code == 404
        assert asked.headers["content-type"] == "application/problem+json"
        assert asked.json()["status"] == 404


async def test_a_malformed_id_and_a_refused_page_are_pages_with_the_users_way_back(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    async with portal.browser() as browser:
        await portal.login(browser)
        malformed = await browser.get("/sheets/not-a-uuid/scores", headers=HTML)
        assert malformed.status_code == 422
        assert "Đường dẫn không hợp lệ" in malformed.text
        assert "uuid" not in malformed.text.lower()  # no pydantic message
        assert 'href="/sheets"' in malformed.text  # a teacher's first page
        assert "gv.toan" in malformed.text or "Nguyễn Văn A" in malformed.text  # still signed in
        missing = await browser.get("/sheets/3f2b1c9e-0000-4000-8000-000000000001/khong-co", headers=HTML)
        assert (missing.status_code, "Không tìm thấy trang" in missing.text) == (404, True)
        refused = await browser.get("/admin/students", headers=HTML)
        assert refused.status_code == 403
        assert "Bạn không có quyền mở trang này." in refused.text
        assert 'href="/sheets"' in refused.text


async def test_a_fault_is_a_page_not_a_stack_trace(portal: Portal) -> None:
    portal.signs_in("gv.toan", ["subject_teacher"])
    # A service answering 200 with a body the page cannot use: a bug, shown as the 500 page.
    portal.services.on("GET", f"{SIGNING}/verify/ABC123", httpx.Response(200, json=["not", "a", "report"]))
    transport = httpx.ASGITransport(app=portal.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as browser:
        fault = await browser.get("/verify/ABC123", headers=HTML)
    assert fault.status_code == 500
    assert "Hệ thống gặp lỗi" in fault.text
    assert "Traceback" not in fault.text
    assert fault.headers["x-content-type-options"] == "nosniff"


async def test_verify_shows_reasons_in_vietnamese_and_the_time_as_dd_mm_yyyy_hh_mm(portal: Portal) -> None:
    report = {
        "verdict": "invalid",
        "sha256": "00",
        "document": {"verification_code": "ABC123", "status": "current", "sealed": False},
        "problems": ["the file carries 1 signatures; this version must carry 2"],
        "signatures": [
            {
                "signer": "Nguyễn Thị Hằng",
                "role": "subject_teacher",
                "issuer": "HBS CA",
                "signing_time": "2026-12-06T21:11:05.123456+00:00",
                "signing_time_source": "timestamp",
                "intact": True,
                "trusted": False,
                "revocation_at_signing_time": "revoked",
                "verdict": "indeterminate",
                "problems": ["the certificate does not chain to a trusted root, or was not valid/unrevoked"],
            }
        ],
    }
    portal.services.on("GET", f"{SIGNING}/verify/ABC123", report)
    async with portal.browser() as browser:
        page = await browser.get("/verify/ABC123", headers=HTML)
    assert page.status_code == 200
    assert "07/12/2026 04:11" in page.text  # 21:11 UTC is 04:11 the next day in Vietnam
    assert "2026-12-06T21:11" not in page.text
    assert "Tệp có 1 chữ ký; phiên bản này phải có 2 chữ ký." in page.text
    assert "Chứng thư số không thuộc tổ chức cấp tin cậy" in page.text
    assert "đã bị thu hồi" in page.text
    assert "the file carries" not in page.text


async def test_verify_says_which_issued_version_a_file_is_and_what_it_carries(portal: Portal) -> None:
    """Issue 13: a file cut after a signature of an issued version is named as such, in words."""
    report = {
        "verdict": "indeterminate",
        "sha256": "00",
        "file": {"signatures": 3, "document_timestamps": 0},
        "document": {
            "verification_code": "ABC124",
            "status": "current",
            "sealed": True,
            "relation": "earlier_revision",
        },
        "problems": [
            "this file is an earlier revision cut from an issued version: it carries 3 of its 4 "
            "signatures; ask for the whole file"
        ],
        "signatures": [],
    }
    portal.services.on("GET", f"{SIGNING}/verify/ABC124", report)
    async with portal.browser() as browser:
        page = await browser.get("/verify/ABC124", headers=HTML)
        browser.cookies.set("hbs_lang", "en")
        english = await browser.get("/verify/ABC124", headers=HTML)
    assert page.status_code == 200
    assert "phần đầu của phiên bản đã phát hành (chưa đủ chữ ký)" in page.text
    assert "Tệp có 3 chữ ký và 0 dấu thời gian lưu trữ." in page.text
    assert "có 3 trên 4 chữ ký của phiên bản đó" in page.text
    assert "earlier revision" not in page.text
    assert "it has 3 of that version&#39;s 4 signatures" in english.text or (
        "it has 3 of that version's 4 signatures" in english.text
    )
    assert "The file carries 3 signatures and 0 archive timestamps." in english.text


async def test_verify_says_a_revoked_record_is_revoked_with_its_minutes_in_both_languages(
    portal: Portal,
) -> None:
    """Issue 13 §5: the board annulled the record under minutes; the page says so above everything
    else, with the minutes' number and date (dd/mm/yyyy), and names the newest version."""
    report = {
        "verdict": "invalid",
        "sha256": "00",
        "file": {"signatures": 4, "document_timestamps": 1},
        "document": {
            "verification_code": "ABC125",
            "status": "revoked",
            "sealed": True,
            "relation": "exact",
            "superseded_by": None,
            "revocation": {
                "minutes_number": "12/BB-HĐ",
                "minutes_date": "2026-11-25",
                "revoked_at": "2026-11-25T20:30:00+00:00",
                "revoked_by_role": "principal",
            },
        },
        "problems": [
            "the school's board revoked this record under minutes 12/BB-HĐ of 25/11/2026: "
            "it is no longer valid"
        ],
        "signatures": [],
    }
    portal.services.on("GET", f"{SIGNING}/verify/ABC125", report)
    async with portal.browser() as browser:
        page = await browser.get("/verify/ABC125", headers=HTML)
        browser.cookies.set("hbs_lang", "en")
        english = await browser.get("/verify/ABC125", headers=HTML)
    assert page.status_code == 200
    assert "ĐÃ BỊ THU HỒI" in page.text
    assert "theo biên bản số 12/BB-HĐ ngày 25/11/2026 (ghi nhận lúc 26/11/2026 03:30)" in page.text
    assert "Học bạ đã bị nhà trường thu hồi theo biên bản số 12/BB-HĐ ngày 25/11/2026" in page.text
    assert "đây là phiên bản hiện hành" not in page.text
    assert "revoked this record" not in page.text
    assert "REVOKED" in english.text
    assert "The school revoked this record under minutes no. 12/BB-HĐ of 25/11/2026" in english.text
