"""`python -m hbs_identity.bench`: issue 3's bar, 1,500 students imported from Excel in under 10 s.

Identity runs in-process on the real broker with the small demo school; the office admin uploads
one .xlsx of 1,500 new students through `POST /imports/students`: first the dry run, then the
real, all-or-nothing import (every row validated, written, audited, its event in the outbox).
On SQLite, and on PostgreSQL too when HBS_TEST_DATABASE=postgresql. The last line is exactly
`import_1500_students_s=<x> dry_run_1500_students_s=<y>`, the worst over the databases measured.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import time
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager
from openpyxl import Workbook  # type: ignore[import-untyped]

from hbs_devtools.benchdb import postgres_database, postgres_wanted, sqlite_url
from hbs_devtools.broker import LocalBroker
from hbs_devtools.demo import DEMO_PASSWORD
from hbs_identity.app import create_app
from hbs_identity.settings import IdentitySettings

STUDENTS = 1500
HEADERS = ["Mã định danh", "Họ và tên", "Ngày sinh", "Giới tính", "Nơi sinh", "Dân tộc", "Lớp"]
CLASSES = ["10A1", "10A2", "11 Toán chuyên"]


def students_workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for n in range(STUDENTS):
        sheet.append(
            [f"0346{n:06d}", f"Nguyễn Văn Học Sinh {n}", f"{1 + n % 28:02d}/{1 + n % 12:02d}/2011",
             "Nam" if n % 2 else "Nữ", "Hưng Yên", "Kinh", CLASSES[n % 3]]
        )  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def run_one(database_url: str, label: str, folder: Path, broker: LocalBroker) -> tuple[float, float]:
    settings = IdentitySettings(
        database_url=database_url,
        kafka_bootstrap=broker.bootstrap,
        data_dir=folder / label,
        seed_demo=True,
        demo_size="small",
        environment="test",
    )
    app = create_app(settings)
    content = students_workbook()
    async with (
        LifespanManager(app, startup_timeout=120, shutdown_timeout=120),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity") as client,
    ):
        signed_in = await client.post("/auth/token", json={"username": "quantri", "password": DEMO_PASSWORD})
        headers = {"authorization": f"Bearer {signed_in.json()['access_token']}"}
        started = time.perf_counter()
        checked = await client.post(
            "/imports/students", headers=headers, params={"dry_run": "true"}, content=content
        )
        dry_run_s = time.perf_counter() - started
        if checked.status_code != 200 or not checked.json()["valid"]:
            raise SystemExit(f"dry run refused: {checked.text[:500]}")
        started = time.perf_counter()
        imported = await client.post(
            "/imports/students", headers=headers, params={"dry_run": "false"}, content=content
        )
        import_s = time.perf_counter() - started
        if imported.status_code != 200 or imported.json()["created"] != STUDENTS:
            raise SystemExit(f"import refused: {imported.text[:500]}")
        # Let the relay publish the 1,500 events before stopping (not part of the figure).
        runtime = app.state.runtime
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            async with runtime.db.transaction() as session:
                if await runtime.outbox.count_pending(session) == 0:
                    break
            await asyncio.sleep(0.5)
    print(f"{label}: dry run {dry_run_s:.2f} s, import {import_s:.2f} s for {STUDENTS} students", flush=True)
    return import_s, dry_run_s


async def main() -> None:
    figures: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="hbs-bench-") as tmp, LocalBroker() as broker:
        folder = Path(tmp)
        figures.append(await run_one(sqlite_url(folder, "identity"), "sqlite", folder, broker))
        if postgres_wanted():
            async with postgres_database("hbs_bench") as url:
                figures.append(await run_one(url, "postgresql", folder, broker))
    import_s = max(f[0] for f in figures)
    dry_run_s = max(f[1] for f in figures)
    print(f"import_1500_students_s={import_s:.2f} dry_run_1500_students_s={dry_run_s:.2f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
