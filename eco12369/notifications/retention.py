"""Retention (``compliance/retention.py``): the outbox's part. The messages of a case were delivered long
ago; one still waiting for a channel is dropped; the texts are scrubbed and the openid removed."""

from __future__ import annotations

from typing import Any

from eco12369.compliance.retention import Scrub, case_eraser_register, scrub_rows

from .models import OutboxMessage


def _erase(case: Any, scrub: Scrub) -> None:
    OutboxMessage.objects.filter(
        case=case, status__in=(OutboxMessage.Status.PENDING, OutboxMessage.Status.WAITING)
    ).update(status=OutboxMessage.Status.FAILED, last_error="举报人信息已按保存期限删除")
    scrub_rows(OutboxMessage.objects.filter(case=case), ("text",), scrub, openid="", openid_digest="")


def retention_register() -> None:
    case_eraser_register(_erase)
