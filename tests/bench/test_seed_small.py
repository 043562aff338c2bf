"""``bench/seed.py`` writes what the services would have written. A small seed (2,000 cases over ten years)
on the test database; then the rows are checked against the platform's own rules (deadlines, fingerprints,
encryption, numbering) and the workbench, the monthly report and the duplicate finder work on them."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from bench.seed import COLUMNS, Result, Table, seed
from eco12369.cases import deadlines
from eco12369.cases.models import QUERY_CODE_ALPHABET, QUERY_CODE_LENGTH, Case, CaseEvent, Reply, State
from eco12369.cases.selectors import case_by_number_and_code, cases_of_reporter
from eco12369.cases.services import Intake, case_create
from eco12369.cases.workflow import refresh_deadline_fields
from eco12369.crypto import decrypt
from eco12369.orgs.models import Region, User
from eco12369.oversight.duplicates import duplicates_find, fingerprint_values
from eco12369.oversight.models import CaseFingerprint
from eco12369.stats.figures import Month, monthly_figures
from eco12369.stats.rollups import rollups_recount, rollups_stored
from eco12369.wechat.models import Conversation

CASES = 2000

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(tianjin: None) -> Result:
    return seed(cases=CASES, seed=7, progress=None, batch=700)


def test_rows_follow_the_platforms_rules(seeded: Result, make_case: Callable[..., Case]) -> None:
    assert seeded.rows["cases.Case"] == Case.objects.count() == CASES
    assert CaseFingerprint.objects.filter(tokenized=True).count() == CASES
    assert CaseEvent.objects.count() == seeded.rows["cases.CaseEvent"] > 3 * CASES
    states = set(Case.objects.values_list("state", flat=True).distinct())
    assert State.CLOSED in states and len(states) >= 3  # recent cases are open, old ones closed
    assert Case.objects.filter(received_at__lt=seeded.end - dt.timedelta(days=9 * 365)).exists()

    rng = random.Random(1)
    ids = list(Case.objects.values_list("id", flat=True))
    for case in Case.objects.filter(id__in=rng.sample(ids, 80)).select_related("fingerprint"):
        # Deadlines as cases.deadlines computes them, due_at/warn_at as the workflow keeps them.
        assert case.confirm_due == deadlines.confirmation_deadline(case.received_at).at
        if case.accepted_at is not None:
            assert case.close_due == deadlines.closing_deadline(case.accepted_at, case.extension_days).at
        due_at, warn_at = case.due_at, case.warn_at
        refresh_deadline_fields(case)
        assert (case.due_at, case.warn_at) == (due_at, warn_at)
        # The timeline starts with the receipt and ends in the current state.
        events = list(case.events.order_by("at", "id"))
        assert events[0].action == "receive" and events[0].at == case.received_at
        assert [e for e in events if e.from_state != e.to_state][-1].to_state == case.state
        # The duplicate finder's keys are its own.
        keys = fingerprint_values(
            reported_party=case.reported_party,
            address=case.address,
            latitude=case.latitude,
            longitude=case.longitude,
        )
        fp = case.fingerprint
        assert (fp.party_key, fp.street_key, fp.geo_cell) == (
            keys["party_key"],
            keys["street_key"],
            keys["geo_cell"],
        )
        assert fp.received_at == case.received_at
        if case.state == State.CLOSED and case.outcome == "handled":
            assert case.replies.filter(kind=Reply.Kind.HANDLING, status=Reply.Status.APPROVED).exists()
        if case.outcome == "duplicate":
            assert case.duplicate_of is not None and case.duplicate_of.received_at < case.received_at

    # Reporter identity is encrypted at rest and found by its blind index.
    reported = Case.objects.exclude(reporter_openid="").order_by("id").first()
    assert reported is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporter_openid FROM cases_case WHERE id = %s", [reported.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith(("enc1:", "enc2:")) and decrypt(stored) == reported.reporter_openid
    assert reported in cases_of_reporter(openid=reported.reporter_openid)

    # Each case has a query code of its own, and the public look-up by number and code finds it.
    codes = list(Case.objects.values_list("query_code", flat=True))
    assert len(set(codes)) == CASES
    assert all(len(c) == QUERY_CODE_LENGTH and set(c) <= set(QUERY_CODE_ALPHABET) for c in codes)
    assert case_by_number_and_code(number=reported.number, code=reported.query_code.lower()) == reported

    # The dashboard's rollups (counted by SQL on PostgreSQL) hold what the cases add up to.
    stored = rollups_stored()
    assert stored == rollups_recount() and sum(stored["day"].values()) == CASES

    # Numbering continues after the seeded days: a new case today gets the next free number.
    new = make_case()
    assert Case.objects.filter(number=new.number).count() == 1


def test_workbench_report_and_duplicates_work_on_it(
    seeded: Result,
    make_user: Callable[..., User],
    django_assert_max_num_queries: Any,
) -> None:
    district = Region.objects.get(name="滨海新区")
    operator = make_user("operator", district_name="滨海新区")
    client = Client()
    client.force_login(operator)
    closed = Case.objects.filter(region=district, state=State.CLOSED, outcome="handled").last()
    assert closed is not None
    for path in ("/queues/", "/queues/closed/", "/search/?reported_party=化工", f"/cases/{closed.number}/"):
        with django_assert_max_num_queries(25):
            response = client.get(path)
        assert response.status_code == 200, path
    page = client.get(f"/cases/{closed.number}/").content.decode()
    assert "接收" in page and "审核" in page  # the seeded timeline is shown

    # The city sees more than a thousand closed cases: counted up to the cap, not over ten years.
    city = make_user("operator", district_name=None)
    client.force_login(city)
    assert Case.objects.filter(state=State.CLOSED).count() > 1000
    body = client.get("/queues/closed/").content.decode()
    assert "1000+" in body
    assert "共 200+ 件" in client.get("/search/").content.decode()  # a search is narrowed, counted to 200

    # The monthly report counts what was seeded.
    month = Month.of(seeded.end).previous()
    in_month = Case.objects.filter(received_at__gte=month.start, received_at__lt=month.end)
    city_figures = monthly_figures(region=None, month=month)
    assert city_figures.headline.received == in_month.count() > 0
    district_figures = monthly_figures(region=district, month=month)
    assert district_figures.headline.received == in_month.filter(region=district).count()
    assert (
        sum(d.headline.received for d in city_figures.districts)
        + in_month.filter(region__level=Region.Level.CITY).count()
        == in_month.count()
    )

    # A new report of a seeded matter finds the seeded case among its candidates.
    earlier = (
        Case.objects.filter(region__level=Region.Level.DISTRICT, kind="report")
        .exclude(reported_party="")
        .order_by("-received_at")
        .first()
    )
    assert earlier is not None
    case = case_create(
        intake=Intake(
            channel="wechat_h5",
            description=earlier.description,
            category=earlier.category,
            district=earlier.region,
            reported_party=earlier.reported_party,
            address=earlier.address,
            latitude=earlier.latitude,
            longitude=earlier.longitude,
            received_at=earlier.received_at + dt.timedelta(hours=5),
        )
    )
    found = duplicates_find(case=case)
    assert earlier.pk in {c.candidate_id for c in found}


def test_copy_rows_escape_what_the_text_format_must(tianjin: None) -> None:
    """On PostgreSQL a row is written as COPY text unescaped unless one of its text values holds a tab, a line
    break or a backslash: those values are read back as they were, and NULLs stay NULL."""
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    table = Table(Conversation, connection, COLUMNS["wechat.Conversation"])
    start = table.next_id()
    texts = ["普通的草稿", "制表\t符", "换行\n和回车\r", "反斜杠\\N 与 \\", "\\N"]
    moment = dt.datetime(2026, 3, 1, 8, 30, 15, 250001, tzinfo=dt.UTC)
    for k, text in enumerate(texts):
        table.add(
            start + k, f"openid{k}", f"digest{k}", "idle", True, False, None, text, "", moment.timestamp()
        )
    table.flush()
    rows = Conversation.objects.filter(pk__gte=start).order_by("pk")
    assert [r.draft_text for r in rows] == texts
    assert all(r.last_inbound_at is None and r.updated_at == moment for r in rows)


def test_rows_written_by_sql_are_those_python_writes(tianjin: None) -> None:
    """On PostgreSQL the fingerprints, look-up bigrams, the callback's records and the outbox are written by
    SQL from the copied cases (and their events and replies); they are the rows the Python path (SQLite's)
    writes for the same seed, value for value."""
    if connection.vendor != "postgresql":
        pytest.skip("the SQL path is PostgreSQL's")
    from eco12369.cases.models import CaseNumberSequence
    from eco12369.notifications.models import OutboxMessage
    from eco12369.oversight.models import CaseGram
    from eco12369.wechat.models import InboundMessage

    end = dt.datetime(2026, 3, 15, 9, 30, tzinfo=dt.UTC)
    models: list[Any] = [CaseFingerprint, CaseGram, InboundMessage, OutboxMessage]

    def dump() -> list[list[tuple[Any, ...]]]:
        return [
            sorted(tuple(getattr(r, f.attname) for f in m._meta.concrete_fields) for r in m.objects.all())
            for m in models
        ]

    def clear() -> None:
        tables = [m._meta.db_table for m in (Case, Conversation, CaseNumberSequence)]
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")  # and every table that refers to a case

    by_sql = seed(cases=600, seed=3, end=end, progress=None, batch=150)
    rows = dump()
    clear()
    by_python = seed(cases=600, seed=3, end=end, progress=None, batch=150, sql_rows=False)
    assert by_sql.first_case_id == by_python.first_case_id
    assert rows == dump()
    assert all(rows)
    assert {k: v for k, v in by_sql.rows.items() if "." in k} == {
        k: v for k, v in by_python.rows.items() if "." in k
    }
