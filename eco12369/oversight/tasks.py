"""Background work of the oversight app (Huey)."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from eco12369.cases.models import Case

from .duplicates import duplicates_find, finder_case


@db_task(retries=2, retry_delay=30)
def duplicates_find_task(case_id: int) -> int:
    """Find and store the duplicate candidates of a new case; returns how many were stored."""
    case = finder_case(case_id)
    if case is None:
        return 0
    return len(duplicates_find(case=case))


@db_task(retries=2, retry_delay=30)
def duplicates_find_many_task(case_ids: list[int]) -> int:
    """``duplicates_find_task`` for the cases created in one transaction (a bulk import): one queued task
    per ``hooks.FINDER_BATCH`` cases instead of one each. Each find replaces its case's candidates, so a
    retry of the whole task is harmless. Returns how many candidates were stored."""
    stored = 0
    for case in (
        Case.objects.filter(pk__in=case_ids).select_related("fingerprint").order_by("received_at", "id")
    ):
        stored += len(duplicates_find(case=case))
    return stored
