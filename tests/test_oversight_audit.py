"""Issue 11 §7 through the running system: a teacher submits a score sheet and changes it after
submission; the principal reads both in "Nhật ký" in Vietnamese, with names and Vietnam's clock;
someone edits that audit row in grades' database: `python -m hbs_grades.audit verify` fails naming
it, and the page says the chain is broken at that entry. The row is put back afterwards (the stack
is shared by the session)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from hbs_devtools.drive import SystemClient, sign_in_portal
from hbs_shared.db import Database

from .factories import SchoolClass, SchoolFactory, password_of

pytestmark = [pytest.mark.db, pytest.mark.broker]


@pytest.fixture(scope="module")
def klass(school: SchoolFactory) -> SchoolClass:
    return school.school_class(students=2, subjects=("TOAN",), homeroom=False)


@contextmanager
def portal(system: SystemClient, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.stack.url("portal"), timeout=60) as browser:
        signed_in = sign_in_portal(browser, username, password_of(username))
        assert signed_in.status_code == 303, signed_in.text
        yield browser


def sql(url: str, statement: str, **params: Any) -> None:
    async def run() -> None:
        db = Database(url)
        try:
            async with db.transaction() as session:
                await session.execute(text(statement), params)
        finally:
            await db.dispose()

    asyncio.run(run())


def verify(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hbs_grades.audit", "verify", "--url", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def audit_rows(page: str) -> list[list[str]]:
    def cell(html: str) -> str:
        return re.sub(r"<[^>]+>", "", html.replace("<br>", " | ")).strip()

    rows = re.findall(r'<tr class="audit-row">(.*?)</tr>', page, re.S)
    return [[cell(c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)] for row in rows]


def test_the_principal_reads_the_trail_and_an_edited_row_is_named(
    system: SystemClient, school: SchoolFactory, klass: SchoolClass
) -> None:
    teacher = klass.teachers["TOAN"]
    token = system.token(teacher.username)
    sheet = system.sheet(token, klass.name, "Toán")
    saved = school.fill_scores(teacher, sheet["id"])["sheet"]
    with system.client("grades", token) as grades:
        submitted = grades.post(f"/sheets/{sheet['id']}/submit", json={"expected_version": saved["version"]})
        assert submitted.status_code == 200, submitted.text
        scores = grades.get(f"/sheets/{sheet['id']}/scores").json()
        student = scores["rows"][0]
        saved_student = student["full_name"]
        changed = grades.put(
            f"/sheets/{sheet['id']}/scores",
            json={
                "expected_version": submitted.json()["version"],
                "rows": [{"student_id": student["student_id"], "final": "4.5"}],
                "reason": "Phúc khảo bài cuối kỳ",
            },
        )
        assert changed.status_code == 200, changed.text

    subject = f"Sổ điểm Toán – lớp {klass.name} – Học kỳ I"
    with portal(system, "hieutruong") as head:
        page = head.get("/admin/audit")
        assert page.status_code == 200, page.text
        assert page.text.count("Chuỗi kiểm chứng: toàn vẹn") == 2
        mine = [row for row in audit_rows(page.text) if row[3] == subject]
        assert [row[2] for row in mine] == ["Sửa điểm sau khi nộp", "Nộp sổ điểm"]
        change = mine[0]
        assert re.fullmatch(r"\d\d/\d\d/20\d\d \d\d:\d\d", change[0])
        assert change[1] == teacher.full_name
        assert "Lý do: Phúc khảo bài cuối kỳ" in change[4]
        assert f"{saved_student} – ĐĐGck:" in change[4]
        assert change[4].endswith("→ 4,5")
        seq = int(change[5].rsplit("mục ", 1)[1])

        url = system.stack.database_urls["grades"]
        assert verify(url).returncode == 0
        sql(url, "UPDATE audit_trail SET actor_name = 'Người khác' WHERE seq = :seq", seq=seq)
        try:
            broken = verify(url)
            assert broken.returncode == 1
            assert f"grades: audit chain BROKEN at seq {seq} (edited)" in broken.stderr
            shown = head.get("/admin/audit").text
            assert f"Chuỗi kiểm chứng: hỏng tại mục {seq} – nội dung mục này đã bị sửa" in shown
        finally:
            sql(
                url,
                "UPDATE audit_trail SET actor_name = :name WHERE seq = :seq",
                name=teacher.full_name,
                seq=seq,
            )
        assert verify(url).returncode == 0
