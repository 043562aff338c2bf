"""A real read replica (issue 16, docs/scale.md): a PostgreSQL streaming replica made by ``scripts/replica``
on 127.0.0.1:5433. Reports, dashboards, search and exports read from it; everything else, and any read
after a write, from the primary; a replica that is behind or down is not used and the pages keep working.

PostgreSQL only: ``ECO12369_TEST_PG=1 ./scripts/test`` starts the replica and sets ``ECO_TEST_REPLICA_PORT``
(CI); without it these tests are skipped. What is measured is which connection each query ran on. The
tests of this module take a file lock: they pause and stop the one replica, so they never overlap."""

from __future__ import annotations

import datetime as dt
import fcntl
import io
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import psycopg
import pytest
import time_machine
from django.db import connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from eco12369.cases.models import Case
from eco12369.dbrouting import REPLICA, ReplicaRouter, replica_reads, replica_recheck, replica_usable
from eco12369.orgs.models import Region, User
from eco12369.stats.figures import Month, monthly_figures
from eco12369.stats.models import MonthlyReport
from eco12369.stats.services import monthly_report_generate
from eco12369.workbench.saved_views import view_save

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Overriding setting DATABASES"),
]
TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
PORT = os.environ.get("ECO_TEST_REPLICA_PORT", "")


def _admin(port: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host="127.0.0.1",
        port=int(port),
        user="postgres",
        dbname="postgres",
        autocommit=True,
        connect_timeout=3,
    )


def caught_up(timeout: float = 30) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_current_wal_lsn()")
        (target,) = cur.fetchone()
    deadline = time.monotonic() + timeout
    with _admin(PORT) as admin:
        while True:
            row = admin.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()
            if row and row[0]:
                return
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)


def replica_script(command: str) -> None:
    subprocess.run([str(ROOT / "scripts" / "replica"), command], check=True, capture_output=True, timeout=180)


