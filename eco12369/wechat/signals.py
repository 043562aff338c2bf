"""Reporters of duplicates are told when the case their report was merged into closes (Art. 14): their
duplicate notice said “办理结果请查询编号 X”. A receiver on the timeline event that closes a case, so every way
of closing is covered without touching the workflow; it runs inside the closing transaction (the outbox rows
commit or roll back with it)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from eco12369.cases.models import Case, CaseEvent, State


@receiver(post_save, sender=CaseEvent, dispatch_uid="wechat_merged_case_closed")
def merged_case_closed(
    sender: type[CaseEvent], instance: CaseEvent, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if not created or raw or instance.to_state != State.CLOSED or instance.from_state == State.CLOSED:
        return
    if Case.objects.filter(duplicate_of_id=instance.case_id).exists():
        from .services import duplicates_notify_closed

        duplicates_notify_closed(case=instance.case)
