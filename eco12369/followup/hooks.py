"""Followers of a case, and the reporters of its duplicates (Art. 14: their duplicate notice said
“办理结果请查询编号 X”), are told when it closes: a ``cases.hooks`` ``on_case_closed`` hook (registered in
``FollowupConfig.ready()``), which ``cases.workflow.transition`` calls explicitly for every way of closing
(approve, mark duplicate), inside the closing transaction (the outbox rows commit or roll back with it)."""

from __future__ import annotations

from eco12369.cases.models import Case

from .models import Follow
from .services import duplicates_notify_closed, followers_notify_closed


def case_closed(case: Case) -> None:
    if Follow.objects.filter(case_id=case.pk).exists():
        followers_notify_closed(case=case)
    if Case.objects.filter(duplicate_of_id=case.pk).exists():
        duplicates_notify_closed(case=case)
