"""`make screenshots`: the README's three pictures, taken again from a fresh demo school.

Starts the demo stack on free ports in its own folder (wiped first, so every run starts from the
same demo data), signs three HK1 sheets as their teachers do (10A1's Toán and Ngữ văn, 11 Toán
chuyên's Toán) and, after the grid's picture, sets HK1's deadlines as the board does (score entry
closed two days ago), so the progress view shows work done, missing and late and the parent has
signed results; then signs in as the demo users in headless Chromium (Debian's, through
Playwright) and saves docs/screenshots/{grid,progress,parent-phone}.png.
Every page is waited for by a selector and every picture has a fixed size, so the pictures
change only when the pages do.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright
from playwright.sync_api import Error as BrowserError

from hbs_devtools.broker import free_port
from hbs_devtools.demo import DEMO_PARENT, DEMO_PASSWORD
from hbs_devtools.drive import SystemClient
from hbs_devtools.stack import SERVICES, Stack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--font-render-hinting=none",
]
DESKTOP = ViewportSize(width=1366, height=900)
TALL = ViewportSize(width=1366, height=1400)
"""The progress view: the steps, their table and the first classes."""
PHONE = ViewportSize(width=390, height=844)
SIGNED = (("gv.toan", "10A1", "TOAN"), ("gv.van", "10A1", "NGU_VAN"), ("gv.toan", "11 Toán chuyên", "TOAN"))
"""The HK1 sheets signed before the pictures: the rest of the school is still being entered."""
GRID_SHEET = ("gv.toan", "10A2", "TOAN")
"""The sheet whose grid is shown: open, with the demo's made-up scores."""
PARENT_CHILD_CLASS = "10A1"
"""The demo parent's child whose results are shown (10A1's HK1 Toán and Ngữ văn are signed)."""


@dataclass(frozen=True)
class Shot:
    name: str
    description: str


SHOTS = (
    Shot("grid.png", "the score grid (gv.toan, 10A2 Toán HK1), 1366 × 900"),
    Shot("progress.png", "the board's progress view (phohieutruong), 1366 × 1400"),
    Shot("parent-phone.png", "a parent's results on a phone (phuhuynh.demo), 390 × 844"),
)


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 300.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.5)


def class_size(system: SystemClient, class_name: str) -> int:
    """How many students identity has in the class (grades learns them from its events)."""
    with system.client("identity", system.token("quantri")) as identity:
        classes = identity.get("/classes").json()
    return int(next(c["students"] or 0 for c in classes if c["name"] == class_name))


def hk1_sheet(system: SystemClient, token: str, class_name: str, code: str) -> dict[str, Any]:
    """The HK1 sheet once grades has every student of the class on it, each with scores."""
    expected = wait_for(f"{class_name}'s students in identity", lambda: class_size(system, class_name))

    def ready() -> dict[str, Any] | None:
        for sheet in system.sheets(token, timeout=300):
            if (sheet["class_name"], sheet["subject_code"], sheet["term"]) != (class_name, code, "HK1"):
                continue
            with system.client("grades", token) as grades:
                rows = grades.get(f"/sheets/{sheet['id']}/scores").json()["rows"]
            if len(rows) == expected and all(row.get("final") for row in rows):
                return sheet
        return None

    what = f"{class_name} {code} HK1 with its {expected} students' scores"
    found: dict[str, Any] = wait_for(what, ready, 900)
    return found


def wait_for_school(system: SystemClient) -> None:
    """Grades has heard of every student identity seeded (the board's progress counts one year
    record per student), so the pictures never catch the demo school half enrolled."""
    with system.client("identity", system.token("quantri")) as identity:
        expected = sum(c["students"] or 0 for c in identity.get("/classes").json())
    board = system.token("phohieutruong")

    def enrolled() -> bool:
        with system.client("grades", board) as grades:
            answer = grades.get("/progress", params={"step": "homeroom"})
        if answer.status_code != 200:
            return False
        steps = {s["key"]: s for s in answer.json()["steps"]}
        return bool(steps["homeroom"]["total"] == expected)

    wait_for(f"grades to hear of the school's {expected} students", enrolled, 2400)
    print(f"grades has the school's {expected} students", flush=True)


