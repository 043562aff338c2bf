"""Database-level protection of the audit trail: the table refuses UPDATE and DELETE (migration 0002).

``AuditEntry.save()``/``delete()`` refuse changes in Python, but ``QuerySet.update()``/``delete()`` and raw
SQL go around them; the triggers do not.

- PostgreSQL (production): a ``BEFORE UPDATE OR DELETE`` row trigger raises. ``TRUNCATE`` fires no row
  trigger: Django's ``flush`` (tests, ``manage.py flush``) uses it. Give the application's database role
  no ``TRUNCATE`` privilege on ``audit_auditentry`` and keep the table's ownership with another role, so
  that the application can neither truncate the table nor disable the trigger.
- SQLite (demo): ``BEFORE UPDATE`` and ``BEFORE DELETE`` triggers ``RAISE(ABORT)``. SQLite has no
  ``TRUNCATE``: Django's ``flush`` empties tables with ``DELETE``, so the delete trigger lets rows go while
  ``eco_audit_flushing()`` is true, a function this module registers on each connection and which is true
  only inside that connection's ``execute_sql_flush`` (the SQLite equivalent of PostgreSQL's TRUNCATE).
  Outside the application (the ``sqlite3`` shell) the function does not exist and the delete fails.
  Note: Django rebuilds a SQLite table to alter a column, which drops its triggers: a migration that
  alters ``AuditEntry`` must create them again (``SQLITE_TRIGGERS``).

The hash chain and the anchors (``services.audit_anchor``) detect what a database owner still can do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

MESSAGE = "审计日志只能追加，不能修改或删除 (audit entries are append-only)"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_auditentry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
"""
PG_TRIGGER = """
CREATE TRIGGER audit_auditentry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
FOR EACH ROW EXECUTE FUNCTION audit_auditentry_append_only();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS audit_auditentry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_auditentry_append_only();
"""

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER audit_auditentry_no_update BEFORE UPDATE ON audit_auditentry
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER audit_auditentry_no_delete BEFORE DELETE ON audit_auditentry
WHEN NOT eco_audit_flushing()
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS audit_auditentry_no_update",
    "DROP TRIGGER IF EXISTS audit_auditentry_no_delete",
)

_state = threading.local()


def _flushing() -> int:
    return 1 if getattr(_state, "flushing", False) else 0


@contextmanager
def _flush_allowed() -> Iterator[None]:
    _state.flushing = True
    try:
        yield
    finally:
        _state.flushing = False


def sqlite_connected(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created``: register ``eco_audit_flushing()`` and let this connection's flush through."""
    if connection.vendor != "sqlite":
        return
    connection.connection.create_function("eco_audit_flushing", 0, _flushing)
    ops = connection.ops
    if getattr(ops, "_eco_audit_flush", False):  # a reconnection of the same wrapper
        return
    original: Callable[[list[str]], None] = ops.execute_sql_flush

    def execute_sql_flush(sql_list: list[str]) -> None:
        with _flush_allowed():
            original(sql_list)

    ops.execute_sql_flush = execute_sql_flush
    ops._eco_audit_flush = True
