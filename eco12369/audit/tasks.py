"""Scheduled audit work (Huey)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from .services import audit_verify

log = logging.getLogger(__name__)


# Huey's periodic clock is UTC: 19:47 UTC is 03:47 in Asia/Shanghai, after the retention run (03:17).
@db_periodic_task(crontab(hour="19", minute="47"))
@lock_task("audit-verify", ttl=21600)  # one run at a time however many consumers schedule it
def audit_verify_daily() -> bool:
    """Every night: verify the hash chain and its anchors; when intact, anchor the current head (count and
    last hash) in the application log and the anchor file (``services.audit_anchor``)."""
    report = audit_verify()
    if not report.ok:
        log.error(
            "audit chain verification FAILED after %d entries (entry %s): %s",
            report.checked,
            report.entry_id,
            report.problem,
        )
        return False
    return True  # audit_verify anchored the verified head
