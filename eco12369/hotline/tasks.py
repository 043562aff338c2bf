"""Background work of the forwarded-cases import: the import itself (its progress is polled by the page)
and the daily removal of files that were previewed but never confirmed."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from .services import import_batches_purge, import_run


@db_task()
def forwarded_import_task(batch_id: int) -> None:
    import_run(batch_id=batch_id)


@db_periodic_task(crontab(minute="41", hour="3"))
@lock_task("purge-import-batches", ttl=3600)
def purge_import_batches() -> int:
    return import_batches_purge()