def prepare(system: SystemClient) -> dict[str, Any]:
    """Sign the SIGNED sheets (step 1); return the grid's sheet."""
    wait_for_school(system)
    for username, class_name, code in SIGNED:
        token = system.token(username)
        sheet = hk1_sheet(system, token, class_name, code)
        if sheet["state"] != "signed":
            system.submit_and_sign(token, sheet)
            system.wait_for_state(token, sheet["id"], "signed")
        print(f"signed {class_name} {code} HK1 as {username}", flush=True)
    username, class_name, code = GRID_SHEET
    return hk1_sheet(system, system.token(username), class_name, code)


def set_deadlines(system: SystemClient, school_year: str) -> None:
    """HK1's score entry closed two days ago, its signing closes in twelve days (the board's
    "Thời hạn"): the progress view then has work done, missing and late. Set after the grid's
    picture, which shows a sheet still open for entry."""
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    windows = [
        {
            "period": "HK1",
            "step": 0,
            "opens_on": today - timedelta(days=60),
            "closes_on": today - timedelta(days=2),
        },
        {
            "period": "HK1",
            "step": 1,
            "opens_on": today - timedelta(days=60),
            "closes_on": today + timedelta(days=12),
        },
    ]
    with system.client("grades", system.token("phohieutruong")) as grades:
        answer = grades.put(
            "/windows",
            json={
                "school_year": school_year,
                "windows": [
                    {**w, "opens_on": str(w["opens_on"]), "closes_on": str(w["closes_on"])} for w in windows
                ],
            },
        )
    if answer.status_code != 200:
        raise RuntimeError(f"setting the deadlines: {answer.status_code} {answer.text[:300]}")


def sign_in(page: Page, portal: str, username: str) -> None:
    page.goto(portal + "/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(lambda url: "/login" not in url, timeout=60_000)


@contextmanager
def new_page(browser: Browser, *, phone: bool = False, tall: bool = False) -> Iterator[Page]:
    context = browser.new_context(
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        viewport=PHONE if phone else TALL if tall else DESKTOP,
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
    )
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
    finally:
        context.close()


def settle(page: Page, selector: str) -> None:
    """The page has drawn what the picture is for, its fonts are loaded and nothing is moving."""
    page.locator(selector).first.wait_for(state="visible")
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready")
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)


def grid_picture(browser: Browser, portal: str, sheet_id: str, out: Path) -> None:
    with new_page(browser) as page:
        sign_in(page, portal, GRID_SHEET[0])
        page.goto(f"{portal}/sheets/{sheet_id}/scores")
        settle(page, "main table input:not([type=hidden])")
        page.screenshot(path=str(out / "grid.png"))


def progress_picture(browser: Browser, portal: str, out: Path) -> None:
    with new_page(browser, tall=True) as page:
        sign_in(page, portal, "phohieutruong")
        page.goto(f"{portal}/progress")
        settle(page, "figure.chart svg")
        page.screenshot(path=str(out / "progress.png"))


def parent_picture(browser: Browser, portal: str, out: Path) -> None:
    with new_page(browser, phone=True) as page:
        sign_in(page, portal, DEMO_PARENT.username)
        page.goto(f"{portal}/results")
        child = page.locator("tr", has_text=PARENT_CHILD_CLASS)
        child.get_by_role("link", name="Xem kết quả").click()
        settle(page, "main table")
        page.screenshot(path=str(out / "parent-phone.png"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Take the README's screenshots from a fresh demo school.")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--data-dir", type=Path, default=Path("var/screenshots"))
    parser.add_argument("--small", action="store_true", help="the small demo school (quicker; fewer classes)")
    args = parser.parse_args(argv)

    shutil.rmtree(args.data_dir, ignore_errors=True)
    stack = Stack(
        args.data_dir,
        ports={spec.name: free_port() for spec in SERVICES},
        broker_port=free_port(),
        fork=True,
        extra_env={"HBS_IDENTITY_DEMO_SIZE": "small"} if args.small else {},
    )
    started = time.monotonic()
    try:
        stack.start(timeout=600)
        print(f"demo stack ready in {time.monotonic() - started:.0f} s", flush=True)
        system = SystemClient(stack)
        grid = prepare(system)
        portal = stack.url("portal")
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                grid_picture(browser, portal, grid["id"], args.out)
                set_deadlines(system, grid["school_year"])
                progress_picture(browser, portal, args.out)
                parent_picture(browser, portal, args.out)
            finally:
                browser.close()
    except (RuntimeError, TimeoutError, BrowserError) as error:
        print(f"screenshots failed: {error} (logs: {args.data_dir / 'logs'})", file=sys.stderr)
        return 1
    finally:
        stack.stop()
    for shot in SHOTS:
        print(f"{args.out / shot.name}: {shot.description}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
