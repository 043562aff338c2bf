"""Followers of a case, and the reporters of its duplicates (Art. 14: their duplicate notice said
“办理结果请查询编号 X”), are told when it closes: a receiver on the timeline event that closes it, so every
way of closing (approve, mark duplicate) is covered without touching the cases app. Runs inside the
closing transaction (the outbox rows commit or roll back with it)."""

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
    from eco12369.cases.models import Case

    from .models import Follow
    from .services import duplicates_notify_closed, followers_notify_closed

    if Follow.objects.filter(case_id=instance.case_id).exists():
        followers_notify_closed(case=instance.case)
    if Case.objects.filter(duplicate_of_id=instance.case_id).exists():
        duplicates_notify_closed(case=instance.case)
