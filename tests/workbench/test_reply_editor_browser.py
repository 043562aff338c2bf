"""The reply editor in a real browser (issue 12, D7): a roomy editor in the main column, the draft saved on
the server as the handler types (nothing lost on a reload), and a preview of exactly what the reporter will
receive in WeChat and on the H5 page (without 与举报人沟通答复情况, DESIGN §4)."""

from __future__ import annotations

import pytest

from eco12369.cases.models import ReplyDraft

from .conftest import FIVE_PARTS, advance
from .test_flow_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_draft_is_saved_as_typed_and_the_preview_shows_what_the_reporter_receives(
    live_server, page, heping, make_case
) -> None:
    case = advance(make_case("和平区", description="化工厂天天晚上偷排，臭得不行"), heping, "handling")
    sign_in(page, live_server.url, heping.handler.username)
    page.goto(f"{live_server.url}/cases/{case.number}/")

    editor = page.locator("#reply-editor textarea[name=submit_reply-inspection]")
    assert editor.bounding_box()["width"] >= 400  # not a 270 px sidebar box

    page.fill("textarea[name=submit_reply-decision]", FIVE_PARTS["decision"])
    page.fill("textarea[name=submit_reply-communication]", "已电话联系举报人张**（138****1234）。")
    page.locator("textarea[name=submit_reply-inspection]").press_sequentially(
        "3月4日夜间现场检查，排口有异味"
    )
    page.locator(".reply-saved", has_text="草稿已自动保存").wait_for()
    wechat = page.locator("[data-preview=wechat]")
    wechat.filter(has_text="3月4日夜间现场检查，排口有异味").wait_for()
    text = wechat.inner_text()
    assert text.startswith(f"您的举报（编号 {case.number}）已办结") and FIVE_PARTS["decision"] in text
    assert "138****1234" not in text and "与举报人沟通答复情况" not in text
    assert FIVE_PARTS["decision"] in page.locator("[data-preview=h5]").inner_text()
    draft = ReplyDraft.objects.get(case=case, author=heping.handler)
    assert draft.inspection == "3月4日夜间现场检查，排口有异味"

    page.reload()
    assert page.input_value("textarea[name=submit_reply-inspection]") == "3月4日夜间现场检查，排口有异味"
    assert page.input_value("textarea[name=submit_reply-decision]") == FIVE_PARTS["decision"]
    assert "3月4日夜间现场检查" in page.locator("[data-preview=wechat]").inner_text()
