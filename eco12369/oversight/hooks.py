"""Case intake → the duplicate finder, registered in ``OversightConfig.ready()`` as a ``cases.hooks``
``on_case_created`` hook, which ``cases.services.case_create`` (the one door every channel comes through)
calls explicitly inside its transaction:

1. the case's ``CaseFingerprint`` (normalised party, grid cell: two indexed keys, no tokenising) is written
   at once, inside the creating transaction, so a report arriving a second later already finds it;
2. on commit, the Huey task ``duplicates_find_task`` is enqueued; it scores the candidates and stores
   ``DuplicateCandidate`` rows. The WeChat callback's 5-second budget is not spent on it, and a rolled
   back intake enqueues nothing.

The cases of a bulk intake (``cases.services.cases_create_bulk``, inside ``cases.hooks.bulk_intake``) pool
both (``cases.hooks.bulk_work``): their fingerprints and bigrams are written when the intake's last case
is made, a thousand rows per INSERT (``duplicates.fingerprints_create``: the same rows as case by case),
and one ``on_commit`` queues ``duplicates_find_many_task`` per ``FINDER_BATCH`` of them (queueing a task
per case cost more than creating the case, about 5 ms each with Huey's SQLite storage).

Cases written another way (a bulk import) must call ``cases.hooks.case_created_hooks_run`` for each case,
or write the fingerprints themselves; the management command ``duplicates_backfill`` writes any missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from eco12369.cases.hooks import BulkWork, bulk_work
from eco12369.cases.models import Case

from .duplicates import fingerprint_write, fingerprints_create
from .tasks import duplicates_find_many_task, duplicates_find_task

FINDER_BATCH = 200  # cases per queued finder task of a bulk intake


def case_created(case: Case) -> None:
    bulk = bulk_work(_BulkFingerprints)
    if bulk is not None:
        bulk.cases.append(case)
        return
    fingerprint_write(case=case, new=True)
    case_id = case.pk
    # A queue outage must not fail the intake that committed.
    transaction.on_commit(lambda: duplicates_find_task(case_id), robust=True)


@dataclass
class _FinderQueue:
    """The ``on_commit`` callback of a bulk intake: its cases queued for the finder, ``FINDER_BATCH`` per
    task. A case of a savepoint rolled back later stays in the queue; the finder skips a case that does
    not exist."""

    ids: list[int]

    def __call__(self) -> None:
        if len(self.ids) == 1:
            duplicates_find_task(self.ids[0])
            return
        for start in range(0, len(self.ids), FINDER_BATCH):
            duplicates_find_many_task(self.ids[start : start + FINDER_BATCH])


class _BulkFingerprints(BulkWork):
    """The cases of a bulk intake: their fingerprints written and the finder queued once, at its end."""

    def __init__(self) -> None:
        self.cases: list[Case] = []

    def flush(self) -> None:
        fingerprints_create(self.cases)
        # A queue outage must not fail the intake that committed; a rollback drops the callback.
        transaction.on_commit(_FinderQueue([case.pk for case in self.cases]), robust=True)
