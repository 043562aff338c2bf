"""Huey tasks of the WeChat side. The database is the source of truth; these only move rows along.

They return nothing: outcomes are recorded in the database (``DeliveryAttempt``), not in Huey's result
store, where unread results would pile up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from . import delivery, media


@db_task()
def deliver_outbox(message_id: int) -> None:
    delivery.outbox_deliver(message_id=message_id)


def outbox_wake(message_id: int, at: dt.datetime | None = None) -> None:
    """The outbox's waker for this channel (registered in ``WechatConfig.ready()``): the delivery task,
    now or at ``at`` (a retry)."""
    if at is None:
        deliver_outbox(message_id)
    else:
        deliver_outbox.schedule((message_id,), eta=at)


@db_periodic_task(crontab(minute="*"))
def sweep_outbox() -> None:
    """Every minute: take back rows of dead workers, re-enqueue what is due, forget old nonces."""
    delivery.outbox_sweep()


@db_task()
def sweep_outbox_now() -> None:
    delivery.outbox_sweep()


@HUEY.on_startup()
def _sweep_on_startup() -> None:
    """A restarted consumer does not wait for the next minute to pick up what its predecessor left."""
    sweep_outbox_now()


@db_task()
def fetch_draft_photo(photo_id: int) -> None:
    media.draft_photo_fetch(photo_id=photo_id)


@db_task(retries=6, retry_delay=300, context=True)
def attach_chat_photo(
    case_id: int, media_id: str, index: int, kind: str = "image", thumb_media_id: str = "", task: Any = None
) -> None:
    """A chat photo, voice message or video not fetched when its report was submitted: attached to the
    case once fetched. Retried for half an hour while WeChat cannot be reached (WeChat keeps the media 3
    days)."""
    last_try = task is not None and not task.retries
    media.case_photo_attach(
        case_id=case_id,
        media_id=media_id,
        index=index,
        last_try=last_try,
        kind=kind,
        thumb_media_id=thumb_media_id,
    )
