"""Bulk import from Excel and CSV (dry run reporting every bad row, then all-or-nothing), the
Vietnamese templates, and export to Excel."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from hbs_shared.service import ServiceRuntime

Login = Callable[..., Awaitable[dict[str, str]]]
Events = Callable[[str], Awaitable[list[dict[str, Any]]]]
pytestmark = [pytest.mark.db, pytest.mark.broker]

HEADERS = ["Mã định danh", "Họ và tên", "Ngày sinh", "Giới tính", "Nơi sinh", "Dân tộc", "Lớp"]


def xlsx(rows: list[list[Any]], headers: list[str] = HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _total(client: httpx.AsyncClient, admin: dict[str, str]) -> int:
    return int((await client.get("/students", headers=admin, params={"limit": 1})).json()["total"])


async def test_templates_are_in_vietnamese(client: httpx.AsyncClient, login: Login) -> None:
    admin = await login("quantri")
    for kind, first in (
        ("students", "Mã định danh *"),
        ("parents", "Họ và tên *"),
        ("staff", "Tên đăng nhập *"),
        ("assignments", "Tên đăng nhập giáo viên *"),
    ):
        response = await client.get(f"/imports/{kind}/template", headers=admin)
        assert response.status_code == 200
        book = load_workbook(io.BytesIO(response.content))
        assert book.sheetnames[1] == "Hướng dẫn"
        assert book.worksheets[0].cell(1, 1).value == first
    teacher = await login("gv.toan")
    assert (await client.get("/imports/students/template", headers=teacher)).status_code == 403


async def test_a_dry_run_reports_every_bad_row_and_writes_nothing(
    client: httpx.AsyncClient, login: Login
) -> None:
    admin = await login("quantri")
    before = await _total(client, admin)
    content = xlsx(
        [
            ["0345000001", "Trần Thị Bích", "02/09/2011", "Nữ", "Thái Bình", "Kinh", "10A1"],  # row 2: good
            [
                "0345000002",
                "Lê Văn Cường",
                "31/02/2011",
                "Nam",
                "Thái Bình",
                "Kinh",
                "10A1",
            ],  # 3: no such date
            [
                "0345000001",
                "Phạm Minh Đức",
                "01/01/2011",
                "Nam",
                "Thái Bình",
                "Kinh",
                "10A2",
            ],  # 4: repeats row 2
            ["0341008001", "Đỗ Thu Hà", "01/01/2011", "Nữ", "Thái Bình", "Kinh", "10A2"],  # 5: exists already
            [
                "0345000005",
                "Vũ Hải Nam",
                "01/01/2011",
                "Nam",
                "Thái Bình",
                "Kinh",
                "10Z9",
            ],  # 6: unknown class
            ["0345000006", "Hoàng Lan", "01/01/2011", "Nữ", "Thái Bình", "Klingon", "10A1"],  # 7: ethnicity
            ["0345000007", "Bùi Tiến", "01/01/2011", "X", "Thái Bình", "Kinh", "10A1"],  # 8: gender
            ["12", "Ngô Yến", "01/01/2011", "Nữ", "Thái Bình", "Tày", "10A1"],  # 9: format
            ["0345000009", "", "01/01/2011", "Nữ", "Thái Bình", "Kinh", "10A1"],  # 10: no name
            ["0345000011", "", "31/02/2011", "X", "Thái Bình", "Kinh", "10Z9"],  # 11: four at once
        ]
    )
    checked = await client.post(
        "/imports/students", headers=admin, params={"dry_run": "true"}, content=content
    )
    assert checked.status_code == 200
    report = checked.json()
    assert (report["rows"], report["valid"], report["created"]) == (10, False, 0)
    assert [(e["row"], e["field"]) for e in report["errors"]] == [
        (3, "date_of_birth"),
        (4, "national_id"),
        (5, "national_id"),
        (6, "class_name"),
        (7, "ethnicity"),
        (8, "gender"),
        (9, "national_id"),
        (10, "full_name"),
        # Issue 15: every error of a row in one pass, not the first one only.
        (11, "date_of_birth"),
        (11, "gender"),
        (11, "class_name"),
        (11, "full_name"),
    ]
    assert report["errors"][0]["column"] == "Ngày sinh"
    # Issue 15: every message in Vietnamese (it said "'31/02/2011' is not a date", "write Nam or Nữ").
    messages = [e["message"] for e in report["errors"]]
    assert "không phải ngày hợp lệ" in messages[0]
    assert "trùng với dòng 2" in messages[1]
    assert "ghi Nam hoặc Nữ" in messages[5]
    assert messages[7] == "thiếu giá trị"
    english = ("is not", "write ", "already", "should", "String")
    assert not any(word in m for m in messages for word in english)

    real = await client.post("/imports/students", headers=admin, params={"dry_run": "false"}, content=content)
    assert real.status_code == 422
    assert real.json()["title"] == "Tệp có dòng lỗi; không dòng nào được nhập"
    assert len(real.json()["errors"]) == 12
    assert await _total(client, admin) == before


async def test_1500_students_import_at_once_and_are_published(
    app: FastAPI, client: httpx.AsyncClient, login: Login, outbox_events: Events
) -> None:
    admin = await login("quantri")
    before = await _total(client, admin)
    classes = ["10A1", "10A2", "11 Toán chuyên"]
    rows = [
        [f"0346{n:06d}", f"Nguyễn Văn Học Sinh {n}", f"{1 + n % 28:02d}/{1 + n % 12:02d}/2011",
         "Nam" if n % 2 else "Nữ", "Thái Bình", "Kinh", classes[n % 3]]
        for n in range(1500)
    ]  # fmt: skip
    content = xlsx(rows)
    checked = await client.post(
        "/imports/students", headers=admin, params={"dry_run": "true"}, content=content
    )
    assert checked.json()["valid"] is True
    # Its speed (under 10 s, issue 3) is measured by `make bench-identity`, not timed here.
    started = time.perf_counter()
    imported = await client.post(
        "/imports/students", headers=admin, params={"dry_run": "false"}, content=content
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 1500
    assert await _total(client, admin) == before + 1500
    enrolled = await outbox_events("identity.student.enrolled")
    assert len([e for e in enrolled if e["national_id"].startswith("0346")]) == 1500
    found = (
        await client.post("/students/search", headers=admin, json={"q": "nguyen van hoc sinh 1499"})
    ).json()
    assert [s["class_name"] for s in found["items"]] == ["11 Toán chuyên"]  # 1499 % 3 == 2

    # The relay publishes them all to the broker (and nothing is left in flight at shutdown).
    runtime: ServiceRuntime = app.state.runtime
    deadline = time.monotonic() + 90
    while True:
        async with runtime.db.transaction() as session:
            pending = await runtime.outbox.count_pending(session)
        if pending == 0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    print(f"outbox drained in {time.perf_counter() - started:.1f} s after the import started")
    assert pending == 0


async def test_parents_staff_and_assignments_from_csv_then_export(
    client: httpx.AsyncClient, login: Login
) -> None:
    admin = await login("quantri")
    staff_csv = (
        "Tên đăng nhập;Họ và tên;Vai trò;Tổ chuyên môn;Email\n"
        "gv.hoa;Đặng Thu Hoà;Giáo viên bộ môn;Tổ Hoá học - Sinh học;hoa@thpt.edu.vn\n"
        'gv.su;Trịnh Văn Sử;"Giáo viên bộ môn; Giáo viên chủ nhiệm";Tổ Sử mới;\n'
        "gv.hoa;Ai Đó;Giáo viên bộ môn;;\n"
        "gv.x;Người Lạ;Bảo vệ;;\n"
    ).encode()
    checked = (await client.post("/imports/staff", headers=admin, content=staff_csv)).json()
    assert [(e["row"], e["field"]) for e in checked["errors"]] == [(4, "username"), (5, "roles")]
    staff_csv = b"\n".join(staff_csv.split(b"\n")[:3]) + b"\n"
    done = await client.post("/imports/staff", headers=admin, params={"dry_run": "false"}, content=staff_csv)
    assert done.json()["created"] == 2
    departments = {d["name"] for d in (await client.get("/departments", headers=admin)).json()}
    assert "Tổ Sử mới" in departments

    assignments_csv = (
        "Tên đăng nhập giáo viên,Lớp,Loại,Môn\n"
        "gv.hoa,10A1,Giảng dạy,Hoá học\n"
        "gv.su,10a2,Giảng dạy,LICH_SU\n"
        "gv.su,10A2,Chủ nhiệm,\n"
        "gv.hoa,10A1,Giảng dạy,Toán\n"
        "gv.none,10A1,Giảng dạy,Toán\n"
    ).encode()
    checked = (await client.post("/imports/assignments", headers=admin, content=assignments_csv)).json()
    assert [(e["row"], e["field"]) for e in checked["errors"]] == [(5, "subject"), (6, "teacher")]
    assignments_csv = b"\n".join(assignments_csv.split(b"\n")[:4]) + b"\n"
    done = await client.post(
        "/imports/assignments", headers=admin, params={"dry_run": "false"}, content=assignments_csv
    )
    assert done.json()["created"] == 3

    roster = (await client.get("/students", headers=admin, params={"limit": 2})).json()["items"]
    a, b = roster[0]["national_id"], roster[1]["national_id"]
    parents_csv = (
        "Họ và tên,Số điện thoại,Mã định danh học sinh,Quan hệ\n"
        f"Lý Thị Mơ,0977 654 321,{a}; {b},Mẹ\n"
        f"Lý Văn Ba,0977654321,{a},Cha\n"
        "Ai Đó,0911111111,0000000000,Cha\n"
    ).encode()
    checked = (await client.post("/imports/parents", headers=admin, content=parents_csv)).json()
    assert [(e["row"], e["field"]) for e in checked["errors"]] == [(3, "phone"), (4, "children")]
    parents_csv = b"\n".join(parents_csv.split(b"\n")[:2]) + b"\n"
    done = await client.post(
        "/imports/parents", headers=admin, params={"dry_run": "false"}, content=parents_csv
    )
    assert done.json()["created"] == 1
    mother = await client.post("/auth/token", json={"username": "0977654321", "password": "x"})
    assert mother.status_code == 401  # exists, but has no password until a slip is printed

    exported = await client.get("/exports/parents", headers=admin)
    sheet = load_workbook(io.BytesIO(exported.content)).worksheets[0]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["Lý Thị Mơ"][1:] == ("0977654321", "ph0977654321", "; ".join(sorted([a, b])), "Mẹ")
    students = load_workbook(io.BytesIO((await client.get("/exports/students", headers=admin)).content))
    assert students.worksheets[0].max_row == 31
    # An export imports back cleanly in a dry run — except that every student already exists.
    exported_students = (await client.get("/exports/students", headers=admin)).content
    again = (await client.post("/imports/students", headers=admin, content=exported_students)).json()
    assert again["rows"] == 30
    assert {e["field"] for e in again["errors"]} == {"national_id"}
    teacher = await login("gv.toan")
    assert (await client.get("/exports/students", headers=teacher)).status_code == 403


async def test_a_parent_gains_a_second_child_by_re_import(client: httpx.AsyncClient, login: Login) -> None:
    admin = await login("quantri")
    roster = (await client.get("/students", headers=admin, params={"limit": 3})).json()["items"]
    first, second, third = (s["national_id"] for s in roster)
    header = "Họ và tên,Số điện thoại,Tên đăng nhập,Mã định danh học sinh,Quan hệ\n"

    async def parents(csv: str, dry_run: bool) -> httpx.Response:
        return await client.post(
            "/imports/parents",
            headers=admin,
            params={"dry_run": str(dry_run).lower()},
            content=(header + csv).encode(),
        )

    created = (await parents(f"Lý Thị Mơ,0977654321,,{first},Mẹ\n", dry_run=False)).json()
    assert (created["created"], created["linked"]) == (1, [])

    again = f"Lý Thị Mơ,0977 654 321,,{second},Mẹ\n"
    checked = (await parents(again, dry_run=True)).json()
    assert (checked["valid"], checked["errors"], checked["created"]) == (True, [], 0)
    [linked] = checked["linked"]
    assert (linked["row"], linked["students"], linked["message"]) == (2, 1, "liên kết thêm học sinh")
    mother = (await client.get(f"/parents/{linked['parent_id']}", headers=admin)).json()
    assert len(mother["children"]) == 1  # a dry run writes nothing

    done = (await parents(again, dry_run=False)).json()
    assert (done["created"], [r["row"] for r in done["linked"]]) == (0, [2])
    mother = (await client.get(f"/parents/{linked['parent_id']}", headers=admin)).json()
    ids = {s["id"]: s["national_id"] for s in roster}
    assert sorted(ids[c["student_id"]] for c in mother["children"]) == sorted([first, second])

    # By username too; a row that links nothing new is a note, not an error.
    by_name = (await parents(f"Lý Thị Mơ,,ph0977654321,{first},Mẹ\n", dry_run=True)).json()
    assert (by_name["errors"], by_name["linked"], len(by_name["notes"])) == ([], [], 1)

    # A phone or username of a staff member is still an error naming the row and the field.
    staff = await client.post(
        "/staff",
        headers=admin,
        json={
            "username": "gv.dien",
            "full_name": "Phan Văn Điền",
            "roles": ["subject_teacher"],
            "phone": "0912345678",
        },
    )
    assert staff.status_code == 201, staff.text
    clash = f"Người A,0912345678,,{third},Cha\nNgười B,,gv.toan,{third},Cha\n"
    refused = (await parents(clash, dry_run=True)).json()
    assert [(e["row"], e["field"], e["column"]) for e in refused["errors"]] == [
        (2, "phone", "Số điện thoại"),
        (3, "username", "Tên đăng nhập"),
    ]
    assert (await parents(clash, dry_run=False)).status_code == 422

    # The single-parent API does the same: 200 with the existing parent, now with a third child.
    third_id = next(s["id"] for s in roster if s["national_id"] == third)
    extended = await client.post(
        "/parents",
        headers=admin,
        json={
            "full_name": "Lý Thị Mơ",
            "phone": "0977654321",
            "children": [{"student_id": third_id, "relationship": "mother"}],
        },
    )
    assert extended.status_code == 200, extended.text
    assert extended.json()["id"] == linked["parent_id"]
    assert len(extended.json()["children"]) == 3
    to_staff = await client.post(
        "/parents",
        headers=admin,
        json={
            "full_name": "Người A",
            "phone": "0912345678",
            "children": [{"student_id": third_id, "relationship": "father"}],
        },
    )
    assert (to_staff.status_code, to_staff.json()["field"]) == (409, "phone")
    new = await client.post(
        "/parents",
        headers=admin,
        json={
            "full_name": "Người C",
            "phone": "0933333333",
            "children": [{"student_id": third_id, "relationship": "father"}],
        },
    )
    assert new.status_code == 201
