"""Reads that go to a PostgreSQL streaming replica (docs/scale.md, issue 16).

With ``DATABASE_REPLICA_URL`` set, settings add the ``replica`` database (``scripts/replica`` makes one on
this machine) and :class:`ReplicaRouter` decides, for each ORM read:

- **reports, dashboards, search and exports** read from the replica: the views named in
  :data:`REPLICA_VIEWS` (the middleware marks their requests), and any code inside :func:`replica_reads`
  (the monthly figures, the district assessment, the staff performance);
- **everything else** reads and writes the primary, and so do the sessions, the users, the two-factor
  devices, the login-failure records and the audit trail, whatever view reads them;
- **a read after a write** stays on the primary: once a request (or a ``replica_reads`` block) has written
  anything, or while a transaction is open on the primary, its reads go to the primary, so a user always
  sees what they just did;
- **a replica that is down or behind** is not used: before the first replica read of a request (at most
  every ``ECO_REPLICA_CHECK_SECONDS``, default 2) the router asks the replica how far its replay is behind;
  unreachable, or behind by more than ``ECO_REPLICA_MAX_LAG`` seconds (default 10), the reads go to the
  primary until the next check. The application never fails because of the replica.

Without a replica (the demo, one machine) nothing changes.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"

# Views whose reads go to the replica (``app:name``): reports, dashboards, search and exports.
REPLICA_VIEWS = frozenset(
    {
        "workbench:home",  # the dashboard (issue 15)
        "workbench:search",  # the search page and its Excel export (?format=xlsx)
        "stats:monthly_list",
        "stats:report",
        "stats:export_excel",
        "stats:export_pdf",
        "oversight:assessment",
        "oversight:assessment_export",
        "oversight:performance",
        "oversight:repeats",
    }
)
# Read from the primary whatever view reads them: who is signed in, and the security records.
PRIMARY_APPS = frozenset({"sessions", "auth", "otp_totp", "otp_static", "axes", "audit", "admin"})

log = logging.getLogger(__name__)


@dataclass
class _Reading:
    replica: bool = False  # this request / block may read the replica
    wrote: bool = False  # and has written something: read the primary from now on


_reading: ContextVar[_Reading | None] = ContextVar("eco_replica_reading", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@dataclass
class _Health:
    checked_at: float = -1e9
    usable: bool = True  # the verdict before the first check: a first refusal is logged
    reason: str = ""


_health = _Health()


def replica_lag() -> tuple[float | None, str]:
    """(seconds the replica's replay is behind, 0 when it has replayed all it received; why not), with
    None when it cannot be used at all (down, or not a standby)."""
    try:
        with connections[REPLICA].cursor() as cur:
            cur.execute(
                "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
                "THEN 0 ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END, "
                "pg_is_wal_replay_paused()"
            )
            recovering, lag, paused = cur.fetchone()
    except DatabaseError as exc:
        with contextlib.suppress(DatabaseError):
            connections[REPLICA].close()
        return None, f"unreachable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    if not recovering:
        return None, "not a standby (promoted?)"
    if paused:  # replay stopped: it falls behind with every write on the primary
        return float("inf"), "replay paused"
    return float(lag or 0), ""


def replica_usable() -> bool:
    """Whether reads may go to the replica now: configured, answering, not too far behind (checked at most
    every ``ECO_REPLICA_CHECK_SECONDS``; a change of verdict is logged)."""
    if not replica_configured():
        return False
    now = time.monotonic()
    if now - _health.checked_at < float(getattr(settings, "ECO_REPLICA_CHECK_SECONDS", 2)):
        return _health.usable
    lag, why = replica_lag()
    max_lag = float(getattr(settings, "ECO_REPLICA_MAX_LAG", 10))
    usable = lag is not None and lag <= max_lag
    reason = "" if usable else (why or f"behind by {lag:.1f}s")
    if usable != _health.usable:
        if usable:
            log.info("replica in use again")
        else:
            log.warning("replica not used, reading the primary: %s", reason)
    _health.checked_at, _health.usable, _health.reason = now, usable, reason
    return usable


def replica_recheck() -> None:
    """Forget the last health check (tests, and after the replica was repaired)."""
    _health.checked_at = -1e9


@contextlib.contextmanager
def replica_reads() -> Iterator[None]:
    """Send the ORM reads of this block to the replica, unless a transaction on the primary is open (its
    own uncommitted rows must stay visible to it) or the block (or its request) has written."""
    outer = _reading.get()
    state = _Reading(
        replica=not connections["default"].in_atomic_block and not (outer is not None and outer.wrote)
    )
    token = _reading.set(state)
    try:
        with _watching_writes(state):
            yield
    finally:
        _reading.reset(token)
        if outer is not None and state.wrote:
            outer.wrote = True


WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "TRUNCATE")


@contextlib.contextmanager
def _watching_writes(state: _Reading) -> Iterator[None]:
    """Mark ``state.wrote`` at the first statement that writes on the primary (any way: ORM, raw SQL,
    ``SELECT … FOR UPDATE``)."""

    def watch(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        head = sql.lstrip()[:10].upper()
        if head.startswith(WRITES) or (head.startswith(("SELECT", "WITH")) and " FOR UPDATE" in sql.upper()):
            state.wrote = True
        return execute(sql, params, many, context)

    if not replica_configured():
        yield
        return
    with connections["default"].execute_wrapper(watch):
        yield


class ReplicaMiddleware:
    """Marks the requests of :data:`REPLICA_VIEWS` as reading the replica, and watches them for writes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_configured():
            return self.get_response(request)
        state = _Reading()
        token = _reading.set(state)
        try:
            with _watching_writes(state):
                return self.get_response(request)
        finally:
            _reading.reset(token)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> None:
        state = _reading.get()
        match = request.resolver_match
        if state is not None and match is not None and match.view_name in REPLICA_VIEWS:
            state.replica = True


class ReplicaRouter:
    """Database router: see the module's docstring."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        state = _reading.get()
        if state is None or not state.replica or state.wrote or not replica_configured():
            return None
        if model._meta.app_label in PRIMARY_APPS or model._meta.label == settings.AUTH_USER_MODEL:
            return None
        if connections["default"].in_atomic_block:
            return None
        return REPLICA if replica_usable() else None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        state = _reading.get()
        if state is not None:
            state.wrote = True
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        return db != REPLICA  # a streaming replica is migrated through its primary
