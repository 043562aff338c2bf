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

De-duplication: the conversation's row lock serialises a reporter's messages, and ``InboundMessage``'s
unique ``dedupe_key`` (MsgId; for events, sender + CreateTime + event) is written once, last, with the reply.
A second delivery of the same message, even a concurrent one, waits for the first on the conversation's
lock; its own record's INSERT then finds the key taken and everything it did is rolled back (nothing is
created twice). If it arrives later than WeChat's retry interval (WeChat retries only when it did not get
our answer in time), it gets the same passive reply again, which is what WeChat shows the reporter once; an
earlier (concurrent) duplicate gets the empty answer ``success``. (Until issue 16 the record was inserted
first, as the lock, and updated with the reply at the end: one statement more on every message.)
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from eco12369.cases import notices
from eco12369.crypto import blind_index
from eco12369.db import from_row, insert_if_absent, prepared_cursor, update_columns_and_insert
from eco12369.notifications.services import (
    outbox_mark_passive_acknowledgement,
    outbox_passive_acknowledged,
    outbox_passive_acknowledgement_queries,
    outbox_release_waiting_sql,
    outbox_released,
)

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
    try:
        with transaction.atomic():
            # The nonce's insert is the lock against the request's replay (skipped when the key exists);
            # the conversation's lock serialises a reporter's messages: a second delivery of this message
            # (a concurrent one too) waits here until this one has committed. One statement.
            fresh, conv = _nonce_and_conversation_locked(envelope.nonce_key, openid, digest)
            if not fresh:
                # WeChat's own retry may be the very same request, nonce included: a message already
                # recorded is answered as any retry is (nothing written). A new message under a used nonce
                # is refused.
                if InboundMessage.objects.filter(dedupe_key=key).exists():
                    return _duplicate_reply(key)
                raise CallbackError(403, "重复的请求（nonce 已使用） / replayed request (nonce already used)")
            assert conv is not None
            reply, acknowledged = _handle(kind, conv, inbound, fields, started)
            inbound.reply_text = reply
            # The conversation's new state, and the record with its reply, written once, last, in one
            # statement (PostgreSQL; with the acknowledgement marked sent as this reply): the record's
            # unique ``dedupe_key`` makes a second delivery a no-op. A delivery that finds the key taken (it
            # waited on the conversation's lock for the first) rolls back everything it did.
            if not _conversation_save_and_record(kind, conv, inbound, acknowledged):
                raise _Duplicate
    except _Duplicate:
        return _duplicate_reply(key)
    return reply


class _Duplicate(Exception):
    """The message was recorded by an earlier delivery: roll this one's work back."""


def _handle(
    kind: str, conv: Conversation, inbound: InboundMessage, fields: dict[str, Any], started: float
) -> tuple[str, list[tuple[str, str, list[Any]]]]:
    """Run the handler of ``kind`` on the locked ``conv``; the passive reply (``inbound`` gets its case and
    status) and, when it is a new case's acknowledgement, the queries that mark it sent (PostgreSQL: run
    with the record, ``_conversation_save_and_record``; elsewhere marked here)."""
    reply, case = HANDLERS[kind](conv, inbound, fields)
    if kind in WINDOW_OPENING_KINDS:
        conv.last_inbound_at = timezone.now()
    if case is None:
        return reply, []
    inbound.case = case
    if time.monotonic() - started < PASSIVE_BUDGET_SECONDS:
        queries = outbox_passive_acknowledgement_queries(case_id=case.pk)
        if queries is not None:
            # The acknowledgement's text as ``case_create`` wrote it to the outbox (the row is checked to be
            # there, pending, when it is marked).
            return notices.acknowledged(case), queries
        ack = outbox_mark_passive_acknowledgement(case_id=case.pk)
        if ack is not None:
            return ack, []
    # Too late for a passive reply WeChat would still accept: the outbox delivers it.
    inbound.status = InboundMessage.Status.DEFERRED
    return "", []


def _conversation_save_and_record(
    kind: str, conv: Conversation, inbound: InboundMessage, acknowledged: list[tuple[str, str, list[Any]]]
) -> bool:
    """Save the conversation the handler changed (not its openid: neither encrypted nor indexed again) and
    insert the message's record, after marking the acknowledgement sent (``acknowledged``: its queries);
    False when the record's key was taken (nothing of it written). PostgreSQL: one statement."""
    before = list(acknowledged)
    if kind in WINDOW_OPENING_KINDS or kind == "event:subscribe":
        # A channel may be open now (a reporter who follows again may get subscription notices): the
        # waiting notices are released with the conversation's UPDATE.
        release, params = outbox_release_waiting_sql(openid_digest=conv.openid_digest)
        before.append(("b", release, params))
    returned, recorded = update_columns_and_insert(conv, CONVERSATION_STATE, before=before, new=inbound)
    if acknowledged:
        if not returned["a"]:
            # No pending acknowledgement to send as the reply (case_create writes one for every WeChat
            # reporter): nothing of this message may stay, or the reply and the outbox would disagree.
            raise RuntimeError("the new case has no pending acknowledgement to answer with")
        outbox_passive_acknowledged(returned["m"])
    outbox_released(returned.get("b", []))
    return recorded


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


