"""`make screenshots`: the README's three pictures, taken again from a fresh demo school.

Starts the demo stack on free ports in its own folder (wiped first, so every run starts from the
same demo data), signs two of 10A1's HK1 sheets as their teachers do (so the board's progress
and the parent's results have something signed), then signs in as the demo users in headless
Chromium (Debian's, through Playwright) and saves docs/screenshots/{grid,progress,parent-phone}.png.
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
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

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
PHONE = ViewportSize(width=390, height=844)
SIGNED = (("gv.toan", "10A1", "TOAN"), ("gv.van", "10A1", "NGU_VAN"))
"""The HK1 sheets signed before the pictures: the rest of the school is still being entered."""
GRID_SHEET = ("gv.toan", "10A2", "TOAN")
"""The sheet whose grid is shown: open, with the demo's made-up scores."""


@dataclass(frozen=True)
class Shot:
    name: str
    description: str


SHOTS = (
    Shot("grid.png", "the score grid (gv.toan, 10A2 Toán HK1), 1366 × 900"),
    Shot("progress.png", "the board's progress view (phohieutruong), 1366 × 900"),
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


def hk1_sheet(system: SystemClient, token: str, class_name: str, code: str) -> dict[str, Any]:
    """The HK1 sheet once grades has every student of the class on it, each with scores."""

    def ready() -> dict[str, Any] | None:
        for sheet in system.sheets(token, timeout=300):
            if (sheet["class_name"], sheet["subject_code"], sheet["term"]) != (class_name, code, "HK1"):
                continue
            with system.client("grades", token) as grades:
                rows = grades.get(f"/sheets/{sheet['id']}/scores").json()["rows"]
            with system.client("grades", token) as grades:
                listed = grades.get(f"/results/classes/{class_name}")
            expected = len(listed.json()["students"]) if listed.status_code == 200 else -1
            if rows and len(rows) == expected and all(row.get("final") for row in rows):
                return sheet
        return None

    found: dict[str, Any] = wait_for(f"{class_name} {code} HK1 with its scores", ready)
    return found


def prepare(system: SystemClient) -> str:
    """Sign the SIGNED sheets (step 1); return the id of the grid's sheet."""
    for username, class_name, code in SIGNED:
        token = system.token(username)
        sheet = hk1_sheet(system, token, class_name, code)
        if sheet["state"] != "signed":
            system.submit_and_sign(token, sheet)
            system.wait_for_state(token, sheet["id"], "signed")
        print(f"signed {class_name} {code} HK1 as {username}", flush=True)
    username, class_name, code = GRID_SHEET
    grid_id: str = hk1_sheet(system, system.token(username), class_name, code)["id"]
    return grid_id


def sign_in(page: Page, portal: str, username: str) -> None:
    page.goto(portal + "/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(lambda url: "/login" not in url, timeout=60_000)


@contextmanager
def new_page(browser: Browser, *, phone: bool = False) -> Iterator[Page]:
    context = browser.new_context(
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        viewport=PHONE if phone else DESKTOP,
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


def take(browser: Browser, portal: str, grid_id: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with new_page(browser) as page:
        sign_in(page, portal, GRID_SHEET[0])
        page.goto(f"{portal}/sheets/{grid_id}/scores")
        settle(page, "main table input")
        page.screenshot(path=str(out / "grid.png"))
    with new_page(browser) as page:
        sign_in(page, portal, "phohieutruong")
        page.goto(f"{portal}/progress")
        settle(page, "figure.chart svg")
        page.screenshot(path=str(out / "progress.png"))
    with new_page(browser, phone=True) as page:
        sign_in(page, portal, DEMO_PARENT.username)
        page.goto(f"{portal}/results")
        page.get_by_role("link", name="Xem kết quả").first.click()
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
        grid_id = prepare(SystemClient(stack))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                take(browser, stack.url("portal"), grid_id, args.out)
            finally:
                browser.close()
    except (RuntimeError, TimeoutError) as error:
        print(f"screenshots failed: {error} (logs: {args.data_dir / 'logs'})", file=sys.stderr)
        return 1
    finally:
        stack.stop()
    for shot in SHOTS:
        print(f"{args.out / shot.name}: {shot.description}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
