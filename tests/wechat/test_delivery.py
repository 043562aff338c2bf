"""Outbound messages: channel choice (48-hour window, 5 per window, subscription notices, waiting), retries
with back-off, the sweep, claims, and the rule that only approved text or fixed templates are sent."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any
from xml.etree import ElementTree

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from wechatpy import parse_message

from eco12369.cases.models import Reply
from eco12369.cases.services import case_answer
from eco12369.notifications.models import DeliveryAttempt, OutboxMessage
from eco12369.notifications.services import outbox_mark_shown_on_h5, outbox_write
from eco12369.wechat import delivery
from eco12369.wechat.callback import Envelope, reply_body
from eco12369.wechat.models import Conversation
from eco12369.wechat.simulator import Simulator

from .conftest import WeChatServer, sqlite_in_memory

pytestmark = pytest.mark.django_db
OPENID = "oDeliver0001"


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _conv(openid: str = OPENID, hours_ago: float = 1, consent: bool = False) -> Conversation:
    return Conversation.objects.create(
        openid=openid, last_inbound_at=timezone.now() - dt.timedelta(hours=hours_ago), notify_consent=consent
    )


def _write(
    run_on_commit: Any, text: str = "您的举报已受理。", openid: str = OPENID, **kw: Any
) -> OutboxMessage:
    with run_on_commit():
        msg = outbox_write(case=kw.pop("case", None), openid=openid, template="accepted", text=text, **kw)
    msg.refresh_from_db()
    return msg


def test_within_48_hours_a_customer_service_message(wechat_simulator: Simulator, run_on_commit: Any) -> None:
    _conv(hours_ago=47)
    msg = _write(run_on_commit)
    assert msg.status == "sent" and msg.channel == "custom"
    assert "48小时内" in msg.channel_reason
    [received] = wechat_simulator.received(OPENID)
    assert received.kind == "custom" and received.text == "您的举报已受理。"
    attempt = DeliveryAttempt.objects.get(message=msg)
    assert attempt.ok and attempt.channel == "custom"


def test_after_48_hours_a_subscription_notice_if_the_reporter_accepted_them(
    wechat_simulator: Simulator, run_on_commit: Any, make_case: Any, settings: Any
) -> None:
    _conv(hours_ago=49, consent=True)
    case = make_case(reporter_openid=OPENID)
    msg = _write(run_on_commit, case=case)
    assert msg.status == "sent" and msg.channel == "subscribe"
    assert "超过48小时" in msg.channel_reason
    [received] = wechat_simulator.received(OPENID)
    assert received.kind == "subscribe"
    assert received.payload["template_id"] == settings.WECHAT["SUBSCRIBE_TEMPLATE_ID"]
    assert received.payload["page"].endswith("/portal/mine/")
    assert received.payload["data"]["character_string1"]["value"] == case.number


def test_no_channel_the_message_waits_with_the_reason_until_the_reporter_writes(
    wechat_simulator: Simulator, run_on_commit: Any, client: Any, settings: Any, tianjin: None
) -> None:
    _conv(hours_ago=72, consent=False)
    msg = _write(run_on_commit)
    assert msg.status == "waiting"
    assert "超过48小时" in msg.channel_reason and "未订阅" in msg.channel_reason
    assert wechat_simulator.received() == []
    # The reporter writes again: the window reopens and the waiting message goes out.
    with run_on_commit():
        WeChatServer(client, settings.WECHAT).text(OPENID, "你好")
    msg.refresh_from_db()
    assert msg.status == "sent" and msg.channel == "custom"
    assert [r.text for r in wechat_simulator.received(OPENID)] == ["您的举报已受理。"]


def test_a_reporter_who_never_chatted_waits_and_the_h5_page_counts_as_delivery(
    wechat_simulator: Simulator, run_on_commit: Any
) -> None:
    msg = _write(run_on_commit, openid="oOnlyH5")
    assert msg.status == "waiting" and "未在公众号对话中来信" in msg.channel_reason
    assert outbox_mark_shown_on_h5(openid="oOnlyH5") == 1
    msg.refresh_from_db()
    assert msg.status == "sent" and msg.channel == "h5"


def test_at_most_five_customer_service_messages_per_window(
    wechat_simulator: Simulator, run_on_commit: Any
) -> None:
    _conv(hours_ago=1, consent=True)
    msgs = [_write(run_on_commit, text=f"通知{i}") for i in range(7)]
    assert [m.channel for m in msgs] == ["custom"] * 5 + ["subscribe"] * 2
    assert "已达5条上限" in msgs[5].channel_reason
    assert [r.kind for r in wechat_simulator.received(OPENID)] == ["custom"] * 5 + ["subscribe"] * 2


def test_wechat_refusing_the_window_falls_back_to_the_subscription_notice(
    wechat_simulator: Simulator, run_on_commit: Any
) -> None:
    _conv(hours_ago=1, consent=True)
    wechat_simulator.state.fail_next = [45015]  # "response out of time limit"
    msg = _write(run_on_commit)
    assert msg.status == "sent" and msg.channel == "subscribe"
    attempts = list(DeliveryAttempt.objects.filter(message=msg).values_list("channel", "ok", "errcode"))
    assert attempts == [("custom", False, 45015), ("subscribe", True, None)]


def test_a_failure_is_retried_with_back_off_and_every_attempt_recorded(
    wechat_simulator: Simulator, run_on_commit: Any, settings: Any
) -> None:
    _conv()
    wechat_simulator.state.fail_next = [-1, -1]  # "system busy", twice
    msg = _write(run_on_commit)
    assert msg.status == "pending" and msg.attempts == 1
    base = settings.WECHAT["DELIVERY_RETRY_SECONDS"]
    assert msg.next_attempt_at is not None
    first_wait = (msg.next_attempt_at - timezone.now()).total_seconds()
    assert base - 5 < first_wait <= base
    assert delivery.outbox_sweep()["enqueued"] == 0  # not due yet
    with time_machine.travel(msg.next_attempt_at + dt.timedelta(seconds=1)):
        delivery.outbox_sweep()
        msg.refresh_from_db()
        assert msg.status == "pending" and msg.attempts == 2
        assert msg.next_attempt_at is not None
        second_wait = (msg.next_attempt_at - timezone.now()).total_seconds()
        assert 2 * base - 5 < second_wait <= 2 * base  # exponential
    with time_machine.travel(msg.next_attempt_at + dt.timedelta(seconds=1)):
        delivery.outbox_sweep()
    msg.refresh_from_db()
    assert msg.status == "sent" and msg.attempts == 3
    assert list(DeliveryAttempt.objects.filter(message=msg).values_list("ok", "errcode")) == [
        (False, -1),
        (False, -1),
        (True, None),
    ]
    assert len(wechat_simulator.received(OPENID)) == 1


def test_after_the_last_attempt_the_row_is_failed(run_on_commit: Any, settings: Any) -> None:
    settings.WECHAT = {**settings.WECHAT, "DELIVERY_MAX_ATTEMPTS": 2}
    _conv()
    msg = _write(run_on_commit)  # WeChat is unreachable in this test
    assert msg.status == "pending" and "ConnectionError" in msg.last_error
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2)):
        delivery.outbox_sweep()
    msg.refresh_from_db()
    assert msg.status == "failed" and msg.attempts == 2
    assert msg.channel == "custom"  # where it failed: staff see the channel, not "—"
    assert DeliveryAttempt.objects.filter(message=msg, ok=False).count() == 2


def test_a_row_is_claimed_once(wechat_simulator: Simulator) -> None:
    _conv()
    msg = outbox_write(case=None, openid=OPENID, template="accepted", text="x")  # not committed: not enqueued
    _token, claimed = delivery.outbox_claim(ids=[msg.pk])
    assert claimed == [msg.pk]
    assert delivery.outbox_claim(ids=[msg.pk])[1] == []
    assert delivery.outbox_deliver(message_id=msg.pk) == "skipped"
    assert wechat_simulator.received() == []


def test_the_sweep_takes_back_rows_of_a_dead_worker_after_the_lease(
    wechat_simulator: Simulator, settings: Any
) -> None:
    _conv()
    msg = outbox_write(case=None, openid=OPENID, template="accepted", text="补发")
    delivery.outbox_claim(ids=[msg.pk])  # a worker claims the row... and dies
    assert delivery.outbox_sweep()["reclaimed"] == 0  # its lease is still running
    lease = settings.WECHAT["DELIVERY_LEASE_SECONDS"]
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=lease + 1)):
        assert delivery.outbox_sweep()["reclaimed"] == 1
    msg.refresh_from_db()
    assert msg.status == "sent"
    assert [r.text for r in wechat_simulator.received(OPENID)] == ["补发"]
    assert DeliveryAttempt.objects.filter(message=msg, ok=False, error__contains="发送进程中断").count() == 1


def test_the_passive_acknowledgement_is_never_sent_again(
    wechat_simulator: Simulator, client: Any, settings: Any, tianjin: None, run_on_commit: Any
) -> None:
    w = WeChatServer(client, settings.WECHAT)
    w.text(OPENID, "工厂排黑烟。")
    with run_on_commit():
        ack = w.reply(w.text(OPENID, "提交"))
    assert ack
    delivery.outbox_sweep()
    assert wechat_simulator.received() == []
    assert OutboxMessage.objects.get().channel == "passive"


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_deliver_a_row_once(wechat_simulator: Simulator) -> None:
    if sqlite_in_memory():
        pytest.skip(
            "in-memory SQLite cannot hold concurrent writers; test_worker_kill covers SQLite across processes"
        )
    _conv()
    ids = [outbox_write(case=None, openid=OPENID, template="accepted", text=f"m{i}").pk for i in range(4)]
    # (autocommit: on_commit ran at once and delivered them) — put them back to pending and race 4 workers.
    OutboxMessage.objects.filter(pk__in=ids).update(status="pending", channel="", sent_at=None)
    wechat_simulator.state.received.clear()
    barrier = threading.Barrier(4)

    def work() -> None:
        try:
            barrier.wait(timeout=10)
            delivery.outbox_deliver_due(limit=10)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(r.text for r in wechat_simulator.received(OPENID)) == ["m0", "m1", "m2", "m3"]


# -------------------------------------------------------------------------- only approved text (Art. 16)
def test_only_approved_replies_and_known_templates_reach_the_outbox(make_case: Any, make_user: Any) -> None:
    case = make_case()
    case_answer(case=case, actor=make_user("operator"), text="草稿答复")
    draft = Reply.objects.get(case=case)
    assert draft.status == "submitted"
    with pytest.raises(ValueError, match="approved"):
        outbox_write(case=case, template="answered", text="草稿答复", reply=draft)
    with pytest.raises(ValueError, match="template"):
        outbox_write(case=case, template="free_text", text="操作员随手写的话")
    with pytest.raises(ValueError, match="recipient"):
        outbox_write(case=None, template="accepted", text="x")


def test_an_explicit_empty_recipient_is_refused_not_replaced_by_the_reporter(make_case: Any) -> None:
    """Someone without WeChat (a hotline caller following the case) has an empty openid: the message is
    refused, never sent to the case's reporter instead; leaving ``openid`` out still means the reporter."""
    case = make_case(reporter_openid="oTHE-REPORTER")
    before = OutboxMessage.objects.count()
    with pytest.raises(ValueError, match="recipient"):
        outbox_write(case=case, openid="", template="status", text="给关注人的通知")
    assert OutboxMessage.objects.count() == before
    assert outbox_write(case=case, template="status", text="进度通知").openid == "oTHE-REPORTER"


