"""A new user's demo, in a browser: the simulator's reporter page files a report by chat and gets the case
number; the menu's "我的举报" opens the H5 page, signed in through the simulator's web OAuth."""

from __future__ import annotations

import re
from typing import Any

import pytest

from eco12369.cases.models import Case
from eco12369.wechat.menu import menu_push
from eco12369.wechat.simulator import Simulator

from .test_voice_video import amr_nb

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_report_from_the_simulator_page(
    live_server: Any, wechat_simulator: Simulator, tianjin: None, media_root: Any, page: Any
) -> None:
    sim = wechat_simulator
    sim.config.callback_url = live_server.url + "/wechat/callback/"
    sim.config.callback_timeout = 60  # here Huey runs every task inline, inside the callback's request
    menu_push(site_url=live_server.url)
    page.goto(sim.url)
    page.get_by_role("button", name="关注公众号").click()
    page.get_by_text("欢迎关注").wait_for()
    page.get_by_label("消息").fill("西青区某塑料厂焚烧废料，冒黑烟，气味刺鼻。")
    page.get_by_role("button", name="发送", exact=True).click()
    page.get_by_text("已记录您的举报内容").wait_for()
    page.get_by_label("发送位置").select_option(label="天津市西青区张家窝镇工业园（西青区）")
    page.get_by_role("button", name="发送位置").click()
    page.get_by_text("属西青区").wait_for()
    page.get_by_role("button", name="提交", exact=True).click()
    page.get_by_text("您的举报已收到").wait_for()
    case = Case.objects.get()
    assert case.region.name == "西青区" and case.category == "air"
    assert page.get_by_text(re.compile(case.number)).count() >= 1
    # The menu pushed by the platform is on the page; "我的举报" opens the H5 list for this reporter.
    with page.context.expect_page() as popup:
        page.locator("#menu").get_by_role("button", name="我的举报").click()
    h5 = popup.value
    h5.wait_for_load_state()
    h5.get_by_text(case.number).first.wait_for()
    assert page.console_errors == []


def test_voice_with_recognition_from_the_simulator_page(
    live_server: Any, wechat_simulator: Simulator, tianjin: None, media_root: Any, page: Any, tmp_path: Any
) -> None:
    """Issue 14, item 3: the page sends a voice message (an AMR file and the text WeChat recognised)."""

    sim = wechat_simulator
    sim.config.callback_url = live_server.url + "/wechat/callback/"
    sim.config.callback_timeout = 60
    page.goto(sim.url)
    said = "津南区某化工厂夜里往河里排黄水，味道很冲"
    page.get_by_label("语音识别文字").fill(said)
    voice = tmp_path / "voice.amr"
    voice.write_bytes(amr_nb())
    page.get_by_label("发送语音（AMR）或视频（MP4）").set_input_files(str(voice))
    page.get_by_text("语音的文字已记入举报内容").wait_for()
    page.get_by_role("button", name="提交", exact=True).click()
    page.get_by_text("您的举报已收到").wait_for()
    case = Case.objects.get()
    assert said in case.description
    assert case.attachments.get().original_name.startswith("微信语音1.")
    assert page.console_errors == []
