"""The reveal in a real browser under the platform's Content-Security-Policy: masked on arrival, one click
opens the reason field, htmx swaps only the reporter card with the clear values (no reload, no console
error), and the reveal is in the audit trail."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from eco12369.audit.models import AuditEntry
from eco12369.cases.models import Case
from tests.conftest import PASSWORD

from .conftest import Staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_reveals_the_reporter_with_a_reason(
    live_server: Any, page: Any, staff: Staff, make_case: Callable[..., Case]
) -> None:
    case = make_case(reporter_name="张伟", reporter_phone="13812341234")
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", staff.operator.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))  # the home dashboard
    page.goto(f"{live_server.url}/cases/{case.number}/")
    card = page.locator("#reporter-card")
    assert card.locator(".reporter-name").inner_text() == "张*"
    assert card.locator(".reporter-phone").inner_text() == "138****1234"
    page.evaluate("window.__samePage = true")
    card.locator("summary", has_text="查看完整信息").click()
    page.fill("#reveal-reason", "电话核实举报地点")
    card.locator("button[type=submit]").click()
    page.locator("#reporter-card .reporter-phone", has_text="13812341234").wait_for()
    assert page.locator("#reporter-card .reporter-name").inner_text() == "张伟"
    assert page.evaluate("window.__samePage === true"), "htmx should swap the card, not reload the page"
    assert page.console_errors == []  # no Content-Security-Policy violation either
    entry = AuditEntry.objects.get(action="reveal")
    assert entry.actor_id == staff.operator.pk and entry.detail["reason"] == "电话核实举报地点"
    page.reload()
    assert page.locator("#reporter-card .reporter-name").inner_text() == "张*"
