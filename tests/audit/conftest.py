"""Helpers of the audit tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from eco12369.audit.protection import SQLITE_DROP, SQLITE_TRIGGERS


@contextmanager
def triggers_off() -> Iterator[None]:
    """Tamper as the database's owner would: switch the append-only triggers off for a while."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL session_replication_role = replica")  # a superuser's way round triggers
        else:
            for sql in SQLITE_DROP:
                cur.execute(sql)
    yield
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL session_replication_role = DEFAULT")
        else:
            for sql in SQLITE_TRIGGERS:
                cur.execute(sql)
