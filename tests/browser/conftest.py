from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"


@pytest.fixture(scope="module", autouse=True)
def _sync_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop running in the test's thread while the tests'
    synchronous ORM calls (fixtures, the database flush) run there. Set per browser module, from
    before its browser starts until after its last database teardown; never for other tests."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One browser per module: Playwright's sync API holds an event loop in this thread while it
    runs, which would break every asyncio test that comes after it."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI (scripts/ensure-test-tools installs it)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield b
        b.close()


# Reports every Content-Security-Policy violation of every page the test opens (the browser also
# logs them to the console; the event carries the directive and what was blocked).
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__reportCsp(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.documentURI}`);
});
"""
# Console errors a test causes on purpose: a page it expects to be refused, a live-feed socket cut
# by the next navigation.
EXPECTED_CONSOLE_ERRORS = (
    "Failed to load resource: the server responded with a status of 403",
    "Failed to load resource: the server responded with a status of 404",
    "WebSocket is closed before the connection is established",
)


@dataclass
class PageProblems:
    csp: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def unexpected_console(self) -> list[str]:
        return [m for m in self.console if not any(e in m for e in EXPECTED_CONSOLE_ERRORS)]


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(browser: Any, page_problems: PageProblems) -> Iterator[Any]:
    """A page whose test fails on any CSP violation, uncaught script error or console error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watch(context, page_problems)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
    assert_clean(page_problems)


@pytest.fixture
def new_context(browser: Any, page_problems: PageProblems) -> Iterator[Any]:
    """``browser.new_context`` whose pages are watched like ``page``'s; checked when the test ends."""
    contexts: list[Any] = []

    def make(**kwargs: Any) -> Any:
        context = browser.new_context(**kwargs)
        watch(context, page_problems)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert_clean(page_problems)


def watch(context: Any, problems: PageProblems) -> None:
    """Collect CSP violations, console errors and uncaught errors of every page of ``context``."""
    context.expose_function("__reportCsp", lambda text: problems.csp.append(str(text)))
    context.add_init_script(REPORT_CSP)
    context.on("console", lambda msg: problems.console.append(msg.text) if msg.type == "error" else None)
    context.on("weberror", lambda err: problems.errors.append(str(err.error)))


def assert_clean(problems: PageProblems) -> None:
    assert not problems.csp, f"Content-Security-Policy violations: {problems.csp}"
    assert not problems.errors, f"uncaught script errors: {problems.errors}"
    assert not problems.unexpected_console(), f"console errors: {problems.unexpected_console()}"


@pytest.fixture
def screenshot(page: Any) -> Any:
    def take(name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
