"""Delivering outbox messages to reporters (DESIGN §9, issue #3 item 4).

The outbox table is the source of truth; Huey only moves it along:

* ``notifications.services.outbox_write`` wakes this channel (``tasks.outbox_wake``: the Huey task
  ``deliver_outbox(id)``) when its transaction commits;
* a worker *claims* the row (``pending`` → ``sending``, with a claim token and time) with one conditional
  UPDATE, under ``SELECT … FOR UPDATE SKIP LOCKED`` where the database has it (PostgreSQL). Two workers
  never both claim a row, on SQLite or PostgreSQL;
* it picks the channel: a customer-service message within 48 hours of the reporter's last message (at most
  5 in that window), else a subscription notification if the reporter accepted them, else the row *waits*
  with the reason (shown on the H5 page; released when the reporter writes again);
* every attempt is a ``DeliveryAttempt``; failures are retried with exponential back-off;
* ``outbox_sweep`` (every minute, and when a consumer starts) takes back rows whose worker died (the claim's
  lease ran out) and re-enqueues everything due, so nothing is lost.

At the network boundary the guarantee is the usual one: a worker killed *after* WeChat accepted a message
but *before* its row was marked sent would, after the lease, send it again (WeChat's API has no idempotency
key). We prefer that to losing an approved answer; the window is one HTTP round trip.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from wechatpy.exceptions import WeChatClientException

from eco12369.crypto import blind_q
from eco12369.notifications.models import DeliveryAttempt, OutboxMessage
from eco12369.notifications.services import outbox_wake

from . import texts
from .client import api_client
from .models import Conversation, SeenNonce

logger = logging.getLogger(__name__)

WINDOW = dt.timedelta(hours=48)
WINDOW_MAX_MESSAGES = 5
# WeChat error codes that mean "this channel may not carry the message now": try the next one.
CHANNEL_CLOSED_ERRORS = {
    45015: "超过48小时客服消息时限",
    45047: "客服消息条数已达上限",
    43004: "举报人未关注公众号",
    43101: "举报人拒收订阅通知",
    43107: "订阅通知未授权",
}
MAX_BACKOFF_SECONDS = 3600

Status = OutboxMessage.Status
Channel = OutboxMessage.Channel


def _conf(name: str) -> Any:
    return settings.WECHAT[name]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:100]


def _due() -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())


# ---------------------------------------------------------------------------------------------- claim
def outbox_claim(*, ids: Sequence[int] | None = None, limit: int = 100) -> tuple[str, list[int]]:
    """Claim up to ``limit`` due pending rows (or those of ``ids``) for this worker; return the claim
    token and the ids actually claimed. Exactly one concurrent claimer wins each row."""
    token = uuid.uuid4().hex
    now = timezone.now()
    with transaction.atomic():
        qs = OutboxMessage.objects.filter(_due(), status=Status.PENDING)
        if ids is not None:
            qs = qs.filter(id__in=list(ids))
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        candidates = list(qs.order_by("id").values_list("id", flat=True)[:limit])
        if not candidates:
            return token, []
        # The conditional UPDATE is the claim on every database: a row another worker claimed in the
        # meantime no longer matches ``status = pending``.
        OutboxMessage.objects.filter(_due(), id__in=candidates, status=Status.PENDING).update(
            status=Status.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1
        )
    claimed = list(
        OutboxMessage.objects.filter(claim_token=token, status=Status.SENDING)
        .order_by("id")
        .values_list("id", flat=True)
    )
    return token, claimed


def _finish(message_id: int, token: str, **fields: Any) -> bool:
    """Write the outcome, but only if this worker still owns the row (fencing against a lease takeover)."""
    fields.setdefault("claim_token", "")
    return bool(
        OutboxMessage.objects.filter(pk=message_id, claim_token=token, status=Status.SENDING).update(**fields)
    )


# ------------------------------------------------------------------------------------ channel choice
def channel_choose(message: OutboxMessage) -> tuple[list[tuple[str, str]], str]:
    """The channels that may carry ``message`` now, best first, each with the reason recorded on the row
    when it is used; and why no (further) channel is available."""
    reporter = blind_q("openid", message.openid)  # the conversation and the outbox alike
    conv = Conversation.objects.filter(reporter).first()
    if conv is not None and not conv.subscribed:
        return [], "举报人已取消关注公众号"
    now = timezone.now()
    channels: list[tuple[str, str]] = []
    closed: list[str] = []
    if conv is not None and conv.last_inbound_at and now - conv.last_inbound_at < WINDOW:
        used = OutboxMessage.objects.filter(
            reporter,
            channel=Channel.CUSTOM,
            status=Status.SENT,
            sent_at__gte=conv.last_inbound_at,
        ).count()
        if used < WINDOW_MAX_MESSAGES:
            why = f"举报人48小时内来信，发送客服消息（本时段第{used + 1}条，最多{WINDOW_MAX_MESSAGES}条）"
            channels.append((Channel.CUSTOM, why))
        else:
            closed.append(f"48小时内客服消息已达{WINDOW_MAX_MESSAGES}条上限")
    elif conv is not None and conv.last_inbound_at:
        closed.append("距举报人最近一次来信已超过48小时")
    else:
        closed.append("举报人未在公众号对话中来信")
    if conv is not None and conv.notify_consent and _conf("SUBSCRIBE_TEMPLATE_ID"):
        channels.append((Channel.SUBSCRIBE, "；".join([*closed, "举报人已订阅办理进度通知，发送订阅通知"])))
    else:
        closed.append("举报人未订阅办理进度通知")
    return channels, "；".join(closed)


# ------------------------------------------------------------------------------------------- sending
def _send_custom(message: OutboxMessage) -> None:
    api_client().message.send_text(message.openid, texts.text_fit(message.text))


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def subscribe_payload(message: OutboxMessage) -> dict[str, Any]:
    """A subscription notice carries only short fields; the full approved text is on the H5 page it opens."""
    number = message.case.number if message.case is not None else "—"
    page = _conf("SITE_URL").rstrip("/") + "/portal/mine/"
    return {
        "touser": message.openid,
        "template_id": _conf("SUBSCRIBE_TEMPLATE_ID"),
        "page": page,
        "data": {
            "character_string1": {"value": _short(number, 32)},
            "thing2": {"value": _short(str(message.get_template_display()), 20)},
            "time3": {"value": timezone.localtime(message.created_at).strftime("%Y-%m-%d %H:%M")},
            "thing4": {"value": "点击查看详情"},
        },
    }


def _send_subscribe(message: OutboxMessage) -> None:
    api_client().post("message/subscribe/bizsend", data=subscribe_payload(message))


SENDERS: dict[str, Callable[[OutboxMessage], None]] = {
    Channel.CUSTOM: _send_custom,
    Channel.SUBSCRIBE: _send_subscribe,
}


def _backoff(attempts: int) -> dt.timedelta:
    base = int(_conf("DELIVERY_RETRY_SECONDS"))
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def _deliver_claimed(message_id: int, token: str) -> str:
    message = OutboxMessage.objects.select_related("case").get(pk=message_id)
    channels, closed = channel_choose(message)
    worker = worker_name()
    errors: list[str] = []
    for channel, reason in channels:
        started = time.monotonic()
        try:
            SENDERS[channel](message)
        except WeChatClientException as exc:
            code = int(exc.errcode) if exc.errcode is not None else None
            DeliveryAttempt.objects.create(
                message=message,
                channel=channel,
                ok=False,
                errcode=code,
                error=f"{code}: {exc.errmsg}"[:1000],
                worker=worker,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            if code in CHANNEL_CLOSED_ERRORS:
                errors.append(CHANNEL_CLOSED_ERRORS[code])
                continue  # this channel is closed for now: try the next
            return _retry(message, token, f"微信接口错误 {code}：{exc.errmsg}", channel)
        except Exception as exc:  # network errors, timeouts, anything: record and retry later
            DeliveryAttempt.objects.create(
                message=message,
                channel=channel,
                ok=False,
                error=f"{exc.__class__.__name__}: {exc}"[:1000],
                worker=worker,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            return _retry(message, token, f"发送失败：{exc.__class__.__name__}", channel)
        now = timezone.now()
        DeliveryAttempt.objects.create(
            message=message, at=now, channel=channel, ok=True, worker=worker,
            duration_ms=int((time.monotonic() - started) * 1000),
        )  # fmt: skip
        _finish(
            message_id,
            token,
            status=Status.SENT,
            channel=channel,
            channel_reason=reason[:200],
            sent_at=now,
            last_error="",
            next_attempt_at=None,
        )
        return Status.SENT
    why = "；".join([r for r in [closed, *errors] if r])
    wait_reason = f"{why}；待举报人再次来信或打开H5页面时显示"[:200]
    DeliveryAttempt.objects.create(message=message, channel="", ok=False, error=wait_reason, worker=worker)
    _finish(
        message_id, token, status=Status.WAITING, channel="", channel_reason=wait_reason, next_attempt_at=None
    )
    return Status.WAITING


def _retry(message: OutboxMessage, token: str, error: str, channel: str) -> str:
    """The attempt on ``channel`` failed: try again later, or give up after the last attempt. The row
    keeps the channel tried, so staff see where it failed."""
    attempts = OutboxMessage.objects.filter(pk=message.pk).values_list("attempts", flat=True).first() or 1
    if attempts >= int(_conf("DELIVERY_MAX_ATTEMPTS")):
        _finish(
            message.pk,
            token,
            status=Status.FAILED,
            channel=channel,
            last_error=error[:1000],
            next_attempt_at=None,
        )
        logger.error("outbox %s failed after %s attempts: %s", message.pk, attempts, error)
        return Status.FAILED
    at = timezone.now() + _backoff(attempts)
    if _finish(
        message.pk, token, status=Status.PENDING, channel=channel, last_error=error[:1000], next_attempt_at=at
    ):
        _schedule(message.pk, at)
    return Status.PENDING


def _schedule(message_id: int, at: dt.datetime) -> None:
    try:
        outbox_wake(message_id, at)
    except Exception:  # the sweep will find the row anyway
        logger.exception("could not schedule the retry of outbox %s", message_id)


def outbox_deliver(*, message_id: int) -> str:
    """Deliver one outbox row if it is due and nobody else has it. Returns the row's new status, or
    ``"skipped"`` when it was not ours to send (already sent, claimed by another worker, not due)."""
    token, claimed = outbox_claim(ids=[message_id], limit=1)
    if not claimed:
        return "skipped"
    return _deliver_claimed(message_id, token)


def outbox_deliver_due(*, limit: int = 100) -> dict[str, int]:
    """Claim a batch of due rows and deliver them in this worker (used by the sweep and the tests)."""
    token, claimed = outbox_claim(limit=limit)
    counts: dict[str, int] = {}
    for message_id in claimed:
        result = _deliver_claimed(message_id, token)
        counts[result] = counts.get(result, 0) + 1
    return counts


# --------------------------------------------------------------------------------------------- sweep
def outbox_sweep(*, limit: int = 1000) -> dict[str, int]:
    """Take back rows whose worker died mid-send, and re-enqueue every due pending row."""
    now = timezone.now()
    lease = dt.timedelta(seconds=int(_conf("DELIVERY_LEASE_SECONDS")))
    reclaimed = 0
    stale = OutboxMessage.objects.filter(status=Status.SENDING, claimed_at__lt=now - lease).values_list(
        "id", "claim_token"
    )
    for message_id, token in list(stale[:limit]):
        with transaction.atomic():
            if OutboxMessage.objects.filter(pk=message_id, claim_token=token, status=Status.SENDING).update(
                status=Status.PENDING,
                claim_token="",
                next_attempt_at=None,
                last_error="发送进程中断，重新排队",
            ):
                DeliveryAttempt.objects.create(
                    message_id=message_id,
                    ok=False,
                    error="发送进程中断（认领超时），重新排队",
                    worker=worker_name(),
                )
                reclaimed += 1
    due = list(
        OutboxMessage.objects.filter(_due(), status=Status.PENDING)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for message_id in due:
        outbox_wake(message_id)
    purged, _ = SeenNonce.objects.filter(seen_at__lt=now - dt.timedelta(minutes=15)).delete()
    return {"reclaimed": reclaimed, "enqueued": len(due), "nonces_purged": purged}
