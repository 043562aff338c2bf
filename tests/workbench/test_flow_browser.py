"""The whole flow in a real browser: an operator accepts and assigns, a handler replies with the five
parts, a reviewer approves; the case page then shows 已办结 and the full timeline."""

from __future__ import annotations

import re

import pytest

from eco12369.cases.models import Case, State
from tests.browser import sign_in as browser_sign_in

from .conftest import FIVE_PARTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base: str, username: str) -> None:
    """Sign in (the home dashboard opens) and go to the queues."""
    browser_sign_in(page, base, username)
    page.click("nav.sidenav a:has-text('待办队列')")
    page.wait_for_url(re.compile(r".*/queues/$"))


def sign_out(page) -> None:
    page.click("form.logout-form button")
    page.wait_for_url(re.compile(r".*/login/$"))


def test_operator_handler_reviewer_flow(live_server, page, heping, make_case) -> None:
    case = make_case(
        "和平区", reported_party="天津市某化工有限公司", reporter_name="张三", reporter_phone="13812341234"
    )
    base = live_server.url

    # 1. The operator finds the case in 待确认, opens it, accepts it.
    sign_in(page, base, heping.operator.username)
    assert page.locator("a.tab.is-active").inner_text().startswith("待确认")
    page.click(f"a.case-link:has-text('{case.number}')")
    page.wait_for_url(re.compile(rf".*/cases/{case.number}/$"))
    page.click("form[action$='/accept/'] button[type=submit]")
    page.locator(".alert-success", has_text="“受理”已完成").wait_for()
    assert page.locator(".case-head .state").inner_text() == "待批转"

    # 2. ... and assigns it to the handler's department (the form is swapped in by htmx, no reload).
    page.evaluate("window.__samePage = true")
    page.select_option("select[name=assign-department]", str(heping.department.pk))
    page.click("form[action$='/assign/'] button[type=submit]")
    page.locator(".alert-success", has_text="“批转承办部门”已完成").wait_for()
    assert page.evaluate("window.__samePage === true"), (
        "htmx should have swapped the case, not reloaded the page"
    )
    assert page.locator(".case-head .state").inner_text() == "办理中"
    assert Case.objects.get(pk=case.pk).department_id == heping.department.pk
    sign_out(page)

    # 3. The handler sees it in 办理中 and submits the reply with its five parts.
    sign_in(page, base, heping.handler.username)
    page.click(f"a.case-link:has-text('{case.number}')")
    for name, text in FIVE_PARTS.items():
        page.fill(f"textarea[name=submit_reply-{name}]", text)
    page.click("form[action$='/submit-reply/'] button[type=submit]")
    page.locator(".alert-success", has_text="“提交答复意见”已完成").wait_for()
    assert page.locator(".case-head .state").inner_text() == "待审核"
    sign_out(page)

    # 4. The reviewer opens it from 待审核, reads the reply and approves.
    sign_in(page, base, heping.reviewer.username)
    assert page.locator("a.tab.is-active").inner_text().startswith("待审核")
    page.click(f"a.case-link:has-text('{case.number}')")
    page.wait_for_url(re.compile(rf".*/cases/{case.number}/$"))
    page.locator(".reply-submitted").wait_for()  # the click starts the navigation; the page may still load
    assert page.locator(".reply-submitted").count() == 1
    assert FIVE_PARTS["inspection"] in page.locator(".reply-submitted").inner_text()
    page.fill("textarea[name=approve-note]", "同意")
    page.click("form[action$='/approve/'] button[type=submit]")
    page.locator(".alert-success", has_text="“审核同意并办结”已完成").wait_for()

    # 5. The case page shows 已办结 and the full timeline.
    page.reload()
    assert page.locator(".case-head .state").inner_text() == "已办结"
    steps = page.locator(".timeline-action").all_inner_texts()
    assert steps == ["接收", "受理", "批转承办部门", "提交答复意见", "审核同意并办结"]
    actions_text = page.locator(".actions-card").inner_text()
    assert "当前没有您可以执行的操作" in actions_text and "本件已办结" in actions_text
    assert Case.objects.get(pk=case.pk).state == State.CLOSED
    assert page.console_errors == []


def test_actions_work_without_javascript(live_server, browser, heping, make_case) -> None:
    """Progressive enhancement: with JavaScript off the forms post and redirect like plain HTML."""
    case = make_case("和平区")
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, live_server.url, heping.operator.username)
        page.click("a.tab-confirm")
        page.click(f"a.case-link:has-text('{case.number}')")
        # A refused input is shown in place, with the message, and changes nothing.
        page.click("summary:has-text('标记重复举报')")
        page.fill("input[name=mark_duplicate-duplicate_of]", "TJ20000101000001")
        page.click("form[action$='/mark-duplicate/'] button[type=submit]")
        assert "未找到该编号的举报件" in page.locator("#action-mark_duplicate").inner_text()
        assert page.locator(".case-head .state").inner_text() == "待确认"
        page.click("summary:has-text('受理')")
        page.click("form[action$='/accept/'] button[type=submit]")
        page.wait_for_url(re.compile(rf".*/cases/{case.number}/$"))
        assert "“受理”已完成" in page.locator(".alert-success").inner_text()
        assert page.locator(".case-head .state").inner_text() == "待批转"
    finally:
        context.close()
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED
