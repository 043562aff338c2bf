"""Accessibility and phone width of the main pages in a real browser (issue 12, D21 and D6).

axe-core (WCAG 2.0 and 2.1, levels A and AA) finds no violation on the public disclosure pages, the
reporter's H5 pages and the main staff pages; at 390 px no staff page scrolls sideways. The pages are
filled with the security tests' world: district B's cases in every state, its published monthly report,
the auditor's trail.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eco12369.orgs.models import User
from eco12369.wechat.simulator import Simulator
from tests.browser import axe_violations, phone_page_open, sign_in
from tests.security.conftest import B_OPENID, World, world_build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(make_user: Callable[..., User], settings: Any, tmp_path: Path) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return world_build(make_user, settings.MEDIA_ROOT)


def staff_pages(w: World) -> list[tuple[User, list[str]]]:
    """(who, the pages they open): the main staff pages."""
    b = w.b_cases
    return [
        (
            w.b["operator"],
            [
                "/",
                "/queues/",
                "/search/?reported_party=化工",
                f"/cases/{b['handling'].number}/",
                f"/cases/{b['received'].number}/",
                f"/stats/{w.region_b.code}/{w.ids['month']}/",
                "/stats/",
                "/notices/",
            ],
        ),
        (w.b["reviewer"], [f"/cases/{b['in_review'].number}/", f"/cases/{b['closed'].number}/"]),
        (
            w.city["operator"],
            ["/oversight/supervision/", "/oversight/spot-checks/", "/oversight/assessment/"],
        ),
        (w.city["head"], ["/", "/oversight/performance/"]),
        (w.auditor, ["/audit/"]),
    ]


def other_staff_pages(w: World) -> list[tuple[User, list[str]]]:
    """The rest of the staff pages (D6 asks for every one at phone width): each queue, the lists and forms
    of notifications, hotline, follow-up and oversight, each opened by someone who may open it."""
    ids = w.ids
    return [
        (
            w.b["operator"],
            [f"/queues/{key}/" for key in ("confirm", "accepted", "due_soon", "overdue", "closed")]
            + [
                "/notifications/",
                "/notifications/settings/",
                "/hotline/call/",
                f"/oversight/cases/{w.b_cases['dup2'].number}/duplicates/",
                "/oversight/supervision/",
                "/oversight/guidance/",
                f"/oversight/guidance/{ids['guidance']}/",
                "/followup/reply-templates/",
                "/followup/reply-templates/new/",
                f"/followup/reply-templates/{ids['template']}/",
            ],
        ),
        (w.b["handler"], ["/queues/handling/", "/oversight/my-merits/"]),
        (w.b["reviewer"], ["/queues/in_review/"]),
        (
            w.city["operator"],
            [
                "/oversight/repeats/",
                f"/oversight/spot-checks/{ids['spot_check']}/",
                "/oversight/guidance/new/",
                "/hotline/imports/",
                "/followup/reviews/",
            ],
        ),
        (w.city["head"], ["/oversight/assessment/weights/"]),
    ]


def check(page: Any, url: str, found: dict[str, list[str]]) -> None:
    response = page.goto(url)
    if response is None or response.status != 200:  # the page itself, not an error page, is checked
        found[url] = [f"HTTP {response.status if response else 0}, not the page"]
        return
    page.wait_for_load_state("networkidle")
    violations = axe_violations(page)
    if violations:
        found[url] = violations


def report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{url}\n  " + "\n  ".join(lines) for url, lines in found.items())


def test_staff_and_public_pages_have_no_wcag_violations(page: Any, live_server: Any, world: World) -> None:
    base = live_server.url
    found: dict[str, list[str]] = {}
    for url in ("/login/", "/disclosure/", f"/disclosure/{world.ids['month']}/"):
        check(page, base + url, found)
    for user, urls in staff_pages(world):
        sign_in(page, base, user.username)
        for url in urls:
            check(page, base + url, found)
    assert not found, "axe-core found WCAG 2 A/AA violations:\n" + report(found)


def test_reporter_h5_pages_have_no_wcag_violations(
    phone_page: Any, live_server: Any, world: World, wechat_simulator: Simulator
) -> None:
    page = phone_page
    page.context.add_cookies([{"name": "sim_openid", "value": B_OPENID, "url": wechat_simulator.url}])
    base = live_server.url
    closed = world.b_cases["closed"].number
    found: dict[str, list[str]] = {}
    for url in ("/portal/", "/portal/guide/", "/portal/report/", "/portal/mine/", f"/portal/mine/{closed}/"):
        check(page, base + url, found)
    # The form with its errors shown (empty submit).
    page.goto(base + "/portal/report/")
    page.get_by_role("button", name="提交举报").click()
    page.wait_for_load_state("networkidle")
    violations = axe_violations(page)
    if violations:
        found["/portal/report/ (errors)"] = violations
    assert not found, "axe-core found WCAG 2 A/AA violations:\n" + report(found)


def test_staff_pages_fit_a_phone(browser: Any, live_server: Any, world: World) -> None:
    """D6: at 390 px no staff page is wider than the screen (wide tables scroll inside their own box).
    Each user gets a browser context of their own: a request the last user's page still had in flight
    cannot hand its session cookie to the next one."""
    base = live_server.url
    wide: dict[str, int] = {}
    closed: dict[str, int] = {}
    for user, urls in staff_pages(world) + other_staff_pages(world):
        with phone_page_open(browser) as page:
            sign_in(page, base, user.username)
            for url in urls:
                response = page.goto(base + url)
                if response is None or response.status != 200:
                    closed[url] = response.status if response else 0
                    continue
                width = page.evaluate("() => document.documentElement.scrollWidth")
                if width > 390:
                    wide[url] = width
    assert not closed, f"pages that did not open for the user given: {closed}"
    assert not wide, f"pages wider than 390 px: {wide}"


def test_reporter_pages_have_a_remembered_large_text_mode(
    phone_page: Any, live_server: Any, world: World, wechat_simulator: Simulator
) -> None:
    """The H5 pages' large-text toggle (适老化): every text grows, the choice stays on the next page and
    after a reload, and the page still passes axe-core."""
    page = phone_page
    page.context.add_cookies([{"name": "sim_openid", "value": B_OPENID, "url": wechat_simulator.url}])
    base = live_server.url
    page.goto(base + "/portal/mine/")
    size = "() => parseFloat(getComputedStyle(document.querySelector('.pagetitle, h1, h2')).fontSize)"
    body = "() => parseFloat(getComputedStyle(document.body).fontSize)"
    normal, normal_title = page.evaluate(body), page.evaluate(size)
    toggle = page.get_by_role("button", name="大字模式")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    assert page.evaluate(body) >= normal * 1.2 and page.evaluate(size) >= normal_title * 1.2
    page.goto(base + "/portal/guide/")  # remembered on the next page
    assert page.evaluate(body) >= normal * 1.2
    assert page.get_by_role("button", name="大字模式").get_attribute("aria-pressed") == "true"
    assert axe_violations(page) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="大字模式").click()  # and off again
    page.reload()
    assert page.evaluate(body) == normal
