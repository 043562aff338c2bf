"""The reporter's identity: WeChat web authorisation against the simulator, with wechatpy's client."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from django.test import Client
from django.utils.html import escape

from eco12369.cases.models import Case
from eco12369.qr import qr_svg
from eco12369.wechat.simulator import Simulator

from .helpers import form_data, oauth_login

pytestmark = pytest.mark.django_db


def test_unidentified_visitor_is_sent_to_wechat_authorisation(
    tianjin: None, wechat_simulator: Simulator
) -> None:
    response = Client().get("/portal/report/")
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}/" == wechat_simulator.url.rstrip("/") + "/"
    assert url.path == "/connect/oauth2/authorize"
    query = parse_qs(url.query)
    assert query["appid"] == ["wx12369simulator"]
    assert query["scope"] == ["snsapi_base"]
    assert query["redirect_uri"] == ["http://testserver/portal/oauth/callback/"]
    assert len(query["state"][0]) >= 24


def test_round_trip_identifies_the_reporter_and_returns_to_the_page(
    tianjin: None, wechat_simulator: Simulator
) -> None:
    client = Client()
    response = oauth_login(client, wechat_simulator, "oREPORTER1", start="/portal/mine/")
    assert response.status_code == 302
    assert response["Location"] == "/portal/mine/"
    cookie = response.cookies["eco_reporter"]
    assert cookie["httponly"] is True and cookie["path"] == "/portal/" and cookie["samesite"] == "Lax"
    assert cookie.value.startswith("oREPORTER1:")  # signed, not a bare openid anyone could type
    page = client.get("/portal/mine/")
    assert page.status_code == 200
    assert "我的举报" in page.content.decode()


def test_identified_reporter_files_under_their_openid(tianjin: None, wechat_simulator: Simulator) -> None:
    client = Client()
    oauth_login(client, wechat_simulator, "oREPORTER2")
    response = client.post("/portal/report/", form_data())
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.reporter_openid == "oREPORTER2"


def _authorised_callback(client: Client, sim: Simulator, openid: str) -> str:
    start = client.get("/portal/report/")
    back = requests.get(start["Location"], cookies={"sim_openid": openid}, allow_redirects=False, timeout=5)
    url = urlsplit(back.headers["Location"])
    return f"{url.path}?{url.query}"


def test_callback_with_a_forged_state_is_refused(tianjin: None, wechat_simulator: Simulator) -> None:
    client = Client()
    callback = _authorised_callback(client, wechat_simulator, "oVICTIM")
    forged = callback.replace("state=", "state=x")
    response = client.get(forged)
    assert response.status_code == 400
    assert "登录状态已失效" in response.content.decode()
    assert client.get("/portal/mine/").status_code == 302  # still not identified


def test_callback_started_in_another_browser_is_refused(tianjin: None, wechat_simulator: Simulator) -> None:
    """Login CSRF: an attacker's code and state, replayed into the victim's browser, identify nobody."""
    attacker, victim = Client(), Client()
    callback = _authorised_callback(attacker, wechat_simulator, "oATTACKER")
    victim.get("/portal/report/")  # the victim has a session with states of its own
    response = victim.get(callback)
    assert response.status_code == 400
    victim_page = victim.get("/portal/mine/")
    assert victim_page.status_code == 302


def test_callback_cannot_be_replayed(tianjin: None, wechat_simulator: Simulator) -> None:
    client = Client()
    callback = _authorised_callback(client, wechat_simulator, "oREPLAY")
    assert client.get(callback).status_code == 302
    again = client.get(callback)
    assert again.status_code == 400


def test_invalid_code_is_refused_with_a_clear_message(tianjin: None, wechat_simulator: Simulator) -> None:
    client = Client()
    callback = _authorised_callback(client, wechat_simulator, "oBADCODE")
    url = urlsplit(callback)
    query = parse_qs(url.query)
    response = client.get(url.path, {"code": "not-a-code", "state": query["state"][0]})
    assert response.status_code == 400
    assert "微信授权失败" in response.content.decode()
    assert client.get("/portal/mine/").status_code == 302


def test_declined_authorisation_explains_why(tianjin: None, wechat_simulator: Simulator) -> None:
    client = Client()
    callback = _authorised_callback(client, wechat_simulator, "oDECLINE")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    response = client.get("/portal/oauth/callback/", {"state": state})
    assert response.status_code == 400
    assert "需要您同意微信授权" in response.content.decode()


def test_wechat_unreachable_is_a_clear_error_not_a_crash(
    tianjin: None, wechat_simulator: Simulator, settings: Any
) -> None:
    client = Client()
    callback = _authorised_callback(client, wechat_simulator, "oDOWN")
    settings.WECHAT = {**settings.WECHAT, "API_BASE_URL": "http://127.0.0.1:9/"}
    response = client.get(callback)
    assert response.status_code == 400
    assert "微信授权失败" in response.content.decode()


def test_unidentified_post_writes_nothing(tianjin: None, wechat_simulator: Simulator) -> None:
    response = Client().post("/portal/report/", form_data())
    assert response.status_code == 302
    assert not Case.objects.exists()


def test_next_page_never_leaves_the_portal(tianjin: None, wechat_simulator: Simulator) -> None:
    client = Client()
    response = oauth_login(client, wechat_simulator, "oNEXT", start="/portal/mine/?page=2")
    assert response["Location"] == "/portal/mine/?page=2"


def test_a_forged_identity_cookie_identifies_nobody(tianjin: None, wechat_simulator: Simulator) -> None:
    client = Client()
    client.cookies["eco_reporter"] = "oVICTIM"
    assert client.get("/portal/mine/").status_code == 302
    client.cookies["eco_reporter"] = "oVICTIM:1abcde:forgedsignature"
    assert client.get("/portal/mine/").status_code == 302


def test_identity_is_renewed_by_use_and_expires_when_unused(
    tianjin: None, wechat_simulator: Simulator
) -> None:
    start = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        client = Client()
        oauth_login(client, wechat_simulator, "oTIMED")
        traveller.shift(dt.timedelta(hours=20))
        assert client.get("/portal/mine/").status_code == 200  # renews the one-day identity
        traveller.shift(dt.timedelta(hours=20))
        assert client.get("/portal/mine/").status_code == 200
        traveller.shift(dt.timedelta(hours=25))
        assert client.get("/portal/mine/").status_code == 302  # unused for more than a day: authorise again


CHROME = (
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"
)
WECHAT_UA = CHROME + " MicroMessenger/8.0.54.2760(0x28003635) WeChat/arm64 NetType/WIFI Language/zh_CN"


def test_outside_wechat_the_real_authorisation_is_replaced_by_an_open_in_wechat_page(
    tianjin: None, settings: Any
) -> None:
    """Real WeChat authorises only inside WeChat's browser; any other phone browser is told how to get
    there (the page's QR code) instead of being sent to an error page of WeChat's."""
    settings.WECHAT = {**settings.WECHAT, "OAUTH_BASE_URL": "https://open.weixin.qq.com/"}
    page = Client(HTTP_USER_AGENT=CHROME).get("/portal/mine/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "请在微信中打开本页面" in text and "<svg" in text and "http://testserver/portal/mine/" in text
    assert "eco_oauth_state" not in page.cookies  # no round trip was started
    inside = Client(HTTP_USER_AGENT=WECHAT_UA).get("/portal/mine/")
    assert inside.status_code == 302
    assert inside["Location"].startswith("https://open.weixin.qq.com/connect/oauth2/authorize?")
    # The public pages need no identity: they open in any browser.
    assert Client(HTTP_USER_AGENT=CHROME).get("/portal/guide/").status_code == 200


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/portal/report/?from=menu", "http://testserver/portal/report/?from=menu"),  # control: fits, kept
        # A query string too long for a QR code (the largest holds about 2,300 bytes) is left out...
        ("/portal/report/?utm=" + "a" * 3000, "http://testserver/portal/report/"),
        ("/portal/mine/?x=" + "污" * 1000, "http://testserver/portal/mine/"),
        # ...and a path that long is no page of ours: the report form is offered instead.
        ("/portal/mine/" + "a" * 3000 + "/", "http://testserver/portal/report/"),
    ],
)
def test_outside_wechat_a_page_too_long_for_a_qr_code_still_opens(
    tianjin: None, settings: Any, path: str, shown: str
) -> None:
    """The 'open in WeChat' page draws its own address as a QR code; an address longer than a QR code can
    hold made the QR library raise (a 500). The page shows the address its QR code holds."""
    settings.WECHAT = {**settings.WECHAT, "OAUTH_BASE_URL": "https://open.weixin.qq.com/"}
    page = Client(HTTP_USER_AGENT=CHROME, raise_request_exception=False).get(path)
    assert page.status_code == 200, (page.status_code, page.content[:300])
    text = page.content.decode()
    assert "请在微信中打开本页面" in text
    assert f"本页地址：{escape(shown)}</p>" in text
    assert qr_svg(shown, box_size=6) in text
