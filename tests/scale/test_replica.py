"""A read replica (docs/scale.md): the long aggregates read from it, everything else from the primary.

The replica here is a second connection to the test database, configured exactly as settings configure
``DATABASE_REPLICA_URL``; what is measured is which connection each query ran on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from eco12369.cases.models import Case
from eco12369.dbrouting import REPLICA, ReplicaRouter, replica_reads
from eco12369.orgs.models import Region, User
from eco12369.stats.figures import Month, monthly_figures
from eco12369.stats.models import MonthlyReport
from eco12369.stats.services import monthly_report_generate

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Overriding setting DATABASES"),
]
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def replica(settings: Any) -> Iterator[BaseDatabaseWrapper]:
    primary = connections["default"].settings_dict
    connections.settings[REPLICA] = {**primary, "TEST": {**primary.get("TEST", {}), "MIRROR": "default"}}
    settings.DATABASES = {**settings.DATABASES, REPLICA: connections.settings[REPLICA]}
    connection = connections[REPLICA]
    # Django's test case refuses to open a connection to a database the test did not declare (the alias
    # did not exist when it was set up): open it here, as the server would.
    connection.connect()
    try:
        yield connection
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]


def test_without_a_replica_every_read_stays_on_the_primary(db: None) -> None:
    with replica_reads():
        assert ReplicaRouter().db_for_read(Case) is None


def test_staff_performance_reads_the_replica(
    client: Any, replica: BaseDatabaseWrapper, make_user: Callable[..., User]
) -> None:
    head = make_user("head", district_name="和平区", display_name="和平区负责人")
    client.force_login(head)
    with (
        CaptureQueriesContext(replica) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        page = client.get(reverse("oversight:performance"), {"period": "2025-03"})
    assert page.status_code == 200 and "和平区负责人" in page.content.decode()
    assert any("cases_caseevent" in q["sql"] for q in on_replica.captured_queries)
    # the session, the user and the page's own lookups stay on the primary
    assert not any("cases_caseevent" in q["sql"] for q in on_primary.captured_queries)
    assert any("django_session" in q["sql"] for q in on_primary.captured_queries)


def test_the_monthly_report_figures_come_from_the_replica_and_the_report_is_written_to_the_primary(
    replica: BaseDatabaseWrapper, make_user: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    operator = make_user("operator", district_name="和平区")
    with time_machine.travel(dt.datetime(2025, 3, 5, 10, tzinfo=TZ), tick=False):
        make_case("和平区")
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
