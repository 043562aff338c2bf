"""What the platform does with each verified message from a reporter (issue #3 item 2): the entry point,
de-duplication and the conversation lock. The handlers per kind of message are ``handlers``; the draft
report ``drafts``; photo fetching (Huey task bodies) ``media``; the status texts ``status``.

Decision: the callback processes a message *synchronously, in its own request*, and answers with a passive
reply. The work is local (a few rows; ``case_create`` is one short transaction) and takes milliseconds,
well inside WeChat's 5 seconds; the one slow, remote step, fetching photos from WeChat (``media/get``),
runs in a Huey task as soon as an image arrives. Processing in order, in the request, keeps a reporter's
messages in the order WeChat delivers them (a ``提交`` never overtakes the photo before it), and passive
replies do not use up the 5 customer-service messages allowed in 48 hours, which later notices need.

The acknowledgement written by ``case_create`` goes out as the passive reply and its outbox row is marked
sent in the same transaction, so it is never sent twice. If the request ran long (over
``PASSIVE_BUDGET_SECONDS``), the row stays pending and the outbox delivers it instead.

De-duplication: inserting ``InboundMessage`` (unique ``dedupe_key``) is the lock. A second delivery of the
same MsgId, even concurrent, fails that insert and creates nothing. If it arrives later than WeChat's
retry interval (WeChat retries only when it did not get our answer in time), it gets the same passive
reply again, which is what WeChat shows the reporter once; an earlier (concurrent) duplicate gets the
empty answer ``success``.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from eco12369.crypto import blind_index
from eco12369.db import insert_if_absent, update_columns
from eco12369.notifications.services import outbox_mark_passive_acknowledgement, outbox_release_waiting

from . import texts
from .callback import CallbackError, Envelope
from .drafts import MAX_DRAFT_TEXT
from .handlers import HANDLERS
from .models import Conversation, InboundMessage, SeenNonce

PASSIVE_BUDGET_SECONDS = 4.0
WECHAT_RETRY_SECONDS = 4.5

USER_MESSAGE_TYPES = {"text", "image", "location", "voice", "video", "shortvideo"}
UNSUPPORTED_USER_TYPES = {"link", "file", "music", "news"}
# What opens the 48-hour customer-service window (5 messages; DESIGN §9): only a message the reporter sends.
# Per WeChat's 客服消息 rules a menu CLICK, subscribing or scanning a QR code allow 3 messages within 1
# minute (the passive reply covers that), and a VIEW link, a LOCATION report or a subscription-notice
# answer open nothing, so none of them moves ``last_inbound_at``.
WINDOW_OPENING_KINDS = USER_MESSAGE_TYPES
KNOWN_EVENTS = {"subscribe", "unsubscribe", "click", "view", "scan", "location", "subscribe_msg_popup_event"}


def message_kind(fields: dict[str, Any]) -> str | None:
    """``text`` / ``image`` / ``location`` / ``event:<name>`` for what we handle; None otherwise."""
    msg_type = str(fields.get("MsgType", "")).lower()
    if msg_type in USER_MESSAGE_TYPES:
        return msg_type
    if msg_type == "event":
        event = str(fields.get("Event", "")).lower()
        return f"event:{event}" if event in KNOWN_EVENTS else None
    return None


def dedupe_key(fields: dict[str, Any], openid_digest: str) -> str:
    """MsgId for messages; for events, which have none, the sender (the blind index of FromUserName, never
    the openid itself) + CreateTime + the event's name."""
    msg_id = fields.get("MsgId")
    if msg_id:
        return f"msg:{msg_id}"[:250]
    return f"evt:{openid_digest}:{fields['CreateTime']}:{str(fields.get('Event', '')).lower()}"[:250]


_FROM_USER = re.compile(r"<FromUserName\b[^>]*?(?:/>|>.*?</FromUserName>)", re.DOTALL)


def sender_removed(xml: str, openid: str) -> str:
    """The pushed XML as the callback records it: ``FromUserName`` emptied, and the openid nowhere else
    either (the row's ``openid_digest`` says who sent it)."""
    xml = _FROM_USER.sub("<FromUserName><![CDATA[]]></FromUserName>", xml)
    return xml.replace(openid, "") if openid else xml


