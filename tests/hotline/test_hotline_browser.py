"""The hotline pages in Chromium: the call form from the keyboard alone (the category guessed as the operator
types, Ctrl+Enter files it, the number is read back), the live "already reported?" candidates with their
one-click repeat report, and the import preview of a file with bad rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from eco12369.cases import services
from eco12369.cases.models import Case, Channel
from eco12369.followup.models import Follow
from eco12369.orgs.models import User
from tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BAD = Path(__file__).with_name("data") / "forwarded_12345_bad.csv"


def test_a_call_is_recorded_from_the_keyboard_alone(
    live_server: Any, page: Any, make_user: Callable[..., User]
) -> None:
    operator = make_user("operator", district_name="河西区", username="hexi_hotline")
    sign_in(page, live_server.url, operator.username)
    page.goto(live_server.url + "/hotline/call/")
    assert page.evaluate("document.activeElement.id") == "id_phone"  # the cursor is where the call starts
    page.keyboard.type("13700001111")
    page.keyboard.press("Tab")
    page.keyboard.type("周师傅")
    page.keyboard.press("Tab")  # 匿名
    page.keyboard.press("Tab")  # 类型
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_description"
    page.keyboard.type("晚上十二点了搅拌站还在干活，噪音太大了")
    expect(page.locator("#id_category")).to_have_value("noise")
    assert "按反映内容推断：噪声" in page.locator("#category-field").inner_text()
    assert page.evaluate("document.activeElement.id") == "id_description"  # the guess did not steal focus
    page.keyboard.press("Tab")  # 污染类别 (guessed)
    page.keyboard.press("Tab")
    page.keyboard.type("某混凝土搅拌站")
    page.keyboard.press("Tab")
    page.keyboard.type("河西区友谊南路尽头")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(re.compile(r".*/hotline/call/done/TJ\d+/$"))
    number = page.locator("#read-back-number").inner_text()
    case = Case.objects.get(number=number)
    expect(page.locator("#read-back-code")).to_have_text(
        case.query_code
    )  # read to the caller with the number
    assert (case.channel, case.category, case.region.name) == (Channel.PHONE, "noise", "河西区")
    assert (case.reporter_phone, case.reporter_name, case.reported_party) == (
        "13700001111",
        "周师傅",
        "某混凝土搅拌站",
    )
    assert page.evaluate("document.activeElement.id") == "next-call"  # Enter starts the next call
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/hotline/call/$"))


def test_live_candidates_and_one_click_repeat_report(
    live_server: Any, page: Any, make_user: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    operator = make_user("operator", district_name="和平区", username="heping_hotline")
    existing = make_case(
        "和平区",
        category="air",
        reported_party="天津市宏达化工有限公司",
        address="和平区南京路100号",
        description="宏达化工夜里冒黑烟，我是张三，电话13800001111。",
        reporter_name="张三",
    )
    existing = services.case_accept(case=existing, actor=operator)
    sign_in(page, live_server.url, operator.username)
    page.goto(live_server.url + "/hotline/call/")
    page.fill("#id_phone", "13511112222")
    page.fill("#id_description", "宏达化工那个烟囱又冒黑烟了")
    assert page.locator("#candidates").inner_text().strip() == ""
    page.locator("#id_reported_party").press_sequentially("宏达化工厂", delay=30)
    candidates = page.locator("#candidates")
    candidates.get_by_text(existing.number).first.wait_for()
    text = candidates.inner_text()
    assert "可能已有人反映" in text and "同一被举报对象" in text
    assert "张三" not in text and "13800001111" not in text
    candidates.get_by_role("button", name=f"记为重复来电（{existing.number}）").click()
    page.wait_for_url(re.compile(rf".*/hotline/call/followed/{existing.number}/\?again=0$"))
    assert existing.number in page.locator("#read-back-number").inner_text()
    assert Case.objects.count() == 1
    follow = Follow.objects.get()
    assert (follow.case_id, follow.caller_phone, follow.channel) == (
        existing.pk,
        "13511112222",
        Channel.PHONE,
    )


def test_the_import_preview_shows_the_bad_rows_and_writes_nothing(
    live_server: Any, page: Any, make_user: Callable[..., User]
) -> None:
    centre = make_user("operator", district_name=None, username="centre_import")
    sign_in(page, live_server.url, centre.username)
    page.goto(live_server.url + "/hotline/imports/")
    page.select_option("#id_source", "hotline_12345")
    page.set_input_files("#id_file", str(BAD))
    page.get_by_role("button", name="上传并预览").click()
    page.locator("#preview-rows").wait_for()
    assert page.locator("#rows-error").inner_text() == "7" and page.locator("#rows-new").inner_text() == "5"
    errors = page.locator("tr.row-error")
    assert errors.count() == 7
    row7 = page.locator("tr[data-line='7']").inner_text()
    assert "转办时间“明天上午”无法识别" in row7
    assert "来源编号与第2行重复" in page.locator("tr[data-line='10']").inner_text()
    assert page.locator("tr[data-line='11'] script").count() == 0  # a hostile cell stays text
    assert "<script>alert(1)</script>" in page.locator("tr[data-line='11']").inner_text()
    assert Case.objects.count() == 0  # the preview wrote nothing
    page.get_by_role("button", name="确认导入 5 行").click()
    page.locator("#import-result").wait_for()
    assert "新建 5 件" in page.locator("#import-result").inner_text()
    assert page.locator("progress").get_attribute("value") == "100"
    assert Case.objects.filter(channel=Channel.FORWARDED).count() == 5


def test_a_point_picked_on_the_district_map_sets_the_district(
    live_server: Any, page: Any, make_user: Callable[..., User]
) -> None:
    operator = make_user("operator", district_name=None, username="centre_map")
    sign_in(page, live_server.url, operator.username)
    page.goto(live_server.url + "/hotline/call/")
    page.locator("#map-box summary").click()
    page.locator("#district-map canvas").first.wait_for()
    page.wait_for_timeout(300)  # the outlines are laid out
    x, y = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('district-map'))"
        ".convertToPixel({geoIndex: 0}, [117.4082, 40.0457])"
    )  # 蓟州城区
    box = page.locator("#district-map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page.locator("#map-point")).to_contain_text("蓟州区")
    assert page.locator("#id_district option:checked").inner_text() == "蓟州区"
    assert abs(float(page.input_value("#id_latitude")) - 40.0457) < 0.05
