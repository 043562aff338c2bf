"""Outbox writes, channel-agnostic. Delivery (the Huey task, channel choice, retries, the sweep) belongs to
the channel above: ``wechat.delivery``, which registers its waker here (``outbox_waker_set``) in
``WechatConfig.ready()``. Without a waker (a process that does not deliver) the rows wait for the sweep."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, Protocol

from django.db import connections, router, transaction
from django.utils import timezone

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record
from eco12369.crypto import blind_q
from eco12369.db import insert, prepared_cursor
from eco12369.orgs.models import User

from .models import DeliveryAttempt, OutboxMessage

logger = logging.getLogger(__name__)

# The channel's waker: called with a message id (and a time, for a retry later) to get the row delivered.
OutboxWaker = Callable[[int, "dt.datetime | None"], None]
_waker: OutboxWaker | None = None


def outbox_waker_set(waker: OutboxWaker) -> None:
    """The delivering channel registers how it is woken (one per process; the last one wins)."""
    global _waker
    _waker = waker


def outbox_wake(message_id: int, at: dt.datetime | None = None) -> None:
    """Wake the channel for one row now (or at ``at``). A lost wake-up loses nothing: the sweep finds it."""
    if _waker is None:
        logger.info("no outbox waker registered; outbox %s waits for the sweep", message_id)
        return
    _waker(message_id, at)


class CaseLike(Protocol):
    """What the outbox needs of a case (``cases.Case``; this app sits below cases and does not import it)."""

    pk: int
    reporter_openid: str


class ReplyLike(Protocol):
    """What the outbox needs of a reply (``cases.Reply``): it must be approved."""

    pk: int
    status: str


APPROVED = "approved"  # ``cases.Reply.Status.APPROVED``


def outbox_write(
    *,
    case: CaseLike | None,
    template: str,
    text: str,
    reply: ReplyLike | None = None,
    openid: str | None = None,
) -> OutboxMessage:
    """Queue a message to the case's reporter, or to ``openid``. Call inside the transaction of the change
    that causes it.

    ``openid`` None (left out): the message is for ``case``'s reporter. A string: the message is for that
    WeChat user and nobody else; an empty one (someone without WeChat, e.g. a hotline caller following the
    case) is refused, never replaced by the reporter's openid: the reporter would get a notice meant for
    someone else. Only fixed templates (``cases.notices``) and replies a reviewer approved come here
    (Art. 11, 16). Delivery is enqueued when the transaction commits; if that enqueue is lost, the sweep
    finds the row.
    """
    if openid is None:
        recipient = case.reporter_openid if case is not None else ""
        if not recipient:
            raise ValueError("outbox_write needs a recipient openid: the case has no WeChat reporter")
    else:
        recipient = openid
        if not recipient:
            raise ValueError(
                "outbox_write needs a recipient openid: an explicit empty one is never the reporter's"
            )
    if template not in OutboxMessage.Template.values:
        raise ValueError(f"unknown outbox template: {template}")
    if reply is not None and reply.status != APPROVED:
        raise ValueError("only an approved reply may reach a reporter")
    message = OutboxMessage(
        case_id=case.pk if case is not None else None,
        reply_id=reply.pk if reply is not None else None,
        openid=recipient,
        template=template,
        text=text,
    )
    insert(message)  # message.save(), one hand-written INSERT
    outbox_enqueue_on_commit(message_id=message.pk)
    return message


class _Wake:
    """An outbox row's wake-up when the transaction commits, unless the transaction sent the row itself as
    the callback's passive reply (``_passive_sent``): then no task is queued (one queue round trip fewer on
    each WeChat report; a worker would only find the row sent)."""

    def __init__(self, connection: Any, message_id: int) -> None:
        self.connection, self.message_id, self.sent = connection, message_id, False

    def __call__(self) -> None:
        wakes: dict[int, _Wake] = getattr(self.connection, "_eco_outbox_wakes", {})
        if wakes.get(self.message_id) is self:
            del wakes[self.message_id]
        if not self.sent:
            outbox_wake(self.message_id)


WAKES_KEPT = 256  # wake-ups remembered per connection (``outbox_enqueue_on_commit``)


def outbox_enqueue_on_commit(*, message_id: int) -> None:
    connection = transaction.get_connection()
    wake = _Wake(connection, message_id)
    wakes: dict[int, _Wake] | None = getattr(connection, "_eco_outbox_wakes", None)
    if wakes is None:
        wakes = connection._eco_outbox_wakes = {}  # type: ignore[attr-defined]
    elif len(wakes) >= WAKES_KEPT:
        # Entries of rolled-back transactions are never removed by their callback (it never runs): on a
        # long-lived connection they would pile up. Forgetting them all is safe: an entry of the open
        # transaction forgotten here only costs a delivery task that finds its row already sent.
        wakes.clear()
    # The latest registration of an id wins: one left by a rolled-back transaction (whose id a database
    # may hand out again) is replaced, never consulted.
    wakes[message_id] = wake
    transaction.on_commit(wake, robust=True)


def _passive_sent(connection: Any, message_id: int) -> None:
    """The open transaction sent ``message_id`` as the passive reply: its wake-up, if any, queues nothing."""
    wake = getattr(connection, "_eco_outbox_wakes", {}).get(message_id)
    if wake is not None:
        wake.sent = True


PASSIVE_REASON = "举报人来信的即时回复（被动回复）"


def outbox_mark_passive(*, message: OutboxMessage) -> None:
    """The message went out as the callback's passive reply: record it, so no worker sends it again.
    Call in the callback's transaction; a worker only ever claims ``pending`` rows."""
    now = timezone.now()
    updated = OutboxMessage.objects.filter(pk=message.pk, status=OutboxMessage.Status.PENDING).update(
        status=OutboxMessage.Status.SENT,
        channel=OutboxMessage.Channel.PASSIVE,
        channel_reason=PASSIVE_REASON,
        sent_at=now,
        attempts=1,
    )
    if updated:
        _passive_sent(transaction.get_connection(), message.pk)
        DeliveryAttempt.objects.create(
            message=message, at=now, channel=OutboxMessage.Channel.PASSIVE, ok=True
        )


