"""The oversight pages in a real browser: the city centre issues a supervision order from the overdue
list, the district answers it, an operator marks a duplicate from the candidates page; the spot-check,
assessment and performance pages render without console errors."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from eco12369.cases.models import Case, Outcome, SupervisionOrder
from eco12369.orgs.models import User
from eco12369.oversight.periods import current_month
from eco12369.oversight.services import spot_check_draw
from tests.browser import sign_in_by_cookie

from .conftest import Bureau, City, answered, handled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("ECO_SCREENSHOTS")  # a directory: save a screenshot of every page visited


def sign_in(page: Any, base: str, user: User) -> None:
    """Sign in by session cookie (the login form and its second factor are the workbench's tests)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    sign_in_by_cookie(page, base, cookie.value, settings.SESSION_COOKIE_NAME)


def visit(page: Any, url: str, name: str) -> None:
    page.goto(url)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_supervision_and_duplicates_in_the_browser(
    live_server: Any, page: Any, city: City, heping: Bureau, make_case: Callable[..., Case]
) -> None:
    base = live_server.url
    overdue = make_case(
        "和平区", received_at=timezone.now() - dt.timedelta(days=10), reported_party="鑫源喷涂厂"
    )
    make_case("河东区", received_at=timezone.now() - dt.timedelta(days=9))

    sign_in(page, base, city.operator)
    visit(page, f"{base}/oversight/supervision/?tab=overdue", "supervision-overdue")
    assert page.locator("a.tab.is-active").inner_text().startswith("已超期")
    row = page.locator("tr", has_text=overdue.number)
    # 督办 leads to the case's one supervision form, opened, with the proposed answer date filled in.
    row.locator("a", has_text="督办").click()
    form = page.locator("details#action-supervise[open]")
    due = timezone.localdate() + dt.timedelta(days=7)
    assert form.locator("input[name=supervise-answer_due]").input_value() == due.isoformat()
    form.locator("textarea[name=supervise-instruction]").fill("请于三日内核实并回复。")
    form.locator("input[name=supervise-answer_due]").fill((due - dt.timedelta(days=4)).isoformat())
    form.locator("button[type=submit]").click()
    page.locator(".alert-success", has_text="“督办”已完成").wait_for()
    visit(page, f"{base}/oversight/supervision/?tab=orders", "supervision-orders")
    assert page.locator("table.orders-table").inner_text().count(overdue.number) == 1

    sign_in(page, base, heping.operator)
    visit(page, f"{base}/oversight/supervision/", "supervision-district-orders")
    page.locator("tr", has_text=overdue.number).locator("a", has_text="回复").click()
    form = page.locator("details#action-answer_supervision[open]")
    form.locator("textarea[name=answer_supervision-answer]").fill("已现场核实，正在整改。")
    form.locator("button[type=submit]").click()
    page.locator(".alert-success", has_text="“回复督办”已完成").wait_for()
    assert SupervisionOrder.objects.get(case=overdue).answer == "已现场核实，正在整改。"

    # The duplicate finder runs on commit (live server: real transactions).
    new = make_case(
        "和平区",
        reported_party="天津市鑫源喷涂有限公司",
        description="鑫源喷涂厂夜里偷排废水，河水发黑发臭。",
    )
    visit(page, f"{base}/oversight/cases/{new.number}/duplicates/", "duplicates")
    row = page.locator("table.duplicates-table tr", has_text=overdue.number)
    assert row.count() == 1
    row.locator("a", has_text="标记为重复").click()
    form = page.locator("details#action-mark_duplicate[open]")
    assert form.locator("input[name=mark_duplicate-duplicate_of]").input_value() == overdue.number
    form.locator("button[type=submit]").click()
    page.locator(".alert-success", has_text="“标记重复举报”已完成").wait_for()
    new.refresh_from_db()
    assert (new.outcome, new.duplicate_of_id) == (Outcome.DUPLICATE, overdue.pk)
    assert page.console_errors == []


def test_spot_check_assessment_and_performance_pages_render(
    live_server: Any, page: Any, city: City, heping: Bureau, make_case: Callable[..., Case]
) -> None:
    base = live_server.url
    handled(make_case("和平区"), heping)
    answered(make_case("和平区", kind="consultation"), heping)
    check = spot_check_draw(actor=city.operator, period=current_month(), per_district=5, seed=3)
    sign_in(page, base, city.head)
    for name, path in [
        ("spot-checks", "/oversight/spot-checks/"),
        ("spot-check", f"/oversight/spot-checks/{check.pk}/"),
        ("assessment", f"/oversight/assessment/?period={current_month().key}"),
        ("weights", "/oversight/assessment/weights/"),
        ("performance", f"/oversight/performance/?period={current_month().key}"),
        ("repeats", "/oversight/repeats/"),
    ]:
        visit(page, base + path, name)
        assert page.locator("h1").count() == 1, name
    page.goto(f"{base}/oversight/spot-checks/{check.pk}/")
    assert page.locator("article.spot-item").count() == 2
    assert page.console_errors == []
