"""Retention (``compliance/retention.py``): the WeChat side. The inbound messages of a case lose the
sender's blind index and the raw XML, their text is scrubbed, and an event's de-duplication key (built
from the blind index) is replaced. Chat that never became a case is erased after
``ECO_CHAT_RETENTION_DAYS``: those inbound messages are deleted, and a draft untouched that long is thrown
away with its photos (the conversation keeps only the reporter's subscription choices)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record
from eco12369.cases.models import Case
from eco12369.compliance.retention import (
    RetentionResult,
    Scrub,
    case_eraser_register,
    chat_retention_days,
    leftover_eraser_register,
)

from .drafts import draft_discard
from .models import Conversation, InboundMessage

DRAFT_FIELDS = ["state", "draft_text", "draft_latitude", "draft_longitude", "draft_label", "draft_started_at"]


def _erase(case: Case, scrub: Scrub) -> None:
    for inbound in InboundMessage.objects.filter(case=case):
        changes: dict[str, Any] = {"openid_digest": "", "raw": "", "content": scrub(inbound.content)}
        if inbound.dedupe_key.startswith("evt:"):  # events are keyed by the sender's blind index + time
            changes["dedupe_key"] = f"erased:{inbound.pk}"
        InboundMessage.objects.filter(pk=inbound.pk).update(**changes)


def _chat_leftovers_erase(result: RetentionResult, now: dt.datetime, batch_size: int) -> None:
    """Delete inbound messages with no case older than the chat retention period, and throw away drafts
    untouched as long (``result.dry_run``: count them only). One audit entry when anything went."""
    cutoff = now - dt.timedelta(days=chat_retention_days())
    messages = InboundMessage.objects.filter(case__isnull=True, received_at__lt=cutoff)
    drafts = Conversation.objects.filter(draft_started_at__lt=cutoff)
    if result.dry_run:
        result.chat_messages, result.drafts = messages.count(), drafts.count()
        return
    while ids := list(messages.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        result.chat_messages += InboundMessage.objects.filter(pk__in=ids).delete()[0]
    for pk in drafts.values_list("pk", flat=True).iterator(chunk_size=batch_size):
        with transaction.atomic():
            conv = Conversation.objects.select_for_update().filter(pk=pk, draft_started_at__lt=cutoff).first()
            if conv is None:  # the reporter wrote meanwhile
                continue
            draft_discard(conv)
            conv.save(update_fields=DRAFT_FIELDS)
            result.drafts += 1
    if result.chat_messages or result.drafts:
        audit_record(
            action=AuditAction.RETENTION_ERASE_CHAT,
            actor_label="system",
            object_type="wechat",
            detail={
                "messages": result.chat_messages,
                "drafts": result.drafts,
                "chat_retention_days": chat_retention_days(),
            },
        )


def retention_register() -> None:
    case_eraser_register(_erase)
    leftover_eraser_register(_chat_leftovers_erase)
