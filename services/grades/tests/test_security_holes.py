"""Issue 9 in grades: restricted tokens (hole 1), formula injection in every .xlsx (hole 5), uploads
checked before reading and parsed off the event loop (hole 6), unbounded input (hole 7)."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
import zipfile
from typing import Any
from urllib.parse import quote

import pytest
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from hbs_identity.models import Account

from .conftest import SCHOOL, GradesHarness

pytestmark = [pytest.mark.db, pytest.mark.broker]

INJECTION = '=HYPERLINK("http://x","Bấm để xem")'
PRINCIPAL = uuid.uuid5(uuid.NAMESPACE_URL, "security/principal")


async def _class(
    h: GradesHarness, names: list[str], class_name: str | None = None
) -> tuple[str, uuid.UUID, Any]:
    """A fresh class with its own teacher of physics; answers (class, teacher, the HK1 sheet)."""
    class_name = class_name or f"10S-{uuid.uuid4().hex[:6]}"
    teacher = uuid.uuid4()
    await h.assign(teacher, class_name, "VAT_LI")
    await h.enrol(class_name, names)
    sheets = (await h.client.get("/sheets", headers=h.headers(teacher))).json()
    sheet = next(s for s in sheets if s["class_name"] == class_name and s["term"] == "HK1")
    return class_name, teacher, sheet


def _no_formula(content: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        for name in book.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in book.read(name), name


async def test_a_restricted_token_is_refused_by_grades(grades: GradesHarness) -> None:
    """Before the first-sign-in password change the token saved scores and got the sheet signed."""
    _, teacher, sheet = await _class(grades, ["Nguyễn Văn An"])
    account = Account(
        id=teacher,
        school_id=SCHOOL,
        username="gv.moi",
        full_name="Giáo viên mới",
        password_hash="x",
        roles=[],
    )
    restricted = {"authorization": f"Bearer {grades.issuer.issue(account, restricted=['password_change'])}"}
    listed = await grades.client.get("/sheets", headers=restricted)
    assert listed.status_code == 401, listed.text
    assert listed.headers["content-type"].startswith("application/problem+json")
    saved = await grades.client.put(
        f"/sheets/{sheet['id']}/scores",
        headers=restricted,
        json={"expected_version": sheet["version"], "rows": []},
    )
    assert saved.status_code == 401
    assert (await grades.client.get("/sheets", headers=grades.headers(teacher))).status_code == 200


async def test_the_sheet_xlsx_keeps_a_formula_like_name_as_text_and_reads_back(grades: GradesHarness) -> None:
    _, teacher, sheet = await _class(grades, [INJECTION, "Trần Thị Bình"])
    me = grades.headers(teacher)
    download = await grades.client.get(f"/sheets/{sheet['id']}/xlsx", headers=me)
    _no_formula(download.content)
    book = load_workbook(io.BytesIO(download.content))
    names = [book.active.cell(row=r, column=4).value for r in (5, 6)]
    assert INJECTION in names
    row = 5 + names.index(INJECTION)
    book.active[f"E{row}"] = "8,5"
    book.active[f"L{row}"] = "=1+1 là phép cộng"  # a comment that looks like a formula
    out = io.BytesIO()
    book.save(out)
    stored = await grades.client.put(f"/sheets/{sheet['id']}/xlsx", headers=me, content=out.getvalue())
    assert stored.status_code == 200, stored.text
    line = next(r for r in stored.json()["rows"] if r["full_name"] == INJECTION)
    assert line["regular"][0] == "8.5"
    again = await grades.client.get(f"/sheets/{sheet['id']}/xlsx", headers=me)
    _no_formula(again.content)


async def test_class_results_and_statistics_xlsx_keep_formula_like_text_as_text(
    grades: GradesHarness,
) -> None:
    class_name, _, _ = await _class(grades, [INJECTION], class_name='=HYPERLINK("x","10X")')
    board = grades.headers(PRINCIPAL, roles=("principal",))
    results = await grades.client.get(f"/results/classes/{quote(class_name, safe='')}/xlsx", headers=board)
    assert results.status_code == 200, results.text
    _no_formula(results.content)
    ws = load_workbook(io.BytesIO(results.content)).active
    assert ws["C4"].value == INJECTION
    stats = await grades.client.get("/results/subjects/VAT_LI/xlsx", headers=board)
    assert stats.status_code == 200
    _no_formula(stats.content)
    scopes = [c.value for c in load_workbook(io.BytesIO(stats.content)).active["A"]]
    assert class_name in scopes


def _padded(content: bytes, unzipped: int, members: int = 1) -> bytes:
    """The workbook plus members that unzip to `unzipped` bytes in all (a zip bomb, small on the wire)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            target.writestr(item, source.read(item))
        for index in range(members):
            target.writestr(f"xl/media/pad{index}.bin", b"\0" * (unzipped // members))
    return out.getvalue()


async def test_a_zip_bomb_is_refused_before_parsing(grades: GradesHarness) -> None:
    _, teacher, sheet = await _class(grades, ["Nguyễn Văn An"])
    me = grades.headers(teacher)
    download = (await grades.client.get(f"/sheets/{sheet['id']}/xlsx", headers=me)).content
    bomb = _padded(download, 40 * 1024 * 1024)
    assert len(bomb) < 200_000
    started = time.perf_counter()
    refused = await grades.client.put(f"/sheets/{sheet['id']}/xlsx", headers=me, content=bomb)
    assert (refused.status_code, refused.json()["field"]) == (413, "file"), refused.text
    assert "giải nén" in refused.json()["title"]
    assert time.perf_counter() - started < 2
    many = await grades.client.put(
        f"/sheets/{sheet['id']}/xlsx", headers=me, content=_padded(download, 1000, members=500)
    )
    assert (many.status_code, many.json()["field"]) == (413, "file")
    big = await grades.client.put(
        f"/sheets/{sheet['id']}/xlsx", headers=me, content=b"PK" + b"\0" * 6_000_000
    )
    assert (big.status_code, big.json()["field"]) == (413, "file")


async def test_an_upload_by_someone_who_may_not_write_is_refused_without_parsing(
    grades: GradesHarness,
) -> None:
    _, _, sheet = await _class(grades, ["Nguyễn Văn An"])
    board = grades.headers(PRINCIPAL, roles=("principal",))
    # The board reads the sheet but does not write it: 403 before the (unreadable) body is looked at.
    refused = await grades.client.put(f"/sheets/{sheet['id']}/xlsx", headers=board, content=b"not a workbook")
    assert refused.status_code == 403, refused.text
    student = grades.headers(uuid.uuid4(), roles=("student",))
    hidden = await grades.client.put(
        f"/sheets/{sheet['id']}/xlsx", headers=student, content=b"not a workbook"
    )
    assert hidden.status_code == 404


def _large_workbook(cells: int) -> bytes:
    book = Workbook(write_only=True)
    ws = book.create_sheet()
    for row in range(cells // 20):
        ws.append([row * 20 + column for column in range(20)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_healthz_answers_while_an_upload_is_parsed(grades: GradesHarness) -> None:
    _, teacher, sheet = await _class(grades, ["Nguyễn Văn An"])
    heavy = _large_workbook(150_000)  # within the limits, seconds of openpyxl work
    started = time.perf_counter()
    upload = asyncio.create_task(
        grades.client.put(f"/sheets/{sheet['id']}/xlsx", headers=grades.headers(teacher), content=heavy)
    )
    waits: list[float] = []

    async def probe() -> None:
        while not upload.done():
            asked = time.perf_counter()
            assert (await grades.client.get("/healthz")).status_code == 200
            waits.append(time.perf_counter() - asked)
            await asyncio.sleep(0.05)

    await asyncio.gather(upload, probe())
    took = time.perf_counter() - started
    answer = upload.result()
    assert (answer.status_code, answer.json()["field"]) == (422, "file")  # not this sheet's file
    assert len(waits) >= 3, (took, waits)
    assert max(waits) < min(1.0, took / 2), (took, waits)
