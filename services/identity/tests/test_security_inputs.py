"""Issue 9 in identity: unbounded input answered 500 (hole 7), formula injection in the exports
(hole 5), imports parsed before the role check and without size limits (hole 6), restricted
tokens (hole 1)."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from openpyxl import load_workbook  # type: ignore[import-untyped]

from hbs_identity.app import create_app
from hbs_identity.settings import IdentitySettings
from hbs_shared.demo import DEMO_PASSWORD, DEMO_STUDENT_LOGIN

from .conftest import Login

pytestmark = [pytest.mark.db, pytest.mark.broker]

INJECTION = '=HYPERLINK("http://x","Bấm để xem")'
HUGE = "99999999999999999999"


async def test_out_of_range_numbers_and_free_text_enums_are_422_not_500(
    client: httpx.AsyncClient, login: Login
) -> None:
    admin = await login("quantri")
    for path, params in (
        ("/students", {"offset": HUGE}),
        ("/parents", {"offset": HUGE}),
        ("/staff", {"role": "x" * 41}),
        ("/staff", {"role": "bao_ve"}),
        ("/classes", {"school_year": "x" * 100}),
        ("/audit", {"action": "x" * 100}),
    ):
        answer = await client.get(path, headers=admin, params=params)
        assert answer.status_code == 422, (path, params, answer.status_code)
        assert answer.headers["content-type"].startswith("application/problem+json")
    for path in ("/students/search", "/parents/search", "/staff/search"):
        answer = await client.post(path, headers=admin, json={"offset": int(HUGE)})
        assert answer.status_code == 422, (path, answer.status_code)
    # In range still works.
    assert (await client.get("/students", headers=admin, params={"offset": 1_000_000})).status_code == 200
    assert (await client.get("/staff", headers=admin, params={"role": "principal"})).status_code == 200


async def test_the_students_export_keeps_a_formula_like_name_as_text(
    client: httpx.AsyncClient, login: Login
) -> None:
    admin = await login("quantri")
    rows = [
        ["Mã định danh", "Họ và tên", "Ngày sinh", "Giới tính", "Nơi sinh", "Dân tộc", "Lớp"],
        ["0345999001", INJECTION, "02/09/2011", "Nữ", "Thái Bình", "Kinh", "10A1"],
    ]
    content = "".join(";".join(row) + "\n" for row in rows).encode()
    done = await client.post("/imports/students", headers=admin, params={"dry_run": "false"}, content=content)
    assert done.status_code == 200, done.text
    assert done.json()["created"] == 1
    exported = (await client.get("/exports/students", headers=admin)).content
    with zipfile.ZipFile(io.BytesIO(exported)) as book:
        assert b"<f>" not in book.read("xl/worksheets/sheet1.xml")
    sheet = load_workbook(io.BytesIO(exported)).worksheets[0]
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert INJECTION in names
    # The export reads back as the same text (a dry run: every student exists already).
    again = (await client.post("/imports/students", headers=admin, content=exported)).json()
    assert {e["field"] for e in again["errors"]} == {"national_id"}
    template = (await client.get("/imports/students/template", headers=admin)).content
    with zipfile.ZipFile(io.BytesIO(template)) as book:
        assert all(b"<f>" not in book.read(n) for n in book.namelist() if n.startswith("xl/worksheets/"))


def _bomb(unzipped: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/worksheets/sheet1.xml", b" " * unzipped)
    return out.getvalue()


async def test_an_import_is_refused_to_a_student_before_parsing_and_a_zip_bomb_fast(
    client: httpx.AsyncClient, login: Login
) -> None:
    student = await login(DEMO_STUDENT_LOGIN)
    refused = await client.post("/imports/students", headers=student, content=b"not a spreadsheet \xff")
    assert refused.status_code == 403, refused.text
    admin = await login("quantri")
    bomb = _bomb(200 * 1024 * 1024)
    assert len(bomb) < 1_000_000
    started = time.perf_counter()
    answer = await client.post("/imports/students", headers=admin, content=bomb)
    assert (answer.status_code, answer.json()["field"]) == (413, "file"), answer.text
    assert "giải nén" in answer.json()["title"]
    assert time.perf_counter() - started < 2
    big = await client.post("/imports/students", headers=admin, content=b"x" * (21 * 1024 * 1024))
    assert (big.status_code, big.json()["field"]) == (413, "file")


async def test_a_restricted_token_reaches_only_the_pending_step(
    client: httpx.AsyncClient, login: Login
) -> None:
    admin = await login("quantri")
    staff = await client.post(
        "/staff",
        headers=admin,
        json={"username": "gv.moi.bm", "full_name": "Giáo Viên Mới", "roles": ["subject_teacher"]},
    )
    assert staff.status_code == 201, staff.text
    issued = await client.post(f"/accounts/{staff.json()['id']}/password", headers=admin)
    first = await client.post(
        "/auth/token", json={"username": "gv.moi.bm", "password": issued.json()["initial_password"]}
    )
    restricted = {"authorization": f"Bearer {first.json()['access_token']}"}
    assert (await client.get("/authz/scope", headers=restricted)).status_code == 401
    assert (await client.get("/classes", headers=restricted)).status_code == 401
    me = await client.get("/me", headers=restricted)
    assert (me.status_code, me.json()["roles"]) == (200, [])


@pytest.fixture
async def behind_portal(databases: Any, kafka: Any, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """Identity trusting the portal's address (127.0.0.2), locking an address after 3 failures."""
    settings = IdentitySettings(
        database_url=databases.new("identity"),
        kafka_bootstrap=kafka.bootstrap,
        data_dir=tmp_path,
        seed_demo=True,
        demo_size="small",
        environment="test",
        trusted_proxies=["127.0.0.2"],
        lockout_address_threshold=3,
    )
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=30):
        yield application


async def _sign_ins(app: FastAPI, peer: str, attempts: list[tuple[str, str, str]]) -> list[int]:
    """(forwarded for, name, password) from the TCP peer `peer`: the statuses."""
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://identity") as client:
        return [
            (
                await client.post(
                    "/auth/token",
                    json={"username": name, "password": password},
                    headers={"x-forwarded-for": forwarded},
                )
            ).status_code
            for forwarded, name, password in attempts
        ]


async def test_sign_in_lockout_counts_the_real_client_address(behind_portal: FastAPI) -> None:
    """30 failed sign-ins through the portal locked every portal user; a direct caller dodged the
    address lock with a made-up X-Forwarded-For (hole 4)."""
    wrong = [(f"198.51.100.{i}", f"khong.co.{i}", "sai-mat-khau") for i in range(3)]
    # A direct caller is counted by its own address whatever it forwards.
    assert await _sign_ins(behind_portal, "127.0.0.1", wrong) == [401, 401, 401]
    assert await _sign_ins(behind_portal, "127.0.0.1", [("198.51.100.77", "gv.toan", DEMO_PASSWORD)]) == [429]
    # Through the trusted portal each user is counted on their own.
    one_user = [("203.0.113.5", name, password) for _, name, password in wrong]
    assert await _sign_ins(behind_portal, "127.0.0.2", one_user) == [401, 401, 401]
    assert await _sign_ins(behind_portal, "127.0.0.2", [("203.0.113.5", "gv.toan", DEMO_PASSWORD)]) == [429]
    assert await _sign_ins(behind_portal, "127.0.0.2", [("203.0.113.6", "gv.toan", DEMO_PASSWORD)]) == [200]