def _passive_acknowledgement_sql(*, case_id: int) -> tuple[Any, str, list[Any], str, list[Any]]:
    """The statements of ``outbox_mark_passive_acknowledgement``: the connection, the UPDATE marking the
    case's pending acknowledgement sent (``RETURNING`` its id and text) and the delivery record's INSERT
    (its message's id first, then the placeholders of the rest)."""
    meta = OutboxMessage._meta
    connection = connections[router.db_for_write(OutboxMessage)]
    qn = connection.ops.quote_name
    col = {
        name: qn(meta.get_field(name).column)  # type: ignore[union-attr,arg-type]
        for name in ("status", "channel", "channel_reason", "sent_at", "attempts", "case", "template", "text")
    }
    now = timezone.now()
    pk = qn(meta.pk.column)  # type: ignore[union-attr]
    update = (
        f"UPDATE {qn(meta.db_table)} SET {col['status']} = %s, {col['channel']} = %s, "  # noqa: S608
        f"{col['channel_reason']} = %s, {col['sent_at']} = %s, {col['attempts']} = 1 "
        f"WHERE {col['case']} = %s AND {col['template']} = %s AND {col['status']} = %s "
        f"RETURNING {pk}, {col['text']}"
    )
    params = [
        str(OutboxMessage.Status.SENT),
        str(OutboxMessage.Channel.PASSIVE),
        PASSIVE_REASON,
        meta.get_field("sent_at").get_db_prep_value(now, connection=connection),  # type: ignore[union-attr]
        case_id,
        str(OutboxMessage.Template.ACKNOWLEDGED),
        str(OutboxMessage.Status.PENDING),
    ]
    attempt = DeliveryAttempt(at=now, channel=OutboxMessage.Channel.PASSIVE, ok=True)
    fields = [f for f in DeliveryAttempt._meta.concrete_fields if not f.primary_key and f.name != "message"]
    values = [f.get_db_prep_save(f.pre_save(attempt, add=True), connection=connection) for f in fields]  # type: ignore[attr-defined]
    columns = ", ".join(qn(f.column) for f in fields)
    message_column = qn(DeliveryAttempt._meta.get_field("message").column)  # type: ignore[union-attr]
    insert = f"INSERT INTO {qn(DeliveryAttempt._meta.db_table)} ({message_column}, {columns})"
    return connection, update, params, insert, values


def outbox_passive_acknowledgement_queries(*, case_id: int) -> list[tuple[str, str, list[Any]]] | None:
    """PostgreSQL: ``outbox_mark_passive_acknowledgement`` as ``WITH`` queries (name, SQL, params) for the
    callback's last statement (``db.update_columns_and_insert``): ``m`` returns the ids of the rows marked
    (one: a case has one acknowledgement), ``a`` records the delivery of the first. The caller passes the
    ids to ``outbox_passive_acknowledged``. None elsewhere: call ``outbox_mark_passive_acknowledgement``."""
    connection, update, params, insert, values = _passive_acknowledgement_sql(case_id=case_id)
    if connection.vendor != "postgresql":
        return None
    pk = connection.ops.quote_name(OutboxMessage._meta.pk.column)  # type: ignore[union-attr]
    update = update.rsplit(" RETURNING ", 1)[0] + f" RETURNING {pk}"
    placeholders = ", ".join(["%s"] * len(values))
    return [
        ("m", update, params),
        # The SQL above and the model's names; the values are parameters.
        ("a", f"{insert} SELECT {pk}, {placeholders} FROM m ORDER BY {pk} LIMIT 1 RETURNING {pk}", values),  # noqa: S608
    ]


