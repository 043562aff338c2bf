"""Scheduled compliance work (Huey)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from .retention import retention_erase

log = logging.getLogger(__name__)


# Huey's periodic clock is UTC: 19:17 UTC is 03:17 in Asia/Shanghai, a quiet hour.
@db_periodic_task(crontab(hour="19", minute="17"))
@lock_task("retention-erase", ttl=21600)  # one run at a time however many consumers schedule it
def retention_erase_daily() -> int:
    """Every night at 03:17 Beijing time: erase the reporter data of the cases past their retention period."""
    result = retention_erase()
    if result.cases:
        log.info(
            "retention: erased the reporter data of %d cases in %d batches", result.cases, result.batches
        )
    return result.cases
