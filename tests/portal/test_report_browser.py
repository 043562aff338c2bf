"""A reporter files a report with two photos on a phone through the H5 page (WeChat's in-app browser user
agent, authorised through the simulator), and the district's operator finds it in the workbench."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from eco12369.cases.models import Case
from eco12369.orgs.models import User
from eco12369.wechat.simulator import Simulator

from ..conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = os.environ.get("ECO_PORTAL_SCREENSHOTS", "")


def _png(path: Path, color: str) -> Path:
    Image.new("RGB", (320, 240), color).save(path, format="PNG")
    return path


def _shot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def test_report_with_two_photos_from_a_phone_then_seen_in_the_workbench(
    phone_page: Any,
    live_server: Any,
    wechat_simulator: Simulator,
    tianjin: None,
    make_user: Callable[..., User],
    tmp_path: Path,
    settings: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    operator = make_user("operator", district_name="和平区", username="heping_operator")
    page = phone_page
    page.context.add_cookies(
        [{"name": "sim_openid", "value": "oPHONE-REPORTER", "url": wechat_simulator.url}]
    )

    # WeChat authorisation happens on the way in; the reporter lands on the form.
    page.goto(f"{live_server.url}/portal/report/")
    assert page.url.startswith(f"{live_server.url}/portal/report/")  # (WeChat's #wechat_redirect may stay)
    assert page.get_by_text("我们将依法对举报人信息严格保密").is_visible()
    _shot(page, "portal-report-empty")

    page.locator("label.chip", has_text="大气").click()
    page.select_option("#id_district", label="和平区")
    page.fill("#id_reported_party", "天津某某化工有限公司")
    page.fill("#id_address", "和平区南京路100号")
    page.fill("#id_description", "工厂烟囱每天夜里十点以后冒黑烟，气味刺鼻，窗户都不敢开。")
    page.set_input_files(
        "#id_photos", [str(_png(tmp_path / "a.png", "#2a6")), str(_png(tmp_path / "b.png", "#a62"))]
    )
    previews = page.locator(".photo--new img")
    previews.nth(1).wait_for()
    assert previews.count() == 2
    page.fill("#id_reporter_phone", "13812345678")
    _shot(page, "portal-report-filled")

    page.get_by_role("button", name="提交举报").click()
    page.wait_for_url(re.compile(r".*/portal/report/done/TJ\d{14}/(#.*)?$"), timeout=30000)
    number = page.locator("#case-number").inner_text().strip()
    assert page.get_by_text("举报已提交").is_visible()
    _shot(page, "portal-done")

    case = Case.objects.get(number=number)
    assert case.channel == "wechat_h5"
    assert case.reporter_openid == "oPHONE-REPORTER"
    assert case.attachments.count() == 2

    page.goto(f"{live_server.url}/portal/mine/")
    assert page.locator(".case__number", has_text=number).is_visible()
    _shot(page, "portal-mine")
    assert page.console_errors == []  # the H5 pages ran without a script or loading error

    # The operator of 和平区 signs in and opens the case.
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", operator.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/cases/{number}/")
    body = page.locator("body")
    assert number in body.inner_text()
    assert "工厂烟囱每天夜里十点以后冒黑烟" in body.inner_text()
    photos = page.locator("img[alt^='现场照片']")
    assert photos.count() == 2


def test_refused_form_keeps_typed_values_and_photos_on_a_phone(
    phone_page: Any,
    live_server: Any,
    wechat_simulator: Simulator,
    tianjin: None,
    tmp_path: Path,
    settings: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    page = phone_page
    page.goto(f"{live_server.url}/portal/report/")

    # The page itself refuses what is obviously not a photo, before anything is uploaded.
    page.set_input_files(
        "#id_photos", [{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo"}]
    )
    assert "不是 JPEG、PNG 或 WebP 格式的照片" in page.locator("#photo-client-errors").inner_text()
    assert page.locator(".photo--new").count() == 0

    page.locator("label.chip", has_text="噪声").click()
    page.fill("#id_address", "河西区友谊路8号")
    page.fill("#id_description", "吵")  # too short
    page.fill("#id_reporter_phone", "12345")  # not a phone number
    page.set_input_files(
        "#id_photos", [str(_png(tmp_path / "a.png", "#2a6")), str(_png(tmp_path / "b.png", "#26a"))]
    )
    page.get_by_role("button", name="提交举报").click()
    page.wait_for_selector("#form-errors")

    errors = page.locator("#form-errors").inner_text()
    assert "情况描述太短" in errors and "电话号码格式不正确" in errors
    assert page.input_value("#id_address") == "河西区友谊路8号"
    assert page.input_value("#id_description") == "吵"
    assert page.input_value("#id_reporter_phone") == "12345"
    assert page.locator("input[name=category][value=noise]").is_checked()
    kept = page.locator(".photo--staged img")
    assert kept.count() == 2
    assert kept.nth(0).evaluate("img => img.complete && img.naturalWidth > 0")
    _shot(page, "portal-report-errors")
    assert not Case.objects.exists()

    # Correct the two fields, drop one kept photo, choose anonymity: the report goes through.
    page.fill("#id_description", "夜里两点还在施工，电锯声很大，无法入睡。")
    page.locator(".photo--staged").nth(1).click()
    page.locator("label.chip", has_text="匿名举报").click()
    assert page.locator("#contact-fields").is_hidden()
    page.get_by_role("button", name="提交举报").click()
    page.wait_for_url(re.compile(r".*/portal/report/done/TJ\d{14}/(#.*)?$"), timeout=30000)
    case = Case.objects.get()
    assert case.attachments.count() == 1
    assert case.anonymous and case.reporter_phone == ""
    assert case.category == "noise"
    # The refused form came back with 422 (bad input gets a 4xx), which the browser notes; nothing else.
    assert [e for e in page.console_errors if "status of 422" not in e] == []
