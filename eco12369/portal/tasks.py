"""Periodic clean-up of photos kept for forms that were never submitted."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from .services import staged_photos_purge


@db_periodic_task(crontab(minute="23", hour="*/6"))
@lock_task("purge-staged-photos", ttl=3600)  # one run at a time however many consumers schedule it
def purge_staged_photos() -> int:
    return staged_photos_purge()
