"""What the browser tests check on a page: its width on a phone, and axe-core's findings.

axe-core comes from npm (tests/browser/package.json, installed by `make test`). Its
source is run in the page with page.evaluate, which the page's Content-Security-Policy
does not govern, so the app's CSP stays as strict as it is for people.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
# axe's impacts that fail a page; "moderate" and "minor" findings are reported, not failed.
BLOCKING = ("serious", "critical")
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
}"""


@cache
def axe_source() -> str:
    if not AXE.is_file():
        raise RuntimeError("axe-core is missing: run `make test` (npm ci --prefix tests/browser)")
    return AXE.read_text()


def axe_violations(page) -> list[dict]:
    """Every axe-core violation on the page as it is now (all impacts)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    return page.evaluate(RUN_AXE)


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]


def open_all_details(page) -> None:
    """Open every <details>, so what it hides is measured and checked too."""
    page.locator("details").evaluate_all("(all) => all.forEach((d) => (d.open = true))")


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def sign_in(page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
