"""Accessibility of the portal's pages, checked in Chromium with axe-core: the pinned npm release
that deploy/scripts/bootstrap.sh fetches into var/npm/ (deploy/npm-pins.txt), run on the page as
the test left it. A serious or critical violation fails the test, naming its rule, impact and the
offending elements; minor and moderate ones are left to review."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route

ROOT = Path(__file__).resolve().parents[1]
PINS = ROOT / "deploy" / "npm-pins.txt"
BLOCKING = ("serious", "critical")
# The script is served under the page's own origin by Playwright (never by the portal): the
# portal's Content-Security-Policy refuses inline script, so `add_script_tag(path=…)` (which
# inlines the file) is refused, and the policy must stay on for the tests to keep checking it.
AXE_URL_PATH = "/__tests__/axe.min.js"


def axe_script() -> Path:
    """axe.min.js of the pinned release; `make bootstrap` fetches it (checksum checked)."""
    for line in PINS.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0] == "axe-core":
            script = ROOT / "var" / "npm" / f"axe-core-{fields[1]}" / "axe.min.js"
            if not script.is_file():
                raise FileNotFoundError(f"{script} is missing: run `make bootstrap`")
            return script
    raise LookupError(f"axe-core is not pinned in {PINS}")


def _serve_axe(route: Route) -> None:
    route.fulfill(path=axe_script(), content_type="text/javascript; charset=utf-8")


def _inject(page: Page) -> None:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
        page.route(origin + AXE_URL_PATH, _serve_axe)
        page.add_script_tag(url=origin + AXE_URL_PATH)


def violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (WCAG 2.x A and AA rules and best practices)."""
    _inject(page)
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return found


def describe(found: list[dict[str, Any]]) -> str:
    """One line per violation and offending element: rule id, impact, CSS selector, axe's summary."""
    lines = []
    for violation in found:
        for node in violation["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"{violation['id']} ({violation['impact']}): {target} — {summary}")
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    """No serious or critical axe violation on the page as it is now (call once per page state)."""
    blocking = [found for found in violations(page) if found["impact"] in BLOCKING]
    assert not blocking, f"axe-core on {urlsplit(page.url).path}:\n{describe(blocking)}"


def contrast_ratio(page: Page, selector: str) -> float:
    """The text contrast of one element as axe's color-contrast rule computes it (pass or fail)."""
    _inject(page)
    ratios: list[float] = page.evaluate(
        """async (selector) => {
            const result = await axe.run({include: [[selector]]}, {runOnly: ["color-contrast"]});
            return [...result.passes, ...result.violations]
                .flatMap((rule) => rule.nodes)
                .flatMap((node) => [...node.any, ...node.all, ...node.none])
                .filter((check) => check.data && check.data.contrastRatio)
                .map((check) => check.data.contrastRatio);
        }""",
        selector,
    )
    assert len(ratios) == 1, f"axe measured {len(ratios)} contrasts for {selector}: {ratios}"
    return ratios[0]
