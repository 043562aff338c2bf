"""Followers of a case are told when it closes: a receiver on the timeline event that closes it, so every
way of closing (approve, mark duplicate) is covered without touching the cases app. Runs inside the
closing transaction (the outbox row commits or rolls back with it)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from eco12369.cases.models import CaseEvent, State


@receiver(post_save, sender=CaseEvent, dispatch_uid="followup_case_closed")
def case_closed(
    sender: type[CaseEvent], instance: CaseEvent, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if not created or raw or instance.to_state != State.CLOSED or instance.from_state == State.CLOSED:
        return
    from .models import Follow
    from .services import followers_notify_closed

    if Follow.objects.filter(case_id=instance.case_id).exists():
        followers_notify_closed(case=instance.case)
