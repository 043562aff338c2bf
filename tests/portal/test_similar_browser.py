"""“Already reported?” on a phone: as the reporter types the place and the party, an open case about the
same party appears under the form; following it lands on its public page and files nothing new."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.followup.models import Follow
from eco12369.wechat.simulator import Simulator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_form_suggests_an_open_case_and_the_reporter_follows_it(
    phone_page: Any,
    live_server: Any,
    wechat_simulator: Simulator,
    make_case: Callable[..., Case],
    make_user: Callable[..., Any],
    tmp_path: Any,
    settings: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    existing = make_case(
        "和平区",
        category="air",
        reported_party="天津市宏达化工有限公司",
        address="和平区南京路100号",
        description="宏达化工夜里冒黑烟，我是张三，电话13800001111。",
        reporter_name="张三",
        reporter_phone="13800001111",
        reporter_openid="oFIRST-REPORTER",
    )
    # Accepted by the bureau: only then may another reporter learn of it (issue 11, L6).
    existing = services.case_accept(case=existing, actor=make_user("operator"))
    page = phone_page
    page.context.add_cookies(
        [{"name": "sim_openid", "value": "oSECOND-REPORTER", "url": wechat_simulator.url}]
    )
    page.goto(f"{live_server.url}/portal/report/")
    panel = page.locator("#similar-panel")
    assert panel.is_hidden()

    page.select_option("#id_district", label="和平区")
    page.fill("#id_reported_party", "宏达化工厂")
    page.locator("#id_address").click()  # the party field's change event
    panel.get_by_text(existing.number).wait_for()
    text = panel.inner_text()
    assert "附近已有类似举报正在办理" in text and "同一被举报对象" in text
    assert "张三" not in text and "13800001111" not in text and "冒黑烟" not in text

    page.fill("#id_description", "我也看到宏达化工晚上冒黑烟。")
    panel.get_by_role("button", name="是同一件事，关注这件举报").click()
    page.wait_for_url(re.compile(rf".*/portal/mine/{existing.number}/\?followed=1$"))
    assert page.get_by_text("已关注，您的反映已记为重复举报").is_visible()
    assert page.get_by_text("您已关注举报").first.is_visible()  # the notice in the message list
    follow = Follow.objects.get()
    assert (follow.case_id, follow.openid, follow.note) == (
        existing.pk,
        "oSECOND-REPORTER",
        "我也看到宏达化工晚上冒黑烟。",
    )
    assert Case.objects.count() == 1
    assert page.console_errors == []
