"""Shared fixtures. Test data is made through the real services (DESIGN §10)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.test.testcases import LiveServerThread

from eco12369.cases import selectors
from eco12369.cases.models import Case
from eco12369.cases.services import Intake, case_create
from eco12369.orgs.models import Agency, Region, User
from eco12369.orgs.services import staff_create
from eco12369.orgs.tianjin import tianjin_load
from tests.constants import PASSWORD

pytest_plugins = ["tests.browser", "tests.wechat_fixtures"]

_counter = itertools.count(1)


class _ReleasedOnClose:
    """A WSGI response that gives the server's lock back once it has been sent (the server always calls
    ``close``, also when the client went away)."""

    def __init__(self, result: Iterable[bytes], lock: threading.Lock) -> None:
        self._result, self._lock = result, lock

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._result)

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            self._lock.release()


class OneRequestAtATimeServer(ThreadedWSGIServer):
    """The live server for an in-memory SQLite test database: its request threads share the test's one
    connection (pytest-django hands it over), and two requests at once (a page and the fetch it starts)
    interleave their savepoints on it: "no such savepoint", a session save that fails, a 400. Connections
    stay threaded (a browser's idle keep-alive sockets block nothing); the application runs for one
    request at a time, from its call until its response has been sent."""

    def set_app(self, application: Any) -> None:
        lock = self.app_lock = threading.Lock()

        def one_at_a_time(environ: dict[str, Any], start_response: Any) -> _ReleasedOnClose:
            lock.acquire()
            try:
                return _ReleasedOnClose(application(environ, start_response), lock)
            except BaseException:
                lock.release()
                raise

        super().set_app(one_at_a_time)


_SQLITE = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if _SQLITE:
    LiveServerThread.server_class = OneRequestAtATimeServer  # type: ignore[attr-defined]

_held_over_flush: list[threading.Lock] = []


@pytest.fixture(autouse=True)
def _live_server_still_while_flushed(request: pytest.FixtureRequest) -> Iterator[None]:
    """A live-server test on SQLite ends with the test database flushed from this thread, on the connection
    the server's request threads share. A request the browser sent before its page closed (a favicon, the
    last subresource) may still be running then: the flush fails ("couldn't be flushed"). The server's
    application lock is taken at the end of the test, so the flush waits for that request and no request
    runs during it; the next test gives it back before it starts."""
    while _held_over_flush:
        _held_over_flush.pop().release()
    if not _SQLITE or "live_server" not in request.fixturenames:
        yield
        return
    server = request.getfixturevalue("live_server")  # after pytest-django's database: torn down before it
    yield
    lock = server.thread.httpd.app_lock
    if lock.acquire(timeout=30):
        _held_over_flush.append(lock)


_truncate = PostgresOperations.sql_flush
_superuser: dict[str, bool] = {}


def _delete_flush(
    self: PostgresOperations, style: Any, tables: list[str], *, reset_sequences: bool = False, **kw: Any
) -> list[str]:
    """How a transactional test (``live_server``, ``transactional_db``) empties the PostgreSQL test database
    after itself: ``DELETE`` from each table, with the constraint and row triggers off for the flush's
    transaction (``session_replication_role``, a superuser's setting, as the CI's ``postgres`` is),
    instead of Django's one ``TRUNCATE`` of every table. TRUNCATE makes new files for each of the ~500
    tables and indexes: 2–3 s a test, where these tables hold a few rows. Anything else (sequences to
    reset, not a superuser) is Django's TRUNCATE."""
    alias = self.connection.alias
    if alias not in _superuser:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
        _superuser[alias] = bool(row and row[0])
    if reset_sequences or not tables or not _superuser[alias]:
        return _truncate(self, style, tables, reset_sequences=reset_sequences, **kw)
    return [
        "SET LOCAL session_replication_role = replica",
        *(f"DELETE FROM {self.quote_name(table)}" for table in tables),
    ]


PostgresOperations.sql_flush = _delete_flush  # type: ignore[method-assign,assignment]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache: the cached figures of ended months (stats.cache) are keyed by
    the latest event id, which a rolled-back test database hands out again; counters kept there (Open311's
    per-client rate limit) do not carry over from one test to the next."""
    cache.clear()


@pytest.fixture
def tianjin(db: None) -> None:
    tianjin_load()


def district(name: str) -> Region:
    return Region.objects.get(name=name)


def bureau(district_name: str) -> Agency:
    return Agency.objects.get(region__name=district_name, kind=Agency.Kind.DISTRICT_BUREAU)


def city_centre() -> Agency:
    return Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)


@pytest.fixture
def unanalysed() -> Iterator[None]:
    """PostgreSQL's statistics as of a table never analysed, whatever the test database's are (other tests
    commit cases, which autovacuum may analyse): the searches that read them (``selectors.search_statistics``)
    then choose their way the same in every run. Kept by the process as the real ones are."""
    selectors.pair_statistics_forget()
    empty = selectors.SearchStatistics(pairs={}, cases=0.0)
    for alias in settings.DATABASES:
        selectors._search_stats[alias] = (time.monotonic(), empty)
    yield
    selectors.pair_statistics_forget()


@pytest.fixture
def make_user(tianjin: None) -> Callable[..., User]:
    """make_user("operator", "和平区") or make_user("reviewer", None) for the city centre.

    A handler gets the bureau's first department unless ``department`` is given."""

    def make(*roles: str, district_name: str | None = "和平区", department: Any = None, **kw: Any) -> User:
        agency = bureau(district_name) if district_name else city_centre()
        if "handler" in roles and department is None:
            department = agency.departments.order_by("id").first()
        return staff_create(
            username=kw.pop("username", f"u{next(_counter)}_{'_'.join(roles)}"),
            password=kw.pop("password", PASSWORD),
            agency=agency,
            department=department,
            roles=roles,
            **kw,
        )

    return make


@pytest.fixture
def make_case(tianjin: None) -> Callable[..., Case]:
    def make(district_name: str | None = "和平区", **kw: Any) -> Case:
        kw.setdefault("channel", "wechat_chat")
        kw.setdefault("description", "某化工厂夜间排放黑水，河道发臭。")
        kw.setdefault("category", "water")
        kw.setdefault("reporter_openid", f"openid-{next(_counter)}")
        return case_create(intake=Intake(district=district(district_name) if district_name else None, **kw))

    return make


@dataclass
class Bureau:
    """A district bureau's case staff, one of each role (``make_bureau``)."""

    district: str
    operator: User
    handler: User
    reviewer: User
    head: User

    @property
    def department(self) -> Any:
        return self.handler.department


@pytest.fixture
def make_bureau(make_user: Callable[..., User]) -> Callable[[str], Bureau]:
    def make(district: str) -> Bureau:
        return Bureau(
            district=district,
            operator=make_user("operator", district_name=district, display_name=f"{district}操作员"),
            handler=make_user("handler", district_name=district, display_name=f"{district}承办人"),
            reviewer=make_user("reviewer", district_name=district, display_name=f"{district}分管领导"),
            head=make_user("head", district_name=district, display_name=f"{district}负责人"),
        )

    return make


@pytest.fixture
def heping(make_bureau: Callable[[str], Bureau]) -> Bureau:
    return make_bureau("和平区")
