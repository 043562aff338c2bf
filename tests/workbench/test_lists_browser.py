"""The lists in a real browser (issue 15): a saved view (我的视图) saved from /search/, opened again from
the menu with the same filtered list; the preview pane loaded by a click and by the arrow keys; the pages
of a list followed by their next and previous links."""

from __future__ import annotations

import re

import pytest

from eco12369.workbench.models import SavedView
from tests.browser import sign_in

from .test_desk_browser import listed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_save_a_view_and_open_it_from_the_menu(live_server, page, heping, make_case) -> None:
    smell = make_case(
        "和平区", category="air", reported_party="鑫源化工", description="晚上一股刺鼻的化学味儿"
    )
    make_case("和平区", category="water", reported_party="鑫原化工", description="排污口冒黑水，刺鼻")
    make_case("和平区", category="noise", reported_party="某某工地", description="半夜打桩")
    smoke = make_case("和平区", category="air", reported_party="XX烧烤店", description="油烟刺鼻，熏得慌")
    sign_in(page, live_server.url, heping.operator.username)
    page.goto(live_server.url + "/search/")
    page.fill("input[name=q]", "刺鼻")
    page.select_option("select[name=category]", "air")
    page.click("#search-area button[type=submit]")
    page.wait_for_url(re.compile(r".*category=air.*"))
    filtered = set(listed(page))
    assert filtered == {smell.number, smoke.number}

    page.click("#saved-views > summary")
    page.fill("#saved-view-name", "刺鼻气味（大气）")
    page.check(".saved-view-new input[name=shared]")
    page.click(".saved-view-new button[type=submit]")
    page.locator(".alert-success", has_text="视图“刺鼻气味（大气）”已保存，本机构人员可见").wait_for()
    view = SavedView.objects.get()
    assert view.shared and "category=air" in view.query

    # From an unfiltered list, the menu brings the same filtered list back.
    page.goto(live_server.url + "/search/")
    assert len(listed(page)) == 4
    page.click("#saved-views > summary")
    page.click("a.saved-view-link:has-text('刺鼻气味（大气）')")
    page.wait_for_url(re.compile(r".*category=air.*"))
    assert set(listed(page)) == filtered
    assert page.input_value("input[name=q]") == "刺鼻"
    assert page.input_value("select[name=category]") == "air"

    # The colleague of the same bureau finds it under 本机构共享.
    sign_in(page, live_server.url, heping.head.username)
    page.goto(live_server.url + "/search/")
    page.click("#saved-views > summary")
    page.click("a.saved-view-link:has-text('刺鼻气味（大气）')")
    page.wait_for_url(re.compile(r".*category=air.*"))
    assert set(listed(page)) == filtered
    assert page.console_errors == []


def test_preview_pane_by_click_and_keyboard(live_server, page, heping, make_case) -> None:
    first = make_case(
        "和平区",
        reported_party="天津市鑫源化工有限公司",
        description="晚上十点以后一股刺鼻的化学味儿",
        reporter_name="欧阳娜娜",
        reporter_phone="13812341234",
    )
    second = make_case(
        "和平区", reported_party="某某建筑工地", description="半夜还在打桩，吵得孩子睡不着觉！！"
    )
    sign_in(page, live_server.url, heping.operator.username)
    page.goto(live_server.url + "/search/?sort=received")
    # A click on the row (not on its link) loads the summary beside the list; the page stays.
    page.click(f"tr[data-preview$='/{first.number}/preview/'] td[data-label=被举报对象]")
    pane = page.locator("#case-preview")
    pane.locator(f"text={first.number}").wait_for()
    assert "晚上十点以后一股刺鼻的化学味儿" in pane.inner_text()
    assert "欧阳" not in pane.inner_text() and "1234" not in pane.inner_text()
    assert page.url.endswith("/search/?sort=received")
    # The arrow key moves to the next row and loads its summary.
    page.keyboard.press("ArrowDown")
    pane.locator(f"text={second.number}").wait_for()
    assert "半夜还在打桩" in pane.inner_text()
    assert page.locator("tr.is-selected").get_attribute("data-preview").endswith(f"/{second.number}/preview/")
    page.keyboard.press("ArrowUp")
    pane.locator(f"text={first.number}").wait_for()
    assert page.console_errors == []


def test_pages_forward_and_back(live_server, page, heping, make_case, settings) -> None:
    made = [make_case("和平区", reported_party=f"某工地{i}号") for i in range(23)]
    sign_in(page, live_server.url, heping.operator.username)
    page.goto(live_server.url + "/search/?sort=party")
    first = listed(page)
    assert len(first) == 20
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r".*after=.*"))
    second = listed(page)
    assert len(second) == 3 and not set(first) & set(second)
    assert set(first) | set(second) == {c.number for c in made}
    page.click("a[rel=prev]")
    page.wait_for_url(re.compile(r".*before=.*"))
    assert listed(page) == first
    assert page.console_errors == []
