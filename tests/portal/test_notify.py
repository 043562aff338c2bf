"""The subscription-notice prompt on “我的举报” and the report-done page: WeChat's open tag
``<wx-open-subscribe>`` configured through the JS-SDK, until WeChat tells us the reporter consented."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from eco12369.cases.models import Case
from eco12369.wechat.simulator import Simulator, message_xml, sign_request

pytestmark = pytest.mark.django_db
Reporter = Callable[[str], Client]
OPEN_TAG = '<wx-open-subscribe template="{}" id="subscribe-btn">'
SDK = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"
WECHAT_UA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.50 NetType/WIFI Language/zh_CN"


def html(response: Any) -> str:
    assert response.status_code == 200
    return str(response.content.decode())


def wx_config(page: str) -> dict[str, Any]:
    found = re.search(r'<script id="wx-config" type="application/json">(.*?)</script>', page, re.S)
    assert found, "no wx.config parameters on the page"
    return dict(json.loads(found.group(1)))


def getticket_calls(sim: Simulator) -> int:
    return sum(1 for r in sim.state.requests if r["path"] == "/cgi-bin/ticket/getticket")


def consent(sim: Simulator, openid: str, status: str = "accept") -> None:
    """WeChat pushes the popup's answer to our callback, as after a tap on the open tag."""
    item = {
        "TemplateId": sim.config.subscribe_template_id,
        "SubscribeStatusString": status,
        "PopupScene": "2",
    }
    xml = message_xml(
        openid=openid,
        msg_type="event",
        fields={"Event": "subscribe_msg_popup_event", "SubscribeMsgPopupEvent": {"List": item}},
    )
    params, body = sign_request(config=sim.config, xml=xml, openid=openid)
    response = Client().post(
        f"/wechat/callback/?{urlencode(params)}", data=body.encode("utf-8"), content_type="text/xml"
    )
    assert response.status_code == 200


def test_both_pages_offer_the_open_tag_until_the_reporter_consents(
    reporter: Reporter, make_case: Callable[..., Case], wechat_simulator: Simulator, settings: Any
) -> None:
    client = reporter("oNOTIFY")
    case = make_case(reporter_openid="oNOTIFY")
    tag = OPEN_TAG.format(settings.WECHAT["SUBSCRIBE_TEMPLATE_ID"])
    pages = ("/portal/mine/", f"/portal/report/done/{case.number}/")
    for url in pages:
        page = html(client.get(url))
        assert tag in page and '<script type="text/wxtag-template">' in page
        assert "接收办理进度通知" in page and "/static/portal/subscribe.js" in page
        assert wx_config(page)["openTagList"] == ["wx-open-subscribe"]
    consent(wechat_simulator, "oNOTIFY")
    for url in pages:
        page = html(client.get(url))
        assert "wx-open-subscribe" not in page and "wx-config" not in page and "subscribe.js" not in page


def test_a_refusal_keeps_the_open_tag(reporter: Reporter, wechat_simulator: Simulator, settings: Any) -> None:
    client = reporter("oREFUSE")
    consent(wechat_simulator, "oREFUSE", status="reject")
    assert OPEN_TAG.format(settings.WECHAT["SUBSCRIBE_TEMPLATE_ID"]) in html(client.get("/portal/mine/"))


def test_another_reporters_consent_does_not_hide_the_tag(
    reporter: Reporter, wechat_simulator: Simulator
) -> None:
    client = reporter("oMINE")
    consent(wechat_simulator, "oSOMEONE-ELSE")
    assert "wx-open-subscribe" in html(client.get("/portal/mine/"))


def test_the_config_signs_the_exact_page_url_and_the_ticket_is_fetched_once(
    reporter: Reporter, wechat_simulator: Simulator, settings: Any
) -> None:
    client = reporter("oSIGN")
    url = "/portal/mine/?page=1&number="
    config = wx_config(html(client.get(url)))
    assert getticket_calls(wechat_simulator) == 1
    [ticket] = wechat_simulator.state.jsapi_tickets
    page_url = f"http://testserver{url}"
    signed = (
        f"jsapi_ticket={ticket}&noncestr={config['nonceStr']}&timestamp={config['timestamp']}&url={page_url}"
    )
    assert config["signature"] == hashlib.sha1(signed.encode("utf-8")).hexdigest()
    assert config["appId"] == settings.WECHAT["APP_ID"]
    html(client.get("/portal/mine/"))  # a second page view reuses the cached ticket
    assert getticket_calls(wechat_simulator) == 1


def test_the_demo_page_loads_no_external_script(reporter: Reporter, wechat_simulator: Simulator) -> None:
    page = html(reporter("oDEMO").get("/portal/mine/"))
    assert "wx-open-subscribe" in page and "res.wx.qq.com" not in page
    assert "微信模拟器" in page  # the simulator's own consent button is the demo's path


def test_in_real_wechat_the_page_loads_the_js_sdk(
    reporter: Reporter, wechat_simulator: Simulator, settings: Any
) -> None:
    client = reporter("oREAL")
    settings.WECHAT = {**settings.WECHAT, "OAUTH_BASE_URL": "https://open.weixin.qq.com/"}
    page = html(client.get("/portal/mine/", HTTP_USER_AGENT=WECHAT_UA))
    assert f'<script src="{SDK}"></script>' in page
    assert page.index(SDK) < page.index("/static/portal/subscribe.js")  # wx exists before wx.config
    assert "微信模拟器" not in page and wx_config(page)["signature"]


def test_without_a_ticket_the_page_still_renders_without_the_sdk(
    reporter: Reporter, wechat_simulator: Simulator, settings: Any
) -> None:
    client = reporter("oDOWN")
    # WeChat's API is unreachable: no ticket, no wx.config, and no SDK to load for nothing.
    settings.WECHAT = {
        **settings.WECHAT,
        "OAUTH_BASE_URL": "https://open.weixin.qq.com/",
        "API_BASE_URL": "http://127.0.0.1:9/",
    }
    page = html(client.get("/portal/mine/", HTTP_USER_AGENT=WECHAT_UA))
    assert "wx-config" not in page and "res.wx.qq.com" not in page


def test_csp_adds_only_wechats_js_sdk_host_for_scripts(reporter: Reporter) -> None:
    response = reporter("oCSP").get("/portal/mine/")
    policy = {
        part.split()[0]: part.split()[1:] for part in response["Content-Security-Policy"].split("; ") if part
    }
    assert policy == {
        "default-src": ["'self'"],
        "script-src": ["'self'", "https://res.wx.qq.com"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
