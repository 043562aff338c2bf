"""Art. 17 in the WeChat tables: the callback records the sender by the blind index of their openid only
(the record itself, an event's de-duplication key and the raw XML), the conversation and the outbox keep
it encrypted, and the look-ups go through the blind index: a re-delivered event is still recognised."""

from __future__ import annotations

from typing import Any

import pytest
import xmltodict
from django.contrib import admin
from django.db import connection

from eco12369.cases.models import Case
from eco12369.crypto import PREFIXES, blind_index
from eco12369.notifications.models import OutboxMessage
from eco12369.notifications.services import outbox_write
from eco12369.portal.models import Submission
from eco12369.wechat.inbound import sender_removed
from eco12369.wechat.models import Conversation, InboundMessage
from eco12369.wechat.selectors import conversation_of, outbox_waiting_for

from .conftest import WeChatServer

pytestmark = pytest.mark.django_db
OPENID = "oRest-Zq7Lk2Wp9Xv4Tn8Bh3Md6Fj"


def rows(table: str, columns: str = "*") -> list[tuple[Any, ...]]:
    """What the database holds, read past the ORM (the table and columns are this file's constants)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} ORDER BY id")
        return list(cursor.fetchall())


@pytest.mark.parametrize("wechat", ["safe", "compat", "plain"], indirect=True)
def test_the_callback_keeps_no_openid_in_clear(wechat: WeChatServer, tianjin: None) -> None:
    assert "欢迎关注" in wechat.reply(wechat.event(OPENID, "subscribe"))
    assert "已记录" in wechat.reply(wechat.text(OPENID, "化工厂夜里排黑水，河道发臭。"))
    assert "和平区" in wechat.reply(wechat.location(OPENID, 39.1172, 117.2150, "和平区南京路"))
    ack = wechat.reply(wechat.text(OPENID, "提交"))
    assert Case.objects.get().number in ack
    for table in ("wechat_inboundmessage", "wechat_conversation", "wechat_outboxmessage", "wechat_seennonce"):
        stored = rows(table)
        assert stored, table
        assert OPENID not in repr(stored), table
    digest = blind_index(OPENID)
    recorded = rows("wechat_inboundmessage", "dedupe_key, openid_digest, raw, msg_type")
    assert len(recorded) == 4
    assert {r[1] for r in recorded} == {digest}
    event_key = recorded[0][0]
    assert event_key.startswith(f"evt:{digest}:") and event_key.endswith(":subscribe")
    for _key, _digest, raw, msg_type in recorded:  # the XML as WeChat sent it, but for the sender
        fields = xmltodict.parse(raw)["xml"]
        assert fields["MsgType"] == msg_type and fields["ToUserName"] == "gh_test_account"
        assert not fields.get("FromUserName")
    [(stored_openid, stored_digest)] = rows("wechat_conversation", "openid, openid_digest")
    assert stored_openid.startswith(PREFIXES) and stored_digest == digest
    conv = conversation_of(openid=OPENID)
    assert conv is not None and conv.openid == OPENID and conv.last_inbound_at is not None


def test_a_re_delivered_event_is_recognised_by_its_blind_index_key(
    wechat: WeChatServer, tianjin: None
) -> None:
    xml = wechat.xml(OPENID, "event", Event="subscribe")
    assert "欢迎关注" in wechat.reply(wechat.push(xml))
    assert wechat.push(xml).content == b"success"  # same sender, time and event: the same key
    assert InboundMessage.objects.count() == 1
    # Another reporter subscribing in the same second is another event.
    other = xml.replace(OPENID, "oRest-someone-else-000000000")
    assert "欢迎关注" in wechat.reply(wechat.push(other))
    assert InboundMessage.objects.count() == 2
    assert Conversation.objects.count() == 2


def test_sender_removed_empties_from_user_name_however_written() -> None:
    for xml in (
        f"<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName></xml>",
        f"<xml><FromUserName>{OPENID}</FromUserName><Content>我的号是{OPENID}</Content></xml>",
        f"<xml>\n  <FromUserName>\n    <![CDATA[{OPENID}]]>\n  </FromUserName>\n</xml>",
    ):
        cleaned = sender_removed(xml, OPENID)
        assert OPENID not in cleaned
        assert "<FromUserName><![CDATA[]]></FromUserName>" in cleaned
        assert xmltodict.parse(cleaned)["xml"]["FromUserName"] is None


def test_outbox_rows_are_encrypted_and_found_by_the_blind_index(tianjin: None) -> None:
    message = outbox_write(case=None, openid=OPENID, template="status", text="进度通知")
    outbox_write(case=None, openid="oRest-another-reporter-00000", template="status", text="别人的通知")
    [(stored_openid, stored_digest)] = rows("wechat_outboxmessage", "openid, openid_digest")[:1]
    assert stored_openid.startswith(PREFIXES) and OPENID not in stored_openid
    assert stored_digest == blind_index(OPENID)
    assert OutboxMessage.objects.get(pk=message.pk).openid == OPENID  # what delivery sends to
    OutboxMessage.objects.update(status=OutboxMessage.Status.WAITING)
    assert list(outbox_waiting_for(openid=OPENID)) == [message]
    assert list(outbox_waiting_for(openid="")) == []


def test_no_admin_page_and_no_str_shows_the_openid(tianjin: None) -> None:
    conv = Conversation.objects.create(openid=OPENID)
    message = outbox_write(case=None, openid=OPENID, template="status", text="进度通知")
    submission = Submission.objects.create(token="t" * 32, openid=OPENID)
    for obj in (conv, message, submission):
        assert OPENID[:6] not in str(obj), obj
    # Not in the admin at all: registering one of them needs a masked display first.
    for model in (Conversation, OutboxMessage, InboundMessage, Submission):
        assert not admin.site.is_registered(model), model


def every_table_row() -> list[tuple[str, tuple[Any, ...]]]:
    """Every row of every table of the database, as stored (read past the ORM)."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            found += [(table, row) for row in cursor.fetchall()]
    return found


def test_later_messages_find_the_conversation_by_its_index_and_leave_the_stored_openid_as_written(
    wechat: WeChatServer, tianjin: None
) -> None:
    """The conversation is found by the blind index of the sender's openid, and its stored openid is the
    ciphertext written at the first contact: a message neither rewrites it nor needs it in clear (the
    request has the openid; encrypting again would store another ciphertext, as each encryption is
    randomised). Nowhere in the database is the openid kept in clear."""
    assert "举报须知" in wechat.reply(
        wechat.text(OPENID, "帮助")
    )  # the first message creates the conversation
    [(written, digest)] = rows("wechat_conversation", "openid, openid_digest")
    assert written.startswith(PREFIXES) and digest == blind_index(OPENID)

    assert "已记录" in wechat.reply(wechat.text(OPENID, "化工厂夜里排黑水。"))
    assert "欢迎关注" in wechat.reply(wechat.event(OPENID, "subscribe"))
    assert rows("wechat_conversation", "openid, openid_digest") == [(written, digest)]
    conv = conversation_of(openid=OPENID)
    assert conv is not None and conv.draft_text == "化工厂夜里排黑水。" and conv.openid == OPENID
    stored = every_table_row()
    holding = {table for table, _row in stored}  # every table with rows, not the WeChat ones alone
    assert {"wechat_conversation", "wechat_inboundmessage", "orgs_region"} <= holding
    assert [(table, row) for table, row in stored if OPENID in repr(row)] == []
