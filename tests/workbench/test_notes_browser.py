"""In a real browser: an operator writes an internal note, picks a colleague from the @mention list, and
the note reaches that colleague's notification centre (unread count in the header, then the case)."""

from __future__ import annotations

import re

import pytest

from .conftest import advance
from .test_flow_browser import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_note_with_a_mention_reaches_the_colleagues_notification_centre(
    live_server, page, heping, make_case
) -> None:
    case = advance(
        make_case("和平区", reported_party="某某洗车行", description="洗车废水直接排进雨水井，地上全是泡沫"),
        heping,
        "handling",
    )
    base = live_server.url
    sign_in(page, base, heping.operator.username)
    page.goto(f"{base}/cases/{case.number}/")
    box = page.locator("#note-body")
    box.click()
    box.press_sequentially("@和平区承")
    option = page.locator(".mention-option", has_text="和平区承办人")
    option.wait_for()
    assert page.locator(".mention-option", has_text="河西区").count() == 0
    option.click()
    assert box.input_value() == "@和平区承办人 "
    box.press_sequentially("老板说明天上午在，麻烦顺路去看下沉淀池")
    page.click("form.note-form button[type=submit]")
    page.locator(".alert-success", has_text="内部备注已保存").wait_for()
    assert "顺路去看下沉淀池" in page.locator("#notes .note-body").inner_text()
    sign_out(page)

    sign_in(page, base, heping.handler.username)
    badge = page.locator(".notif-link .notif-badge")
    badge.wait_for()
    assert badge.inner_text() == "1"
    page.click(".notif-link")
    page.wait_for_url(re.compile(r".*/notifications/$"))
    item = page.locator(".notif.is-unread button.linklike")
    assert f"在举报件 {case.number} 的内部备注中提及了您" in item.inner_text()
    item.click()
    page.wait_for_url(re.compile(rf".*/cases/{case.number}/#notes$"))
    assert "顺路去看下沉淀池" in page.locator("#notes").inner_text()
    page.goto(f"{base}/notifications/")
    assert page.locator(".notif.is-unread").count() == 0
    assert page.locator(".notif-link .notif-badge").count() == 0
