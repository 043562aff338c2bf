"""Scheduled alerts (Huey): the due-soon, overdue and supervision scan every ten minutes; the daily e-mail
digest at 08:30 Beijing time."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from .alerts import alerts_scan, digest_send


@db_periodic_task(crontab(minute="*/10"))
@lock_task("workbench-alerts-scan", ttl=3600)
def alerts_scan_periodic() -> int:
    """Alert the people holding each case once per case and kind (the unique key makes reruns harmless)."""
    return alerts_scan()


# Huey's periodic clock is UTC: 00:30 UTC is 08:30 in Asia/Shanghai, before the working day starts.
@db_periodic_task(crontab(hour="0", minute="30"))
@lock_task("workbench-digest", ttl=3600)
def digest_daily() -> int:
    """Each person's daily e-mail digest of unread notifications (``manage.py send_digest`` sends it now)."""
    return digest_send()