def inbound_receive(*, envelope: Envelope, started: float | None = None) -> str:
    """Record and handle one verified message; return the passive reply text ('' for none).

    Raises ``CallbackError`` (a replayed nonce) with nothing written."""
    started = time.monotonic() if started is None else started
    fields = envelope.fields
    kind = message_kind(fields)
    if kind is None:
        # Links, files…: answered politely, only the nonce recorded. Unknown events: the same.
        insert_if_absent(SeenNonce(key=envelope.nonce_key))
        return texts.UNSUPPORTED if str(fields.get("MsgType", "")).lower() != "event" else ""
    openid = str(fields["FromUserName"])
    # The request's one HMAC: the record, an event's key, the conversation and the waiting messages are
    # all found by it (the openid is stored encrypted or not at all).
    digest = blind_index(openid)
    key = dedupe_key(fields, digest)
    with transaction.atomic():
        # Each insert is the lock against its replay: one statement, skipped when the key exists.
        if not insert_if_absent(SeenNonce(key=envelope.nonce_key)):
            # WeChat's own retry may be the very same request, nonce included: a message already recorded
            # is answered as any retry is (nothing written). A new message under a used nonce is refused.
            if InboundMessage.objects.filter(dedupe_key=key).exists():
                return _duplicate_reply(key)
            raise CallbackError(403, "重复的请求（nonce 已使用） / replayed request (nonce already used)")
        inbound = InboundMessage(
            dedupe_key=key,
            openid_digest=digest,
            msg_type=str(fields["MsgType"]).lower(),
            event=str(fields.get("Event", ""))[:60],
            msg_id=str(fields.get("MsgId", ""))[:64],
            content=str(fields.get("Content", ""))[:MAX_DRAFT_TEXT],
            wechat_created_at=envelope.created_at,
            raw=sender_removed(envelope.xml, openid)[:20000],
        )
        if not insert_if_absent(inbound):
            return _duplicate_reply(key)
        conv = _conversation_locked(openid, digest)
        handler = HANDLERS[kind]
        reply, case = handler(conv, inbound, fields)
        if kind in WINDOW_OPENING_KINDS:
            conv.last_inbound_at = timezone.now()
        if kind in WINDOW_OPENING_KINDS or kind == "event:subscribe":
            # A channel may be open now (a reporter who follows again may get subscription notices).
            outbox_release_waiting(openid_digest=digest)
        update_columns(conv, CONVERSATION_STATE)  # not the openid: neither encrypted nor indexed again
        if case is not None:
            inbound.case = case
            ack = None
            if time.monotonic() - started < PASSIVE_BUDGET_SECONDS:
                ack = outbox_mark_passive_acknowledgement(case_id=case.pk)
            if ack is not None:
                reply = ack
            else:
                # Too late for a passive reply WeChat would still accept: the outbox delivers it.
                inbound.status = InboundMessage.Status.DEFERRED
                reply = ""
        inbound.reply_text = reply
        update_columns(inbound, ["case", "status", "reply_text"])
    return reply


def _duplicate_reply(key: str) -> str:
    original = InboundMessage.objects.filter(dedupe_key=key).first()
    if original is None or not original.reply_text:
        return ""
    if timezone.now() - original.received_at >= dt.timedelta(seconds=WECHAT_RETRY_SECONDS):
        return original.reply_text
    return ""


# What the handlers change of a conversation (all but its reporter).
CONVERSATION_STATE = tuple(
    f.name
    for f in Conversation._meta.concrete_fields
    if not f.primary_key and f.name not in ("openid", "openid_digest")
)


def _conversation_sql(connection: BaseDatabaseWrapper) -> str:
    """``SELECT … FOR UPDATE`` of one conversation by its digest, every column but the openid (its stored
    openid is not read back, nor decrypted: it is the sender's, which the request has in clear). Written
    once from the model's metadata: compiling the ORM's query cost more CPU than the rest of a message."""
    meta, qn = Conversation._meta, connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in meta.concrete_fields if f.name != "openid")
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    digest = qn(meta.get_field("openid_digest").column)  # type: ignore[union-attr]
    return f"SELECT {columns} FROM {qn(meta.db_table)} WHERE {digest} = %s{lock}"  # noqa: S608


def _conversation_locked(openid: str, digest: str) -> Conversation:
    """The reporter's conversation, locked, found by ``digest`` (``blind_index(openid)``)."""
    alias = router.db_for_write(Conversation)
    sql = _conversation_sql(connections[alias])
    found = list(Conversation.objects.raw(sql, [digest], using=alias))
    if not found:  # a first message (or two at once: one insert is skipped, both then lock the row)
        insert_if_absent(Conversation(openid=openid))  # unique on openid_digest
        found = list(Conversation.objects.raw(sql, [digest], using=alias))
    (conv,) = found
    conv.openid = openid
    return conv
