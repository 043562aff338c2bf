"""Background work of the oversight app (Huey)."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from eco12369.cases.models import Case

from .duplicates import duplicates_find


@db_task(retries=2, retry_delay=30)
def duplicates_find_task(case_id: int) -> int:
    """Find and store the duplicate candidates of a new case; returns how many were stored."""
    case = Case.objects.filter(pk=case_id).select_related("fingerprint").first()
    if case is None:
        return 0
    return len(duplicates_find(case=case))