def test_a_long_text_is_delivered_cut_not_failed(
    wechat_simulator: Simulator, run_on_commit: Any, client: Any, settings: Any, tianjin: None, make_user: Any
) -> None:
    """WeChat refuses text content over 2048 bytes (45002): the outbox and the passive reply cut it on a
    character boundary and point to the H5 page; the full text stays in the outbox for that page."""
    from wechatpy.exceptions import WeChatClientException

    from eco12369.cases.models import Case
    from eco12369.cases.services import case_approve
    from eco12369.wechat.client import api_client

    long_text = "经现场核查，该企业废水处理设施运行正常。" * 100  # 2000 characters (TEXT_MAX), 6000 bytes
    with pytest.raises(WeChatClientException) as refused:  # the simulator refuses it as WeChat does
        api_client().message.send_text(OPENID, long_text)
    assert refused.value.errcode == 45002

    wechat = WeChatServer(client, settings.WECHAT)
    wechat.text(OPENID, "工厂排黑水。")
    wechat.location(OPENID, 39.1172, 117.2150, "和平区某路")
    wechat.text(OPENID, "提交")
    case = Case.objects.get()
    operator, reviewer = make_user("operator"), make_user("reviewer")
    case_answer(case=case, actor=operator, text=long_text)
    with run_on_commit():
        case_approve(case=Case.objects.get(pk=case.pk), actor=reviewer)
    msg = OutboxMessage.objects.get(case=case, template="answered")
    assert msg.status == "sent" and msg.channel == "custom"
    assert long_text in msg.text  # the H5 page shows it whole
    [received] = [r for r in wechat_simulator.received(OPENID) if r.kind == "custom"]
    assert received.text.endswith("…（全文请在“我的举报”页面查看）")
    assert len(received.text.encode("utf-8")) <= 2048
    assert received.text.startswith(msg.text[:100])

    status = wechat.reply(wechat.text(OPENID, f"查询 {case.number}"))  # repeats the reply: cut too
    assert status.endswith("…（全文请在“我的举报”页面查看）") and case.number in status
    assert len(status.encode("utf-8")) <= 2048


def test_a_passive_reply_is_well_formed_xml_whatever_the_text_holds() -> None:
    """A reply whose text holds characters XML 1.0 forbids (stored before intake cleaned them) or "]]>" still
    renders as XML a client can parse."""
    xml = (
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[查询]]></Content><MsgId>1</MsgId></xml>"
    )
    envelope = Envelope(
        mode="plain",
        timestamp="1700000000",
        nonce="n",
        xml=xml,
        fields={},
        message=parse_message(xml),
        crypto=None,
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    body = reply_body(envelope, "地址：南开区\x0b鞍山西道\x1b ]]> 结束")
    content = ElementTree.fromstring(body).findtext("Content")
    assert content is not None and "鞍山西道" in content and "\x0b" not in content and "\x1b" not in content
