"""Forged WeChat messages (issue 11, M2 and L1): the configured message mode, nonces consumed by every
signed request (URL checks and refused POSTs too), no signature or openid in the application's log, and
malformed fields in a signed message refused with a 400, never a 500."""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

import pytest
import xmltodict

from eco12369.cases.models import Case
from eco12369.wechat.models import InboundMessage

from .conftest import WeChatServer, sign

pytestmark = pytest.mark.django_db
VICTIM = "oVictimReporter-7Qx2"
ATTACKER = "oAttacker-0000"


def url_check(wechat: WeChatServer) -> tuple[dict[str, str], Any]:
    """WeChat's URL check as the access log of any proxy on the way records it."""
    ts, nonce = str(int(time.time())), secrets.token_hex(5)
    params = {"signature": sign(wechat.conf["TOKEN"], ts, nonce), "timestamp": ts, "nonce": nonce}
    return params, wechat.client.get(wechat.url, {**params, "echostr": "e-" + nonce})


def victims_case(wechat: WeChatServer) -> Case:
    wechat.text(VICTIM, "老城区某某印染厂晚上偷排，河水发红还有一股酸臭味")
    ack = wechat.reply(wechat.text(VICTIM, "提交"))
    case = Case.objects.get()
    assert case.number in ack
    return case


def forged_query(wechat: WeChatServer, params: dict[str, str], case: Case) -> Any:
    """The attacker's "查询" in the victim's name, under a signature seen elsewhere, with no msg_signature
    (a plain body is all an attacker without the EncodingAESKey can write)."""
    body = wechat.xml(VICTIM, "text", Content=f"查询 {case.number}", MsgId=secrets.randbelow(10**12))
    return wechat.post_raw({k: params[k] for k in ("signature", "timestamp", "nonce")}, body)


def assert_nothing_leaked(response: Any, case: Case) -> None:
    assert response.status_code == 403, response.content[:300]
    text = response.content.decode()
    assert case.number not in text and "待" not in text and "受理" not in text
    assert not InboundMessage.objects.filter(content__startswith="查询").exists()


def test_a_plain_post_is_refused_while_the_account_is_in_safe_mode(
    wechat: WeChatServer, tianjin: None
) -> None:
    assert wechat.mode == "safe"
    res = wechat.text(ATTACKER, "查询", mode="plain")
    assert res.status_code == 403
    assert "安全模式" in res.content.decode()
    assert InboundMessage.objects.count() == 0
    # the same account accepts the message encrypted
    assert wechat.reply(wechat.text(ATTACKER, "查询")) != ""


@pytest.mark.parametrize("wechat", ["safe", "compat", "plain"], indirect=True)
def test_a_url_check_signature_replayed_with_a_forged_query_is_refused(
    wechat: WeChatServer, tianjin: None
) -> None:
    case = victims_case(wechat)
    params, check = url_check(wechat)
    assert check.status_code == 200 and check.content.startswith(b"e-")
    assert_nothing_leaked(forged_query(wechat, params, case), case)
    # ... and the URL check itself cannot be replayed either
    assert wechat.client.get(wechat.url, {**params, "echostr": "again"}).status_code == 403


@pytest.mark.parametrize("wechat", ["safe", "plain"], indirect=True)
def test_the_signature_of_a_refused_post_cannot_be_reused(wechat: WeChatServer, tianjin: None) -> None:
    case = victims_case(wechat)
    params, _ = wechat.build("")
    refused = wechat.post_raw(params, "<xml><ToUserName>gh</ToUserName")  # cut short on the way: 400
    assert refused.status_code == 400
    assert_nothing_leaked(forged_query(wechat, params, case), case)


def test_an_accepted_messages_signature_cannot_carry_another_body(
    wechat: WeChatServer, tianjin: None
) -> None:
    case = victims_case(wechat)
    params, body = wechat.build(
        wechat.xml(
            ATTACKER, "link", Title="某厂排污", Description="见链接", Url="http://example.invalid/", MsgId=77
        )
    )
    assert "暂不支持" in wechat.reply(wechat.post_raw(params, body))  # answered, nothing recorded...
    wechat.conf["MESSAGE_MODE"] = "plain"  # ...and even an account switched to plain mode refuses its replay
    assert_nothing_leaked(forged_query(wechat, params, case), case)


def test_no_signature_or_openid_in_the_applications_log(
    wechat: WeChatServer, tianjin: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    victims_case(wechat)
    params, _ = url_check(wechat)
    wechat.client.get(wechat.url, {**params, "echostr": "again"})  # refused replay
    wechat.text(VICTIM, "查询", mode="plain")  # refused: safe mode
    wechat.text(VICTIM, "查询", key="Q" * 43)  # refused: cannot decrypt
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused" in logged  # the refusals are logged...
    assert VICTIM not in logged and params["signature"] not in logged  # ...without who or the signature
    assert "signature=" not in logged and "msg_signature=" not in logged


# ------------------------------------------------------------------------------------------------ L1
MALFORMED: dict[str, dict[str, Any]] = {
    "create-time-overflow": {"CreateTime": "99999999999999999999"},
    "create-time-year-10000": {"CreateTime": "253402300800"},
    "create-time-negative": {"CreateTime": "-1"},
    "create-time-nested": {"CreateTime": {"a": "1"}},
    "content-nested": {"Content": {"b": "粗体"}},
    "content-repeated": {"Content": ["一", "二"]},
    "event-repeated": {"MsgType": "event", "Event": ["subscribe", "unsubscribe"]},
    "label-nested": {"MsgType": "location", "Label": {"x": "1"}, "Location_X": "39.1", "Location_Y": "117.2"},
    "from-user-nested": {"FromUserName": {"x": VICTIM}},
}


@pytest.mark.parametrize("name", list(MALFORMED))
@pytest.mark.parametrize("wechat", ["safe", "plain"], indirect=True)
def test_malformed_fields_in_a_signed_message_are_a_400(
    wechat: WeChatServer, tianjin: None, name: str
) -> None:
    fields: dict[str, Any] = {
        "ToUserName": "gh_test_account",
        "FromUserName": VICTIM,
        "CreateTime": str(int(time.time())),
        "MsgType": "text",
        "Content": "你好",
        "MsgId": "123",
    } | MALFORMED[name]
    xml = str(xmltodict.unparse({"xml": fields}, full_document=False))
    res = wechat.push(xml)
    assert res.status_code == 400, (res.status_code, res.content[:300])
    assert InboundMessage.objects.count() == 0


@pytest.mark.parametrize(
    ("lat", "lng"), [("abc", "117.2"), ("nan", "117.2"), ("1e999", "117.2"), ("39.1", "-inf"), ("", "")]
)
def test_a_location_that_is_not_a_number_is_answered_not_a_500(
    wechat: WeChatServer, tianjin: None, lat: str, lng: str
) -> None:
    wechat.text(VICTIM, "工地晚上施工噪声很大")
    xml = wechat.xml(VICTIM, "location", Location_X=lat, Location_Y=lng, Scale=15, Label="某处", MsgId=91)
    res = wechat.push(xml)
    assert res.status_code in (200, 400), res.status_code