# The columns the callback reads of a conversation: all but the openid (its stored openid is not read back,
# nor decrypted: it is the sender's, which the request has in clear).
_CONVERSATION_READ = tuple(f for f in Conversation._meta.concrete_fields if f.name != "openid")


def _conversation_sql(connection: BaseDatabaseWrapper) -> tuple[str, str, str]:
    """``SELECT … FOR UPDATE`` of one conversation by its digest; the ``INSERT … ON CONFLICT DO NOTHING
    RETURNING`` of a first message's; and (PostgreSQL) the request's nonce inserted with the conversation
    locked in one statement (the nonce's new row counted, then the conversation's columns, NULL when it has
    none yet). Each gives the ``_CONVERSATION_READ`` columns. Written once from the models' metadata:
    compiling the ORM's queries cost more CPU than the rest of a message."""
    meta, qn = Conversation._meta, connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in _CONVERSATION_READ)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    digest = qn(meta.get_field("openid_digest").column)  # type: ignore[union-attr]
    table = qn(meta.db_table)
    written = [f for f in meta.concrete_fields if not f.primary_key]
    insert = (
        f"INSERT INTO {table} ({', '.join(qn(f.column) for f in written)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(written))}) ON CONFLICT DO NOTHING RETURNING {columns}"
    )
    select = f"SELECT {columns} FROM {table} WHERE {digest} = %s{lock}"  # noqa: S608
    nonce_columns = ", ".join(qn(f.column) for f in _NONCE_WRITTEN)
    both = (
        f"WITH n AS (INSERT INTO {qn(SeenNonce._meta.db_table)} ({nonce_columns}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(_NONCE_WRITTEN))}) ON CONFLICT DO NOTHING RETURNING 1), "
        f"c AS MATERIALIZED ({select}) "
        f"SELECT (SELECT count(*) FROM n), c.* FROM (SELECT 1) AS one LEFT JOIN c ON true"
    )
    return select, insert, both


_CONVERSATION_SQL: dict[str, tuple[str, str, str]] = {}
_NONCE_WRITTEN = [f for f in SeenNonce._meta.concrete_fields if not f.primary_key]


def _nonce_and_conversation_locked(
    nonce_key: str, openid: str, digest: str
) -> tuple[bool, Conversation | None]:
    """Remember the request's nonce (``SeenNonce``) and lock the reporter's conversation, found by ``digest``
    (``blind_index(openid)``). False (and no conversation created) when the nonce was seen before: a replay
    or WeChat's retry of the very same request. One statement on PostgreSQL, two for a reporter's first
    message (the conversation's row inserted by it is locked by the insert); elsewhere one more.

    The nonce's insert is the lock against the request's replay; the conversation's serialises a
    reporter's messages: a second delivery of a message (a concurrent one too) waits on it until the first
    has committed."""
    alias = router.db_for_write(Conversation)
    connection = connections[alias]
    if alias not in _CONVERSATION_SQL:
        _CONVERSATION_SQL[alias] = _conversation_sql(connection)
    select, insert, both = _CONVERSATION_SQL[alias]
    nonce = SeenNonce(key=nonce_key)
    with prepared_cursor(connection) as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(both, [*_insert_values(nonce, _NONCE_WRITTEN, connection), digest])
            count, *found = cursor.fetchone()
            fresh = count == 1
            row: Any = found if found[0] is not None else None
        else:
            fresh = insert_if_absent(nonce)
            row = None
            if fresh:
                cursor.execute(select, [digest])
                row = cursor.fetchone()
        if not fresh:
            return False, None
        if row is None:  # a first message (or two at once: one insert is skipped, the other's row is locked)
            written = [f for f in Conversation._meta.concrete_fields if not f.primary_key]
            cursor.execute(insert, _insert_values(Conversation(openid=openid), written, connection))
            row = cursor.fetchone()
            if row is None:
                cursor.execute(select, [digest])
                row = cursor.fetchone()
    assert row is not None
    conv = from_row(Conversation, _CONVERSATION_READ, row, alias)
    conv.openid = openid
    return True, conv


def _insert_values(obj: Any, fields: list[Any], connection: BaseDatabaseWrapper) -> list[Any]:
    """The values ``obj.save()`` would insert for ``fields`` (defaults, ``auto_now_add``, encryption)."""
    return [f.get_db_prep_save(f.pre_save(obj, add=True), connection=connection) for f in fields]
