"""Case intake → the duplicate finder, registered in ``OversightConfig.ready()`` as a ``cases.hooks``
``on_case_created`` hook, which ``cases.services.case_create`` (the one door every channel comes through)
calls explicitly inside its transaction:

1. the case's ``CaseFingerprint`` (normalised party, grid cell: two indexed keys, no tokenising) is written
   at once, inside the creating transaction, so a report arriving a second later already finds it;
2. on commit, the Huey task ``duplicates_find_task`` is enqueued; it scores the candidates and stores
   ``DuplicateCandidate`` rows. The WeChat callback's 5-second budget is not spent on it, and a rolled
   back intake enqueues nothing.

Cases written another way (a bulk import) must call ``cases.hooks.case_created_hooks_run`` for each case,
or write the fingerprints themselves; the management command ``duplicates_backfill`` writes any missing.
"""

from __future__ import annotations

from django.db import transaction

from eco12369.cases.models import Case

from .duplicates import fingerprint_write
from .tasks import duplicates_find_task


def case_created(case: Case) -> None:
    fingerprint_write(case=case, new=True)
    case_id = case.pk
    # A queue outage must not fail the intake that committed.
    transaction.on_commit(lambda: duplicates_find_task(case_id), robust=True)
