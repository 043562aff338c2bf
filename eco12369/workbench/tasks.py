"""Scheduled alerts (Huey): the due-soon, overdue and supervision scan, every ten minutes."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from .alerts import alerts_scan


@db_periodic_task(crontab(minute="*/10"))
@lock_task("workbench-alerts-scan", ttl=3600)
def alerts_scan_periodic() -> int:
    """Alert the people holding each case once per case and kind (the unique key makes reruns harmless)."""
    return alerts_scan()
