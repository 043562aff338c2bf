"""Playwright fixtures driving Debian's Chromium (/usr/bin/chromium); never downloads a browser."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.constants import PASSWORD

CHROMIUM = os.environ.get("ECO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run ./scripts/test, which installs Debian's chromium."
        )
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test body are safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh desktop page; console errors are collected on ``page.console_errors``."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")  # type: ignore[attr-defined]
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.console_errors = errors
    pg.set_default_timeout(15000)
    yield pg
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "user_agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN"
    ),
}


@contextmanager
def phone_page_open(browser: Any) -> Iterator[Any]:
    """A page at a phone viewport with WeChat's in-app browser user agent, in a context (cookie jar) of its
    own, closed on leaving."""
    context = browser.new_context(**PHONE)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.console_errors = errors
    pg.set_default_timeout(15000)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def phone_page(browser: object) -> Iterator[object]:
    """A page at a phone viewport with WeChat's in-app browser user agent."""
    with phone_page_open(browser) as pg:
        yield pg


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{rep.when}", rep)


# ------------------------------------------------------------------------------ accessibility (axe-core)
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _node(node: dict[str, Any]) -> str:
    """An element of a violation; for colour contrast with its colours and ratio."""
    target = " ".join(map(str, node["target"]))
    data = next((c.get("data") for c in node.get("any", []) if isinstance(c.get("data"), dict)), None)
    if data and "contrastRatio" in data:
        target += f" [{data.get('fgColor')} on {data.get('bgColor')}: {data.get('contrastRatio')}]"
    return target


def axe_violations(pg: object) -> list[str]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page as it is now, one line each (rule, impact,
    the first few elements). Evaluated through the DevTools protocol, so the pages' CSP does not block it."""
    page: Any = pg
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    lines = []
    for v in result["violations"]:
        targets = "; ".join(_node(n) for n in v["nodes"][:4])
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']} — {targets}")
    return lines


def signed_out(page: Any, base: str) -> None:
    """Leave the browser on the login form with no session.

    Clearing the cookies is not enough on its own: a request the last page still had in flight (the header's
    unread count) can set the previous user's session cookie again after they are cleared, and /login/ then
    sends that user home. So open /login/ until it shows the form: the anonymous login page makes no request
    of its own, so once it is shown nothing of the previous user is in flight any more."""
    page.goto("about:blank")
    for _attempt in range(5):
        page.context.clear_cookies()
        response = page.goto(base + "/login/")
        assert response is not None and response.status == 200, (
            response and response.status,
            page.content()[:2000],
        )
        if urlsplit(page.url).path == "/login/" and page.locator("input[name=username]").count():
            return
    raise AssertionError(f"/login/ kept opening {page.url} as a signed-in user")


def sign_in(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form as ``username``, starting from no session (``signed_out``); then wait
    until the browser has left the login page: a pattern that also matches /login/ would let the next
    ``goto`` race the login POST."""
    signed_out(page, base)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def sign_in_by_cookie(page: Any, base: str, session_key: str, cookie_name: str) -> None:
    """Replace the browser's session with ``session_key`` (a session made by the test client's
    ``force_login``), from no session (``signed_out``: nothing of the previous user is in flight)."""
    signed_out(page, base)
    page.context.clear_cookies()
    page.context.add_cookies([{"name": cookie_name, "value": session_key, "url": base}])
