"""Reads that may go to a PostgreSQL replica (docs/scale.md).

The statistics and oversight aggregates (monthly figures, district assessment, staff performance) scan
months of cases and never need the last second's writes; everything else reads and writes the primary, so
a user always sees what they just did. With ``DATABASE_REPLICA_URL`` set, settings add the ``replica``
database and this router sends the reads made inside :func:`replica_reads` there; without it (the demo,
one machine) the context changes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import connections

REPLICA = "replica"

_reading_replica: ContextVar[bool] = ContextVar("eco_reading_replica", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextlib.contextmanager
def replica_reads() -> Iterator[None]:
    """Send the ORM reads of this block to the replica, unless a transaction on the primary is open
    (its own uncommitted rows must stay visible to it)."""
    token = _reading_replica.set(not connections["default"].in_atomic_block)
    try:
        yield
    finally:
        _reading_replica.reset(token)


class ReplicaRouter:
    """Database router: reads inside :func:`replica_reads` go to the replica, all else to the primary."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if _reading_replica.get() and replica_configured():
            return REPLICA
        return None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        return db != REPLICA  # a streaming replica is migrated through its primary
