"""JS-SDK configuration (wx.config) through wechatpy's real client against the simulator's getticket."""

from __future__ import annotations

import hashlib
from typing import Any

import requests

from eco12369.wechat.client import api_client
from eco12369.wechat.jssdk import jssdk_config
from eco12369.wechat.simulator import Simulator


def _getticket_calls(sim: Simulator) -> int:
    return sum(1 for r in sim.state.requests if r["path"] == "/cgi-bin/ticket/getticket")


def _expected(ticket: str, config: dict[str, Any], url: str) -> str:
    # JS-SDK 附录1: sha1 over "jsapi_ticket=…&noncestr=…&timestamp=…&url=…".
    raw = f"jsapi_ticket={ticket}&noncestr={config['nonceStr']}&timestamp={config['timestamp']}&url={url}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


def test_the_simulator_answers_getticket_like_wechat(wechat_simulator: Simulator) -> None:
    token = api_client().access_token
    ok = requests.get(
        wechat_simulator.url + "cgi-bin/ticket/getticket",
        params={"type": "jsapi", "access_token": token},
        timeout=5,
    ).json()
    assert ok["errcode"] == 0 and ok["errmsg"] == "ok" and ok["expires_in"] == 7200 and ok["ticket"]
    bad = requests.get(
        wechat_simulator.url + "cgi-bin/ticket/getticket",
        params={"type": "jsapi", "access_token": "forged"},
        timeout=5,
    ).json()
    assert bad["errcode"] == 40001 and "ticket" not in bad


def test_config_signs_the_exact_page_url_and_caches_the_ticket(
    wechat_simulator: Simulator, settings: Any
) -> None:
    url = "https://12369.example.gov.cn/portal/mine/?page=2&number=TJ1"
    first = jssdk_config(url=url + "#top")
    second = jssdk_config(url=url)
    assert first is not None and second is not None
    assert _getticket_calls(wechat_simulator) == 1  # the second config reuses the cached ticket
    [ticket] = wechat_simulator.state.jsapi_tickets
    for config in (first, second):
        assert config["appId"] == settings.WECHAT["APP_ID"]
        assert config["openTagList"] == ["wx-open-subscribe"]
        assert config["signature"] == _expected(ticket, config, url)  # the fragment is not signed
    assert first["signature"] != _expected(ticket, first, url + "#top")


def test_an_expired_ticket_is_fetched_again(wechat_simulator: Simulator, settings: Any) -> None:
    assert jssdk_config(url="http://testserver/portal/mine/") is not None
    api_client().session.set(f"{settings.WECHAT['APP_ID']}_jsapi_ticket_expires_at", 0)
    assert jssdk_config(url="http://testserver/portal/mine/") is not None
    # Two tickets issued: the first, and a new one after it expired. (Counting issued tickets, not calls: a
    # call refused for an access token the simulator no longer knows is retried by wechatpy with a new token.)
    assert len(wechat_simulator.state.jsapi_tickets) == 2


def test_no_config_when_wechat_is_unreachable() -> None:
    # Every test without the simulator points WeChat at a closed port: the page renders without the SDK.
    assert jssdk_config(url="http://testserver/portal/mine/") is None
