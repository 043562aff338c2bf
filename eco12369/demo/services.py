"""Demo data for Tianjin (``manage.py load_demo``): reference data, demo staff and cases with histories.

Public API: ``demo_load``, ``demo_reset``, ``demo_logins``, ``logins_table``, ``DEMO_PASSWORD``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import ProtectedError, RestrictedError

from eco12369.cases.models import Case, CaseEvent, CaseNumberSequence
from eco12369.errors import Refused
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.tianjin import tianjin_load
from eco12369.oversight.models import SpotCheck

from .generator import DemoSummary, demo_cases_create
from .oversight import demo_oversight
from .reports import demo_monthly_reports
from .staff import (
    DEMO_PASSWORD,
    DemoLogin,
    demo_logins,
    demo_staff_ensure,
    demo_staff_exists,
    demo_usernames,
    logins_table,
)

__all__ = [
    "DEMO_PASSWORD",
    "DemoLoadResult",
    "DemoLogin",
    "DemoResetRefused",
    "demo_load",
    "demo_logins",
    "demo_reset",
    "logins_table",
]


class DemoResetRefused(Refused):
    """The database holds work that is not demo data; ``message`` says why (Chinese)."""


@dataclass
class DemoLoadResult:
    created: bool  # False: the demo was already loaded and nothing was written
    summary: DemoSummary | None = None


def demo_load(
    *, cases: int, seed: int, reset: bool = False, progress: Callable[[int, int], None] | None = None
) -> DemoLoadResult:
    """Load Tianjin's reference data, the demo staff and ``cases`` demo cases, in one transaction.

    Without ``reset`` nothing but the (idempotent) reference data is written when the demo staff already
    exist. With ``reset`` every case is deleted first (``demo_reset``) and the demo staff re-synced."""
    with transaction.atomic():
        tianjin_load()
        if reset:
            demo_reset()
        elif demo_staff_exists():
            return DemoLoadResult(created=False)
        demo_staff_ensure(seed=seed)
        summary = demo_cases_create(count=cases, seed=seed, progress=progress)
        if cases:
            demo_monthly_reports()
            demo_oversight()
    return DemoLoadResult(created=True, summary=summary)


def demo_reset() -> None:
    """Delete every case with what hangs on it (timeline, replies, outbox, spot-check samples). Refuses
    when someone other than the demo staff has worked on a case: that database is not a demo.

    The demo accounts are kept (``demo_load`` re-syncs them): the append-only audit trail refers to them."""
    demo = demo_usernames()
    foreign = CaseEvent.objects.filter(actor__isnull=False).exclude(actor__username__in=demo)
    if foreign.exists():
        raise DemoResetRefused("数据库中有非演示账号办理过的举报件，不是演示数据，已拒绝清除。")
    try:
        with transaction.atomic():
            OutboxMessage.objects.filter(case__isnull=False).delete()
            SpotCheck.objects.filter(items__isnull=False).distinct().delete()
            Case.objects.filter(duplicate_of__isnull=False).update(duplicate_of=None)
            Case.objects.all().delete()
            CaseNumberSequence.objects.all().delete()
    except (ProtectedError, RestrictedError) as exc:
        raise DemoResetRefused(f"演示数据被其他记录引用，无法清除：{exc}") from exc
