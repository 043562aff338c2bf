"""The search of a word newest first, slice by slice of received time (issue 16, workbench/timeslices.py),
through /search/: the pages are exactly the matches in order, forward and back, across the slices; the
count is exact when the slices read the whole list and an estimate, with its basis, when they did not;
one statement finds a page, whose later slices PostgreSQL does not run once the page is full. SQLite (the
demo) keeps its simple path: the same pages, an exact count up to the cap."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from eco12369.cases import selectors
from eco12369.cases.models import Case
from eco12369.workbench import lists, timeslices, views

from .test_keyset import walk
from .test_lists import numbers_in_order
from .test_queues import must_link

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
URL = "/search/"
# Days before NOW of the cases whose party holds 滨海化工: two in each bounded slice of a 31-day first slice
# (a month, four months, a year back) and three older.
AGES = [2, 10, 40, 100, 200, 300, 400, 800, 1200]
POSTGRESQL = "postgresql"


def _hint(response) -> str:
    match = re.search(r'<p class="queue-hint muted">(.*?)</p>', response.content.decode())
    assert match is not None
    return match.group(1)


@pytest.fixture
def month_first(monkeypatch) -> None:
    """The first slice a month whatever the statistics say; a page of four rows."""
    monkeypatch.setattr(timeslices, "SLICE_FIRST_MIN", dt.timedelta(days=31))
    monkeypatch.setattr(views, "PAGE_SIZE", 4)


@pytest.fixture
def aged(heping, hexi, make_case) -> list[Case]:
    """The cases of AGES, newest first, among others of 和平区 that do not match and 河西区's that do."""
    made = []
    for k, days in enumerate(AGES):
        with time_machine.travel(NOW - dt.timedelta(days=days), tick=False):
            made.append(
                make_case("和平区", reported_party=f"滨海化工{k}号厂", address=f"和平区福安大街{k}号")
            )
            make_case("和平区", reported_party="某建筑工地", description="夜间施工噪声")
            make_case("河西区", reported_party="滨海化工总厂")
    with time_machine.travel(NOW - dt.timedelta(days=1500), tick=False):
        made.append(make_case("和平区", reported_party="某饭店", description="古旧的铁锚巷油烟直排"))
    return made


def test_pages_across_the_slices_forward_and_back(client, heping, aged, month_first, unanalysed) -> None:
    """Four rows a page: the first page takes two rows of the month, two of the four months and looks one
    row into the year; the second page starts its slices at its cursor; the previous links lead back
    through the same pages. Only 和平区's matches, newest first."""
    expected = [c.number for c in aged[:9]]
    client.force_login(heping.operator)
    with time_machine.travel(NOW, tick=False):
        forward = walk(client, URL, {"reported_party": "滨海化工"})
        assert forward == [expected[0:4], expected[4:8], expected[8:9]]
        last = client.get(URL, {"reported_party": "滨海化工"})
        for _ in range(2):
            last = client.get(URL + must_link(last, "next"))
        back = walk(client, URL, {}, rel="prev", start=must_link(last, "prev"))
    assert back == [expected[4:8], expected[0:4]]


def test_free_text_pages_the_same_way(client, heping, aged, month_first, unanalysed) -> None:
    """?q= looks in the address too (福安大街): the same nine cases, the same pages."""
    client.force_login(heping.operator)
    with time_machine.travel(NOW, tick=False):
        pages = walk(client, URL, {"q": "福安大街"})
    expected = [c.number for c in aged[:9]]
    assert pages == [expected[0:4], expected[4:8], expected[8:9]]


def test_the_count_is_exact_when_the_slices_read_the_whole_list(
    client, heping, aged, month_first, unanalysed
) -> None:
    client.force_login(heping.operator)
    with time_machine.travel(NOW, tick=False):
        # Found only in a case of four years ago: every slice read, one match.
        old = client.get(URL, {"q": "铁锚巷"})
        # In no case: every slice read, none.
        none = client.get(URL, {"q": "不存在的词语"})
        # Matches only older than a year: the last slice fills the page, and it counted them all.
        older = client.get(URL, {"reported_party": "滨海化工", "received_to": "2025-11-01"})
    assert numbers_in_order(old) == [aged[9].number] and _hint(old).startswith("共 1 件")
    assert numbers_in_order(none) == [] and _hint(none) == "共 0 件"
    assert "没有符合条件的举报件" in none.content.decode()
    assert numbers_in_order(older) == [c.number for c in aged[6:9]] and _hint(older).startswith("共 3 件")


