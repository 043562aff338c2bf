"""The hook from case intake to the duplicate finder.

``cases.services.case_create`` is the one door every channel comes through, and it belongs to the cases
app; rather than editing it, this app listens to ``post_save`` of ``Case`` with ``created=True``:

1. the case's ``CaseFingerprint`` (normalised party, grid cell: two indexed keys, no tokenising) is written
   at once, inside the creating transaction, so a report arriving a second later already finds it;
2. on commit, the Huey task ``duplicates_find_task`` is enqueued; it scores the candidates and stores
   ``DuplicateCandidate`` rows. The WeChat callback's 5-second budget is not spent on it, and a rolled
   back intake enqueues nothing.

Cases written without ``save()`` (``bulk_create``: fixtures, imports) get no fingerprint; the management
command ``duplicates_backfill`` writes the missing ones.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from eco12369.cases.models import Case

from .duplicates import fingerprint_write


@receiver(post_save, sender=Case, dispatch_uid="oversight_case_created")
def case_created(sender: type[Case], instance: Case, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if not created or raw:
        return
    fingerprint_write(case=instance, new=True)
    case_id = instance.pk

    def enqueue() -> None:
        from .tasks import duplicates_find_task

        duplicates_find_task(case_id)

    transaction.on_commit(enqueue, robust=True)  # a queue outage must not fail the intake that committed
