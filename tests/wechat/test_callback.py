"""The official-account server URL: URL check, the three modes, de-duplication, and every bad input."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from typing import Any

import pytest
import time_machine
import xmltodict

from eco12369.cases.models import Case
from eco12369.notifications.models import DeliveryAttempt, OutboxMessage
from eco12369.wechat.models import Conversation, InboundMessage, SeenNonce

from .conftest import WeChatServer, sign

pytestmark = pytest.mark.django_db
OPENID = "oTestReporter0001"
NUMBER_RE = re.compile(r"TJ\d{14}")


def _counts() -> dict[str, int]:
    return {
        "inbound": InboundMessage.objects.count(),
        "nonces": SeenNonce.objects.count(),
        "cases": Case.objects.count(),
        "conversations": Conversation.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


NOTHING = {"inbound": 0, "nonces": 0, "cases": 0, "conversations": 0, "outbox": 0}


# ------------------------------------------------------------------------------------ URL check (GET)
def test_url_verification_echoes_echostr(client: Any, settings: Any) -> None:
    ts, nonce = str(int(time.time())), "n0nce"
    res = client.get(
        "/wechat/callback/",
        {
            "signature": sign(settings.WECHAT["TOKEN"], ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": "e123",
        },
    )
    assert res.status_code == 200
    assert res.content == b"e123"


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "0" * 40},
        {"signature": ""},
        {"timestamp": str(int(time.time()) - 600)},
    ],
    ids=["wrong-signature", "missing-signature", "stale-timestamp"],
)
def test_url_verification_refuses_bad_signatures(client: Any, settings: Any, change: dict[str, str]) -> None:
    ts, nonce = change.get("timestamp", str(int(time.time()))), "n0nce"
    params = {
        "signature": sign(settings.WECHAT["TOKEN"], ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": "e1",
    }
    params.update({k: v for k, v in change.items() if k != "timestamp"})
    res = client.get("/wechat/callback/", params)
    assert res.status_code == 403
    assert b"e1" not in res.content
    assert "签名".encode() in res.content or "过期".encode() in res.content


# --------------------------------------------------------------------------------- the three modes
@pytest.mark.parametrize("wechat", ["plain", "compat", "safe"], indirect=True)
def test_report_by_chat_creates_one_case_and_the_reply_carries_its_number(
    wechat: WeChatServer, tianjin: None
) -> None:
    first = wechat.reply(wechat.text(OPENID, "河边化工厂夜里排黑水，味道刺鼻。"))
    assert "已记录您的举报内容" in first
    res = wechat.text(OPENID, "提交")
    if wechat.mode == "plain":
        assert b"<Encrypt>" not in res.content
    else:
        assert b"<Encrypt>" in res.content and b"<Content>" not in res.content  # the reply is encrypted
    ack = wechat.reply(res)
    case = Case.objects.get()
    assert case.number in ack
    assert f"查询码 {case.query_code}" in ack  # the code a stranger's look-up needs (issue 11, M4)
    assert case.channel == "wechat_chat" and case.reporter_openid == OPENID
    assert case.description == "河边化工厂夜里排黑水，味道刺鼻。"
    assert case.category == "water"
    # The acknowledgement went out as the passive reply: its outbox row is sent, never to be sent again.
    row = OutboxMessage.objects.get(case=case)
    assert row.template == "acknowledged" and row.status == "sent" and row.channel == "passive"
    assert row.text == ack
    assert DeliveryAttempt.objects.filter(message=row, ok=True, channel="passive").count() == 1


def test_previous_encoding_aes_key_still_works_after_a_key_change(
    wechat: WeChatServer, settings: Any, tianjin: None
) -> None:
    old = settings.WECHAT["ENCODING_AES_KEY"]
    new = "Z" * 43
    settings.WECHAT = {**settings.WECHAT, "ENCODING_AES_KEY": new, "PREVIOUS_ENCODING_AES_KEY": old}
    wechat.conf = settings.WECHAT
    res = wechat.text(OPENID, "查询", key=old)  # WeChat still encrypts with the old key
    assert "还没有" in wechat.reply(res, key=old)  # and the reply is sealed with the key that worked
    res = wechat.text(OPENID, "查询", key=new)
    assert "还没有" in wechat.reply(res, key=new)
    assert InboundMessage.objects.count() == 2


def test_a_key_nobody_configured_is_refused(wechat: WeChatServer, tianjin: None) -> None:
    res = wechat.text(OPENID, "你好", key="Q" * 43)
    assert res.status_code == 400
    assert "无法解密".encode() in res.content
    assert _counts() == NOTHING | {"nonces": 1}  # only the nonce of its good signature is consumed


# ------------------------------------------------------------------------------------ de-duplication
def test_the_same_msgid_delivered_again_creates_nothing_and_no_second_reply(
    wechat: WeChatServer, tianjin: None
) -> None:
    wechat.text(OPENID, "工地夜间施工噪声扰民。")
    ack = wechat.reply(wechat.text(OPENID, "提交", msg_id=424242))
    assert NUMBER_RE.search(ack)
    again = wechat.text(OPENID, "提交", msg_id=424242)  # a fresh signature and nonce, the same MsgId
    assert again.content == b"success"
    assert Case.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
    assert InboundMessage.objects.filter(msg_id="424242").count() == 1


def test_a_retry_after_wechats_timeout_gets_the_same_answer_again(
    wechat: WeChatServer, tianjin: None
) -> None:
    """WeChat retries after 5 s only when our answer did not reach it: the retry gets that answer again
    (shown to the reporter once), and still nothing new is created."""
    wechat.text(OPENID, "工厂烟囱冒黑烟。")
    ack = wechat.reply(wechat.text(OPENID, "提交", msg_id=515151))
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6), tick=True):
        retry = wechat.reply(wechat.text(OPENID, "提交", msg_id=515151))
    assert retry == ack
    assert Case.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


def test_events_are_deduplicated_on_sender_and_create_time(wechat: WeChatServer, tianjin: None) -> None:
    xml = wechat.xml(OPENID, "event", create_time=1767225600, Event="subscribe")
    assert "欢迎关注" in wechat.reply(wechat.push(xml))
    assert wechat.push(xml).content == b"success"
    assert InboundMessage.objects.count() == 1


# ------------------------------------------------------------------------------------------ bad input
def _bad_requests(w: WeChatServer) -> dict[str, tuple[dict[str, str], bytes | str, int, str]]:
    good = w.xml(OPENID, "text", Content="提交", MsgId=1)
    now = str(int(time.time()))
    cases: dict[str, tuple[dict[str, str], bytes | str, int, str]] = {}
    p, b = w.build(good)
    cases["wrong-signature"] = ({**p, "signature": "f" * 40}, b, 403, "签名校验失败")
    p, b = w.build(good)
    cases["missing-signature"] = ({k: v for k, v in p.items() if k != "signature"}, b, 403, "缺少签名参数")
    p, b = w.build(good)
    cases["wrong-msg-signature"] = ({**p, "msg_signature": "a" * 40}, b, 403, "消息签名校验失败")
    p, b = w.build(good)
    cases["missing-msg-signature"] = (
        {k: v for k, v in p.items() if k != "msg_signature"},
        b,
        403,
        "msg_signature",
    )
    p, b = w.build(good, timestamp=str(int(time.time()) - 301))
    cases["timestamp-over-5-minutes-old"] = (p, b, 403, "超过5分钟")
    p, b = w.build(good, timestamp=str(int(time.time()) + 3600))
    cases["timestamp-in-the-future"] = (p, b, 403, "超过5分钟")
    p, b = w.build(good, timestamp="yesterday")
    cases["timestamp-not-a-number"] = (p, b, 403, "时间戳无效")
    p, b = w.build(good, mode="plain")
    cases["plain-malformed-xml"] = (p, "<xml><ToUserName>x</ToUser", 400, "XML 格式错误")
    cases["plain-root-not-xml"] = (p, "<html><body>hi</body></html>", 400, "根元素")
    doctype = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e "boom">]><xml><MsgType>&e;</MsgType></xml>'
    cases["plain-doctype-entity"] = (p, doctype, 400, "DOCTYPE")
    cases["plain-external-entity"] = (
        p,
        '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>',
        400,
        "DOCTYPE",
    )
    cases["plain-missing-fields"] = (p, "<xml><MsgType>text</MsgType></xml>", 400, "缺少字段")
    p, b = w.build(
        '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">]>' + w.xml(OPENID, "text", Content="&a;", MsgId=2),
        mode="safe",
    )
    cases["encrypted-doctype-inside"] = (p, b, 400, "DOCTYPE")
    p, b = w.build(good)
    cases["encrypted-garbage"] = (
        {**p, "msg_signature": sign(w.conf["TOKEN"], p["timestamp"], p["nonce"], "bm90IGFlcw==")},
        "<xml><ToUserName>x</ToUserName><Encrypt>bm90IGFlcw==</Encrypt></xml>",
        400,
        "无法解密",
    )
    p, b = w.build(good, mode="plain")
    cases["body-over-1-MiB"] = (p, b"<xml>" + b"a" * (1024 * 1024 + 1) + b"</xml>", 413, "1 MiB")
    assert now
    return cases


# Refused before the signature was found good and fresh: no nonce consumed.
UNSIGNED = {
    "wrong-signature",
    "missing-signature",
    "timestamp-over-5-minutes-old",
    "timestamp-in-the-future",
    "timestamp-not-a-number",
    "body-over-1-MiB",
}
BAD = [
    "wrong-signature",
    "missing-signature",
    "wrong-msg-signature",
    "missing-msg-signature",
    "timestamp-over-5-minutes-old",
    "timestamp-in-the-future",
    "timestamp-not-a-number",
    "plain-malformed-xml",
    "plain-root-not-xml",
    "plain-doctype-entity",
    "plain-external-entity",
    "plain-missing-fields",
    "encrypted-doctype-inside",
    "encrypted-garbage",
    "body-over-1-MiB",
]


@pytest.mark.parametrize("name", BAD)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(
    wechat: WeChatServer, tianjin: None, name: str, settings: Any
) -> None:
    if name.startswith("plain-"):  # what the parser refuses when the account is in plain mode
        settings.WECHAT = {**settings.WECHAT, "MESSAGE_MODE": "plain"}
    params, body, status, text = _bad_requests(wechat)[name]
    res = wechat.post_raw(params, body)
    assert res.status_code == status
    assert res["Content-Type"].startswith("text/plain")
    assert text in res.content.decode("utf-8")
    # A request with a good, fresh signature has its nonce consumed (it can never be replayed); nothing else.
    signed = name not in UNSIGNED
    assert _counts() == NOTHING | {"nonces": int(signed)}
    assert SeenNonce.objects.filter(key=f"{params.get('timestamp')}:{params.get('nonce')}").exists() == signed


def test_a_used_nonce_refuses_a_new_message_and_answers_a_repeated_one_as_a_retry(
    wechat: WeChatServer, tianjin: None
) -> None:
    start = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        params, body = wechat.build(wechat.xml(OPENID, "text", Content="你好", MsgId=777))
        first = wechat.reply(wechat.post_raw(params, body))
        before = _counts()
        # A different message under the same nonce (a forged request reusing one): refused.
        other = wechat.xml(OPENID, "text", Content="另一条", MsgId=778)
        res = wechat.push(other, timestamp=params["timestamp"], nonce=params["nonce"])
        assert res.status_code == 403 and "nonce" in res.content.decode()
        # The very same request again, at once: answered empty (the first answer is still on its way).
        assert wechat.post_raw(params, body).content == b"success"
    with time_machine.travel(start + dt.timedelta(seconds=5), tick=False):
        # ... and when WeChat retries it after 5 s: the same answer again. Nothing is written either time.
        assert first and wechat.reply(wechat.post_raw(params, body)) == first
    assert _counts() == before


def test_a_used_nonce_from_a_sender_never_seen_is_refused_and_starts_no_conversation(
    wechat: WeChatServer, tianjin: None
) -> None:
    """The nonce is remembered and the conversation locked in one statement (PostgreSQL): for a sender with
    no conversation yet its row carries only the nonce's verdict, which must still refuse the replay and
    leave nothing behind."""
    params, body = wechat.build(wechat.xml(OPENID, "text", Content="你好", MsgId=781))
    assert wechat.reply(wechat.post_raw(params, body))
    before = _counts()
    forged = wechat.xml("oNeverWroteBefore01", "text", Content="第一次来信", MsgId=782)
    res = wechat.push(forged, timestamp=params["timestamp"], nonce=params["nonce"])
    assert res.status_code == 403 and "nonce" in res.content.decode()
    assert _counts() == before == NOTHING | {"inbound": 1, "nonces": 1, "conversations": 1}
    # The sender's next message, under a nonce of its own, is taken as usual.
    assert "已记录" in wechat.reply(wechat.text("oNeverWroteBefore01", "河边工厂夜里排放黑水，臭味很大"))
    assert Conversation.objects.count() == 2


def test_unknown_message_types_are_answered_politely_and_nothing_is_created(
    wechat: WeChatServer, tianjin: None
) -> None:
    # Voice and video are report material now (issue 14, item 3: tests/wechat/test_voice_video.py); a link
    # is not.
    link = wechat.xml(
        OPENID, "link", Title="某厂排污", Description="见链接", Url="http://example.invalid/", MsgId=9001
    )
    assert "暂不支持" in wechat.reply(wechat.push(link))
    odd_event = wechat.xml(OPENID, "event", Event="TEMPLATESENDJOBFINISH", Status="success")
    assert wechat.push(odd_event).content == b"success"
    assert _counts() == NOTHING | {"nonces": 2}  # their nonces are consumed: not to be replayed


def test_a_text_over_the_limit_is_cut_and_the_reporter_is_told(wechat: WeChatServer, tianjin: None) -> None:
    """Issue 11, L7: a 10,000-character message keeps 2,000 characters (the H5 form's limit) and the reply
    says so, with how much was kept."""
    first = wechat.reply(wechat.text(OPENID, "化工厂排污" * 2000))
    assert "最多2000字" in first and "只保留了前2000字" in first
    second = wechat.reply(wechat.text(OPENID, "补充：" + "夜里十点以后最严重" * 10))
    assert "已补充" in second and "只保留了前0字" in second  # the draft is full: nothing of it was kept
    ack = wechat.reply(wechat.text(OPENID, "提交"))
    case = Case.objects.get()
    assert case.number in ack and len(case.description) == 2000


def test_html_in_a_report_is_kept_as_text(wechat: WeChatServer, tianjin: None) -> None:
    evil = "<script>alert(1)</script> 厂区 ]]> 排放黑烟 &amp;"
    wechat.text(OPENID, evil)
    ack = wechat.reply(wechat.text(OPENID, "提交"))
    case = Case.objects.get()
    assert case.description == evil
    assert case.number in ack
    assert xmltodict  # the reply parsed as XML above, so the CDATA was not broken


def test_get_and_post_only(client: Any) -> None:
    assert client.put("/wechat/callback/").status_code == 405


def test_every_accepted_message_remembers_its_nonce(wechat: WeChatServer, tianjin: None) -> None:
    nonce = secrets.token_hex(6)
    wechat.text(OPENID, "你好", nonce=nonce)
    assert SeenNonce.objects.filter(key__endswith=":" + nonce).count() == 1
