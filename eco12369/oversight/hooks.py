"""Case intake → the duplicate finder, registered in ``OversightConfig.ready()`` as a ``cases.hooks``
``on_case_created`` hook, which ``cases.services.case_create`` (the one door every channel comes through)
calls explicitly inside its transaction:

1. the case's ``CaseFingerprint`` (normalised party, grid cell: two indexed keys, no tokenising) is written
   at once, inside the creating transaction, so a report arriving a second later already finds it;
2. on commit, the Huey task ``duplicates_find_task`` is enqueued; it scores the candidates and stores
   ``DuplicateCandidate`` rows. The WeChat callback's 5-second budget is not spent on it, and a rolled
   back intake enqueues nothing. A single intake (every channel's) queues one task for its case; the
   cases of a bulk intake (inside ``cases.hooks.bulk_intake``) share the queueing of their transaction,
   ``duplicates_find_many_task`` per ``FINDER_BATCH`` cases (``cases.services.cases_create_bulk``: queueing a task per case cost more than creating
   the case, about 5 ms each with Huey's SQLite storage).

Cases written another way (a bulk import) must call ``cases.hooks.case_created_hooks_run`` for each case,
or write the fingerprints themselves; the management command ``duplicates_backfill`` writes any missing.
"""

from __future__ import annotations

from django.db import transaction

from eco12369.cases.hooks import in_bulk_intake
from eco12369.cases.models import Case

from .duplicates import fingerprint_write
from .tasks import duplicates_find_many_task, duplicates_find_task

FINDER_BATCH = 200  # cases per queued finder task of a bulk intake


def case_created(case: Case) -> None:
    fingerprint_write(case=case, new=True)
    if in_bulk_intake():
        _finder_queue(case.pk)
        return
    case_id = case.pk
    # A queue outage must not fail the intake that committed.
    transaction.on_commit(lambda: duplicates_find_task(case_id), robust=True)


class _FinderQueue:
    """The cases created in one transaction, queued for the finder when it commits (an ``on_commit``
    callback). A queue outage must not fail the intake that committed (``robust``)."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.flushed = False

    def __call__(self) -> None:
        self.flushed = True  # a case created after this (a callback of the commit) starts a new queue
        ids, self.ids = self.ids, []
        if len(ids) == 1:
            duplicates_find_task(ids[0])
            return
        for start in range(0, len(ids), FINDER_BATCH):
            duplicates_find_many_task(ids[start : start + FINDER_BATCH])


def _finder_queue(case_id: int) -> None:
    """Add ``case_id`` to the queue of the current transaction, registering that queue's ``on_commit`` with
    the first case. The queue belongs to the transaction while its callback is registered on the
    connection: Django drops it on rollback (then the next case starts a new queue). A case of a savepoint
    rolled back later stays in the queue; the finder skips a case that does not exist."""
    connection = transaction.get_connection()
    queue = getattr(connection, "eco_finder_queue", None)
    if (
        queue is not None
        and not queue.flushed
        and any(func is queue for _sids, func, _robust in connection.run_on_commit)
    ):
        queue.ids.append(case_id)
        return
    queue = _FinderQueue()
    queue.ids.append(case_id)
    connection.eco_finder_queue = queue  # type: ignore[attr-defined]
    transaction.on_commit(queue, robust=True)  # outside a transaction: called at once
