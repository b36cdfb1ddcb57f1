"""The portal's year record pages: who sees which page, the homeroom teacher's review and remarks
(CSRF, limits), nothing personal in a URL, on a class of this module's own. Nothing here signs."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import httpx
import pytest

from hbs_devtools.drive import SystemClient, sign_in_portal

from .factories import SchoolClass, SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker]


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    """Three students, a mathematics teacher and a homeroom teacher."""
    return school.school_class(students=3, subjects=("TOAN",))


@pytest.fixture(scope="module")
def homeroom_teacher(klass: SchoolClass) -> str:
    assert klass.homeroom is not None
    return klass.homeroom.username


@contextlib.contextmanager
def portal(system: SystemClient, username: str) -> Iterator[httpx.Client]:
    """A browser session signed in as `username`."""
    with httpx.Client(base_url=system.stack.url("portal"), timeout=60) as browser:
        signed_in = sign_in_portal(browser, username, password_of(username))
        assert signed_in.status_code == 303, signed_in.text
        yield browser


def test_each_role_sees_its_own_record_pages_only(system: SystemClient, klass: SchoolClass) -> None:
    with httpx.Client(base_url=system.stack.url("portal"), timeout=60) as anonymous:
        away = anonymous.get("/records/homeroom")
        assert away.status_code == 303
        assert away.headers["location"].startswith("/login")
    with portal(system, klass.teachers["TOAN"].username) as teacher:
        page = teacher.get("/sheets").text
        assert "Học bạ lớp" not in page
        assert "Duyệt học bạ" not in page
        refused = teacher.get("/records/review")
        assert refused.status_code == 403
        assert "Chỉ Ban Giám hiệu" in refused.text
    with portal(system, "phohieutruong") as vice:
        page = vice.get("/records/review").text
        assert '<a href="/records/review" aria-current="page">Duyệt học bạ</a>' in page
        assert klass.name in page
        assert "Phê duyệt học bạ" not in page
    with portal(system, "hieutruong") as head:
        page = head.get("/records/approve").text
        assert '<a href="/records/approve" aria-current="page">Phê duyệt học bạ</a>' in page
        # School-wide: another module's class may be ready; this one, unsigned, is not offered.
        assert f'name="class_names" value="{klass.name}"' not in page


def test_homeroom_teacher_reviews_a_record_and_writes_remarks(
    system: SystemClient, klass: SchoolClass, homeroom_teacher: str
) -> None:
    with portal(system, homeroom_teacher) as homeroom:
        page = homeroom.get("/records/homeroom").text
        assert f"Lớp {klass.name}" in page
        assert "Chưa ký học bạ được (bước 2), còn thiếu:" in page
        assert "Kết quả rèn luyện Học kỳ I còn thiếu" in page
        links = re.findall(r'href="(/records/view/[^"]+)"', page)
        # One record per student of the class.
        assert len(links) == len(klass.students)
        assert all(re.fullmatch(r"/records/view/[0-9a-f-]{36}", link) for link in links)  # no personal data

        record_page = homeroom.get(links[0]).text
        assert "Nhận xét của giáo viên chủ nhiệm" in record_page
        assert "Rèn luyện" in record_page
        assert "Trong bảng này có sửa chữa ở 0 chỗ" in record_page
        version = re.search(r'name="version" value="(\d+)"', record_page)
        csrf = re.search(r'name="csrf" value="([^"]+)"', record_page)
        assert version is not None
        assert csrf is not None
        form = {"csrf": csrf.group(1), "version": version.group(1)}
        forged = homeroom.post(f"{links[0]}/remarks", data={**form, "csrf": "x" * 20, "remarks": "x"})
        assert forged.status_code == 403
        too_long = homeroom.post(f"{links[0]}/remarks", data={**form, "remarks": "a" * 4001})
        assert too_long.status_code == 422
        assert "Nhận xét của GVCN: tối đa 4000 ký tự." in too_long.text
        saved = homeroom.post(f"{links[0]}/remarks", data={**form, "remarks": "Chăm ngoan, tiến bộ."})
        assert saved.status_code == 303
        shown = homeroom.get(saved.headers["location"]).text
        assert "Đã lưu nhận xét." in shown
        assert "Chăm ngoan, tiến bộ.</textarea>" in shown
        stale = homeroom.post(f"{links[0]}/remarks", data={**form, "remarks": "Khác"})
        assert stale.status_code == 409
        assert "vừa được thay đổi ở nơi khác" in stale.text


def test_the_correction_form_reaches_grades_which_corrects_approved_records_only(
    system: SystemClient, homeroom_teacher: str
) -> None:
    """Đ9 through the portal: the board's correction form under minutes; a draft is refused with
    the reason, a teacher is refused, a forged form changes nothing (grades tests the approved path)."""
    with portal(system, homeroom_teacher) as homeroom:
        link = re.findall(r'href="(/records/view/[^"]+)"', homeroom.get("/records/homeroom").text)[0]
        record = homeroom.get(link).text
        assert "Mở điều chỉnh" not in record  # the form is for the board, on approved records
        version = re.search(r'name="version" value="(\d+)"', record)
        csrf = re.search(r'name="csrf" value="([^"]+)"', record)
        assert version is not None
        assert csrf is not None
        form = {
            "csrf": csrf.group(1),
            "version": version.group(1),
            "minutes_number": "01/BB",
            "minutes_date": "2026-11-20",
            "reason": "Sửa xếp loại rèn luyện",
        }
        refused = homeroom.post(f"{link}/correction", data=form)
        assert refused.status_code == 403
        assert "Chỉ Hiệu trưởng hoặc Phó Hiệu trưởng" in refused.text
    with portal(system, "hieutruong") as head:
        token = re.search(r'name="csrf" value="([^"]+)"', head.get("/signing-pin").text)
        assert token is not None
        forged = head.post(f"{link}/correction", data={**form, "csrf": "x" * 20})
        assert forged.status_code == 403
        draft = head.post(f"{link}/correction", data={**form, "csrf": token.group(1)})
        assert draft.status_code == 409
        assert "chỉ điều chỉnh học bạ đã phê duyệt" in draft.text
        no_minutes = head.post(
            f"{link}/correction", data={**form, "csrf": token.group(1), "minutes_number": ""}
        )
        assert no_minutes.status_code == 422
        assert "Số biên bản" in no_minutes.text
    with system.client("grades", system.token("hieutruong")) as grades:
        record_id = link.rsplit("/", 1)[1]
        assert grades.get(f"/records/{record_id}/corrections").json() == []