def test_the_count_of_a_page_the_slices_did_not_finish(client, heping, aged, month_first, unanalysed) -> None:
    """The first page filled in the year's slice (six matches counted in it): PostgreSQL says what it
    counted where; with statistics it estimates the whole list from them (below); SQLite counts."""
    client.force_login(heping.operator)
    with time_machine.travel(NOW, tick=False):
        first = client.get(URL, {"reported_party": "滨海化工"})
        second = client.get(URL + must_link(first, "next"))
    if connection.vendor == POSTGRESQL:
        assert _hint(first).startswith("6 件以上")
        # From its cursor (100 days back): 200 days in the four months' slice, 300 and 400 in the year's,
        # then 800 and 1200 older, which fills the page: at least those five.
        assert _hint(second).startswith("5 件以上")
    else:
        assert _hint(first).startswith("共 9 件") and _hint(second).startswith("共 9 件")


@pytest.fixture
def forgets_statistics() -> Iterator[None]:
    selectors.pair_statistics_forget()
    yield
    selectors.pair_statistics_forget()


def test_the_estimate_from_the_statistics(
    client, heping, aged, month_first, forgets_statistics, monkeypatch
) -> None:
    """After ANALYZE: the six matches of the year's slices, scaled from the cases received in that year
    (by the histogram of received_at, 和平区's and 河西区's alike) to those of the whole list. (滨海化工 is in
    most of these few cases: the walk for common words is kept out of the way.)"""
    if connection.vendor != POSTGRESQL:
        pytest.skip("the statistics are PostgreSQL's (CI runs this on PostgreSQL)")
    monkeypatch.setattr(lists, "TEXT_PAGE_WALK", 1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
    client.force_login(heping.operator)
    with time_machine.travel(NOW, tick=False):
        first = client.get(URL, {"reported_party": "滨海化工"})
        second = client.get(URL + must_link(first, "next"))
    hint = re.fullmatch(r"约 (\d+) 件（按最近 366 天的 6 件推算），按接收时间倒序", _hint(first))
    assert hint is not None, _hint(first)
    assert 6 < int(hint.group(1)) <= 12  # nine in all; the year holds 6 of the 28 cases received
    assert re.fullmatch(r"约 \d+ 件（估算），按接收时间倒序", _hint(second)), _hint(second)


def test_one_statement_finds_the_page_and_its_later_slices_do_not_run(
    client, heping, aged, month_first, unanalysed
) -> None:
    if connection.vendor != POSTGRESQL:
        pytest.skip("the time slices are PostgreSQL's (CI runs this on PostgreSQL)")
    client.force_login(heping.operator)
    with time_machine.travel(NOW, tick=False):
        client.get(URL, {"reported_party": "滨海化工"})  # the session, the form's choices: read once
        with CaptureQueriesContext(connection) as queries:
            client.get(URL, {"reported_party": "滨海化工"})
    sliced = [q["sql"] for q in queries.captured_queries if "UNION ALL" in q["sql"]]
    assert len(sliced) == 1 and sliced[0].count("UNION ALL") == 3  # a month, four months, a year, older
    assert "(SELECT (eco_bigrams(upper(" in sliced[0]  # the word hidden from the planner: BitmapAnd
    assert (
        f"#{heping.operator.agency.region_id}#" in sliced[0]
    )  # asked for in the district's cases (migration 0016)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sliced[0])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # The year's slice fills the page: the older one's scan never starts.
    assert "Append" in plan and "never executed" in plan, plan


@pytest.mark.parametrize("query", [{"reported_party": "滨海化工"}, {"q": "福安大街"}])
def test_query_count_is_exact(
    client, heping, aged, month_first, unanalysed, django_assert_num_queries, query
) -> None:
    """On PostgreSQL every page: one statement for the slices and one for the page's rows, wherever the
    page lies, and the slices' transaction (SAVEPOINT, SET LOCAL work_mem, RELEASE in a test): 18. SQLite counts, then tries the recent windows
    (views.RECENT_WINDOWS, each a query): the first page's month does not hold its five rows, its year
    does (16); the second page's month, year and three years do not, so every year is read (18)."""
    postgresql = connection.vendor == POSTGRESQL
    client.force_login(heping.operator)
    with time_machine.travel(NOW, tick=False):
        with django_assert_num_queries(18 if postgresql else 16):
            response = client.get(reverse("workbench:search"), query)
        with django_assert_num_queries(18):
            client.get(reverse("workbench:search") + must_link(response, "next"))