def outbox_passive_acknowledged(ids: list[int]) -> None:
    """The rows ``outbox_passive_acknowledgement_queries`` marked: no delivery task for them on commit."""
    connection = connections[router.db_for_write(OutboxMessage)]
    for message_id in ids:
        _passive_sent(connection, message_id)


def outbox_mark_passive_acknowledgement(*, case_id: int) -> str | None:
    """The new case's acknowledgement goes out as the callback's passive reply: mark it sent (as
    ``outbox_mark_passive``), record the delivery, and return its text; None when the case has no pending
    acknowledgement. (The callback, on PostgreSQL, runs these statements in its last one:
    ``outbox_passive_acknowledgement_queries``.)"""
    connection, update, params, insert, values = _passive_acknowledgement_sql(case_id=case_id)
    placeholders = ", ".join(["%s"] * len(values))
    with prepared_cursor(connection) as cursor:
        cursor.execute(update, params)
        rows = cursor.fetchall()
        if not rows:
            return None
        for row in rows:
            _passive_sent(connection, row[0])
        message_id, text = min(rows)
        cursor.execute(f"{insert} VALUES (%s, {placeholders})", [message_id, *values])
    return str(text)


def outbox_release_waiting(*, openid_digest: str) -> int:
    """The reporter wrote again: messages that had no channel may go now (the 48-hour window reopened).
    ``openid_digest``: the reporter's blind index, which the callback computes once per request."""
    if not openid_digest:
        return 0
    sql, params = outbox_release_waiting_sql(openid_digest=openid_digest)
    with connections[router.db_for_write(OutboxMessage)].cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    return outbox_released(ids)


def outbox_released(ids: list[int]) -> int:
    """Deliver the messages ``outbox_release_waiting_sql`` released (its returned ids) when the transaction
    commits; how many."""
    for message_id in sorted(ids):
        outbox_enqueue_on_commit(message_id=message_id)
    return len(ids)


def outbox_release_waiting_sql(*, openid_digest: str) -> tuple[str, list[Any]]:
    """``outbox_release_waiting``'s statement, (SQL, params), ``RETURNING`` the released ids: the callback
    runs it with its conversation's UPDATE (``db.update_columns(before=…)``) and passes the ids to
    ``outbox_released``."""
    # One statement on every message a reporter sends (the callback's hot path), written by hand: the ORM
    # has no UPDATE … RETURNING, and compiling its SELECT and UPDATE cost more CPU than running them.
    meta = OutboxMessage._meta
    connection = connections[router.db_for_write(OutboxMessage)]
    qn = connection.ops.quote_name
    col = {name: qn(meta.get_field(name).column) for name in ("status", "next_attempt_at", "openid_digest")}  # type: ignore[union-attr,arg-type]
    sql = (
        f"UPDATE {qn(meta.db_table)} SET {col['status']} = %s, {col['next_attempt_at']} = NULL "  # noqa: S608
        f"WHERE {col['openid_digest']} = %s AND {col['status']} = %s RETURNING {qn(meta.pk.column)}"  # type: ignore[union-attr]
    )
    return sql, [str(OutboxMessage.Status.PENDING), openid_digest, str(OutboxMessage.Status.WAITING)]


def outbox_mark_shown_on_h5(*, openid: str) -> int:
    """The reporter opened the H5 page, where waiting messages are shown: they count as delivered."""
    ids = list(
        OutboxMessage.objects.filter(
            blind_q("openid", openid), status=OutboxMessage.Status.WAITING
        ).values_list("id", flat=True)
    )
    now = timezone.now()
    done = 0
    for message_id in ids:
        if OutboxMessage.objects.filter(pk=message_id, status=OutboxMessage.Status.WAITING).update(
            status=OutboxMessage.Status.SENT,
            channel=OutboxMessage.Channel.H5,
            channel_reason="举报人在H5页面查看",
            sent_at=now,
        ):
            DeliveryAttempt.objects.create(
                message_id=message_id, at=now, channel=OutboxMessage.Channel.H5, ok=True
            )
            done += 1
    return done


def outbox_retry(*, message_id: int, actor: User) -> bool:
    """Staff send a failed notice again (DESIGN §9): the row goes back to pending with a fresh round of
    attempts, the delivery task runs when the transaction commits (the sweep finds it otherwise), and the
    audit trail records who asked. False when the row is not failed (any more): nothing changes."""
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(pk=message_id, status=OutboxMessage.Status.FAILED).update(
            status=OutboxMessage.Status.PENDING,
            attempts=0,
            next_attempt_at=None,
            claim_token="",
            claimed_at=None,
        )
        if not updated:
            return False
        number = OutboxMessage.objects.filter(pk=message_id).values_list("case__number", flat=True).first()
        audit_record(
            action=AuditAction.OUTBOX_RETRY,
            actor=actor,
            object_type="outbox",
            object_id=message_id,
            detail={"case": number or ""},
        )
        outbox_enqueue_on_commit(message_id=message_id)
    return True