@pytest.fixture
def replica(settings: Any) -> Iterator[BaseDatabaseWrapper]:
    if connection.vendor != "postgresql" or not PORT:
        pytest.skip(
            "a streaming replica: PostgreSQL with scripts/replica (ECO12369_TEST_PG=1 ./scripts/test)"
        )
    with Path("/tmp/eco12369-replica-test.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one test at a time pauses or stops the replica
        _admin(PORT).close()  # down: fail here, loudly (CI starts it)
        primary = connections["default"].settings_dict
        connections.settings[REPLICA] = {
            **primary,
            "HOST": "127.0.0.1",
            "PORT": PORT,
            "OPTIONS": {**primary.get("OPTIONS", {}), "connect_timeout": 2},
            "TEST": {**primary.get("TEST", {}), "MIRROR": "default"},
        }
        settings.DATABASES = {**settings.DATABASES, REPLICA: connections.settings[REPLICA]}
        settings.ECO_REPLICA_CHECK_SECONDS = 0  # ask the replica before every request: no stale verdict
        settings.ECO_REPLICA_MAX_LAG = 5
        replica_recheck()
        caught_up()  # the test database, made on the primary, has reached the replica
        # Django's test case refuses to (re)connect to a database the test did not declare, unless the
        # connection was made on the fly (its alias not among the configured ones): make it so, as the
        # server would have it. connections[REPLICA] keeps returning this wrapper; settings keep the alias.
        wrapper = connections[REPLICA]
        del connections.settings[REPLICA]
        wrapper.connect()
        try:
            yield wrapper
        finally:
            wrapper.close()
            del connections[REPLICA]
            replica_recheck()
            try:
                with _admin(PORT) as admin:
                    admin.execute("SELECT pg_wal_replay_resume()")
            except psycopg.OperationalError:
                replica_script("start")  # a test stopped it
            fcntl.flock(lock, fcntl.LOCK_UN)


def _replay(paused: bool) -> None:
    with _admin(PORT) as admin:
        admin.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")
        if paused:  # wait until it has actually stopped
            deadline = time.monotonic() + 10
            while admin.execute("SELECT pg_get_wal_replay_pause_state()").fetchone() != ("paused",):
                assert time.monotonic() < deadline
                time.sleep(0.05)


def _tables(queries: CaptureQueriesContext) -> set[str]:
    return {t for q in queries.captured_queries for t in ("cases_case", "django_session") if t in q["sql"]}


def test_without_a_replica_every_read_stays_on_the_primary(db: None) -> None:
    with replica_reads():
        assert ReplicaRouter().db_for_read(Case) is None


def test_search_reads_the_replica_and_the_session_the_primary(
    client: Any, replica: BaseDatabaseWrapper, make_user: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    operator = make_user("operator", district_name="和平区")
    case = make_case("和平区", reported_party="XX印染厂（南门那家）")
    caught_up()
    client.force_login(operator)
    with (
        CaptureQueriesContext(replica) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        page = client.get(reverse("workbench:search"), {"reported_party": "印染"})
    assert page.status_code == 200 and case.number in page.content.decode()
    assert _tables(on_replica) == {"cases_case"}
    assert _tables(on_primary) == {"django_session"}  # who is signed in: always the primary


def test_the_search_export_reads_the_replica_while_it_is_sent(
    client: Any, replica: BaseDatabaseWrapper, make_user: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    operator = make_user("operator", district_name="和平区")
    case = make_case("和平区", reported_party="XX印染厂（南门那家）")
    caught_up()
    client.force_login(operator)
    with CaptureQueriesContext(replica) as on_replica:
        response = client.get(reverse("workbench:search"), {"reported_party": "印染", "format": "xlsx"})
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200
    cells = {c.value for row in openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows() for c in row}
    assert case.number in cells
    assert any("cases_case" in q["sql"] for q in on_replica.captured_queries)


def test_the_dashboard_reads_the_replica(
    client: Any, replica: BaseDatabaseWrapper, make_user: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    operator = make_user("operator", district_name="和平区")
    make_case("和平区", reported_party="某某小区旁边的烧烤店")
    caught_up()
    client.force_login(operator)
    with CaptureQueriesContext(replica) as on_replica:
        page = client.get(reverse("workbench:home"))
    assert page.status_code == 200
    assert _tables(on_replica) == {"cases_case"}


def test_a_case_page_reads_the_primary(
    client: Any, replica: BaseDatabaseWrapper, make_user: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    operator = make_user("operator", district_name="和平区")
    case = make_case("和平区")
    caught_up()
    client.force_login(operator)
    with CaptureQueriesContext(replica) as on_replica:
        page = client.get(reverse("workbench:case", args=[case.number]))
    assert page.status_code == 200 and case.number in page.content.decode()
    assert on_replica.captured_queries == []


def test_staff_performance_reads_the_replica(
    client: Any, replica: BaseDatabaseWrapper, make_user: Callable[..., User]
) -> None:
    head = make_user("head", district_name="和平区", display_name="和平区负责人")
    caught_up()
    client.force_login(head)
    with (
        CaptureQueriesContext(replica) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        page = client.get(reverse("oversight:performance"), {"period": "2025-03"})
    assert page.status_code == 200 and "和平区负责人" in page.content.decode()
    assert any("cases_caseevent" in q["sql"] for q in on_replica.captured_queries)
    assert not any("cases_caseevent" in q["sql"] for q in on_primary.captured_queries)
    assert any("django_session" in q["sql"] for q in on_primary.captured_queries)


def test_the_monthly_report_figures_come_from_the_replica_and_the_report_is_written_to_the_primary(
    replica: BaseDatabaseWrapper, make_user: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    operator = make_user("operator", district_name="和平区")
    with time_machine.travel(dt.datetime(2025, 3, 5, 10, tzinfo=TZ), tick=False):
        make_case("和平区")
    caught_up()
    with (
        time_machine.travel(dt.datetime(2025, 4, 2, 10, tzinfo=TZ), tick=False),
        CaptureQueriesContext(replica) as on_replica,
    ):
        report = monthly_report_generate(
            actor=operator, region=Region.objects.get(name="和平区"), month=Month(2025, 3)
        )
    assert any("cases_case" in q["sql"] for q in on_replica.captured_queries)
    assert not any(
        q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE")) for q in on_replica.captured_queries
    )
    assert MonthlyReport.objects.using("default").filter(pk=report.pk).exists()
    assert report.figures["headline"]["received"] == 1


def test_inside_a_transaction_on_the_primary_reads_stay_there(
    replica: BaseDatabaseWrapper, make_case: Callable[..., Case]
) -> None:
    region = Region.objects.get(name="和平区")
    with transaction.atomic():
        case = make_case("和平区")  # not committed: only the primary's transaction sees it
        month = Month(case.received_at.year, case.received_at.month)
        with CaptureQueriesContext(replica) as on_replica:
            figures = monthly_figures(region=region, month=month)
    assert on_replica.captured_queries == []
    assert figures.headline.received == 1


def test_a_read_after_a_write_stays_on_the_primary(
    replica: BaseDatabaseWrapper, make_case: Callable[..., Case]
) -> None:
    case = make_case("和平区", reported_party="某某化工")
    caught_up()
    _replay(paused=False)
    with replica_reads():
        with CaptureQueriesContext(replica) as on_replica:
            assert Case.objects.get(pk=case.pk).reported_party == "某某化工"
        assert len(on_replica.captured_queries) >= 1  # read from the replica
        _replay(paused=True)  # from now on the replica lags behind every write
        Case.objects.filter(pk=case.pk).update(reported_party="某某化工（已更名为XX新材料）")
        with CaptureQueriesContext(replica) as on_replica:
            assert Case.objects.get(pk=case.pk).reported_party == "某某化工（已更名为XX新材料）"
        assert on_replica.captured_queries == []
    with replica.cursor() as cur:  # the replica has not seen the change: the read could only be the primary's
        cur.execute("SELECT reported_party FROM cases_case WHERE id = %s", [case.pk])
        assert cur.fetchone() == ("某某化工",)


def test_a_replica_that_is_behind_is_not_used(
    client: Any, replica: BaseDatabaseWrapper, make_user: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    operator = make_user("operator", district_name="和平区")
    caught_up()
    _replay(paused=True)
    fresh = make_case("和平区", reported_party="刚登记的XX砖厂")
    client.force_login(operator)
    with CaptureQueriesContext(replica) as on_replica:
        page = client.get(reverse("workbench:search"), {"reported_party": "砖厂"})
    assert page.status_code == 200 and fresh.number in page.content.decode()  # the primary answered
    assert "cases_case" not in _tables(on_replica)
    _replay(paused=False)
    caught_up()
    with CaptureQueriesContext(replica) as on_replica:
        page = client.get(reverse("workbench:search"), {"reported_party": "砖厂"})
    assert fresh.number in page.content.decode()
    assert any("cases_case" in q["sql"] for q in on_replica.captured_queries)  # in use again


def test_a_replica_that_is_down_is_not_used_and_the_pages_keep_working(
    client: Any, replica: BaseDatabaseWrapper, make_user: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    operator = make_user("operator", district_name="和平区")
    case = make_case("和平区", reported_party="某某电镀厂")
    client.force_login(operator)
    replica.close()
    replica_script("stop")
    try:
        started = time.monotonic()
        page = client.get(reverse("workbench:search"), {"reported_party": "电镀"})
        assert page.status_code == 200 and case.number in page.content.decode()
        assert time.monotonic() - started < 10
        assert replica_usable() is False
        head = make_user("head", district_name="和平区", display_name="和平区负责人")
        client.force_login(head)
        assert client.get(reverse("oversight:performance"), {"period": "2025-03"}).status_code == 200
    finally:
        replica_script("start")
    caught_up()
    replica_recheck()
    assert replica_usable() is True  # back in use once it answers again


def test_the_saved_views_menu_of_the_search_page_reads_the_primary(
    client: Any, replica: BaseDatabaseWrapper, make_user: Callable[..., User]
) -> None:
    """/search/ reads its cases from the replica; its 我的视图 menu from the primary, so the view a user has
    just saved is in the menu of the page the save leads to, however far behind the replica is."""
    operator = make_user("operator", district_name="和平区")
    view_save(user=operator, list_key="search", name="夜间噪声（和平区）", query="category=noise")
    caught_up()
    client.force_login(operator)
    with (
        CaptureQueriesContext(replica) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        page = client.get(reverse("workbench:search"))
    assert page.status_code == 200 and "夜间噪声（和平区）" in page.content.decode()
    assert any("cases_case" in q["sql"] for q in on_replica.captured_queries)
    assert not any("workbench_savedview" in q["sql"] for q in on_replica.captured_queries)
    assert any("workbench_savedview" in q["sql"] for q in on_primary.captured_queries)
