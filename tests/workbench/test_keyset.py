"""Keyset pagination of the case lists (issue 15): /search/ and the queues page by the sort key and the id,
with next and previous links, under every sort column and filter, past any count, in a fixed number of
queries at any depth."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from eco12369.cases.models import Case
from eco12369.workbench import views
from eco12369.workbench.keyset import Key, cursor_encode
from eco12369.workbench.lists import SORTS

from .conftest import MONDAY, advance
from .test_lists import numbers_in_order
from .test_queues import link, must_link

pytestmark = pytest.mark.django_db

PARTIES = [
    "天津市鑫源化工有限公司",
    "某某建筑工地",
    "鑫原化工",
    "XX烧烤店",
    "",  # nobody named
    "某某建筑工地",  # the same party twice: ties broken by the id
    "=1+1",
    "河西区某洗车行",
    "天津市鑫源化工有限公司",
    "和平路XX饭店（油烟）",
    "",
    "某小区物业",
]
CATEGORIES = ["air", "noise", "water", "hazardous_waste", "air"]


@pytest.fixture
def many(heping, hexi, make_case):
    """Twelve 和平区 cases over three days (some received at the same moment), in every state, so that
    ``due_at`` is empty for the closed ones; and one 河西区 case that must never show."""
    made = []
    for i, party in enumerate(PARTIES):
        with time_machine.travel(MONDAY + dt.timedelta(days=i // 5, hours=i % 3), tick=False):
            case = make_case("和平区", reported_party=party, category=CATEGORIES[i % 5])
        state = ("received", "accepted", "handling", "closed")[i % 4]
        made.append(advance(case, heping, state))
    with time_machine.travel(MONDAY, tick=False):
        elsewhere = make_case("河西区", reported_party="天津市鑫源化工有限公司")
    return {"cases": made, "elsewhere": elsewhere}


def walk(client, url: str, query: dict[str, str], rel: str = "next", start: str = "") -> list[list[str]]:
    """Every page of the list, following the ``rel`` links from the one at ``url`` (or at the link
    ``start``, a query string of ``url``'s)."""
    pages = []
    response = client.get(url + start, query if not start else None)
    while True:
        pages.append(numbers_in_order(response))
        target = link(response, rel)
        if target is None:
            return pages
        response = client.get(url + target)


def flat(pages: list[list[str]]) -> list[str]:
    return [number for page in pages for number in page]


def expected(sort: str, **filters) -> list[str]:
    column = SORTS[sort.removeprefix("-")]
    key = Key.of([("-" if sort.startswith("-") else "") + column.field])
    field = key.model_field(Case)
    qs = Case.objects.filter(region__name="和平区", **filters)
    return list(qs.order_by(*key.ordering(nullable=field.null)).values_list("number", flat=True))


@pytest.mark.parametrize("sort", [*SORTS, *(f"-{s}" for s in SORTS)])
def test_every_sort_pages_forward_and_back_without_a_gap_or_a_repeat(
    client, heping, many, monkeypatch, sort
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 5)
    client.force_login(heping.operator)
    url = reverse("workbench:search")
    forward = walk(client, url, {"sort": sort})
    assert [len(p) for p in forward] == [5, 5, 2]
    assert flat(forward) == expected(sort)
    # Back from the last page by the previous links: the same pages, the other way round.
    last = client.get(url, {"sort": sort})
    for _ in range(2):
        last = client.get(url + must_link(last, "next"))
    back = [numbers_in_order(last)]
    response = last
    while (target := link(response, "prev")) is not None:
        response = client.get(url + target)
        back.append(numbers_in_order(response))
    assert back == list(reversed(forward))
    assert link(response, "first") is None  # the first page has no way further back


def test_empty_deadlines_come_last_both_ways(client, heping, many, monkeypatch) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    client.force_login(heping.operator)
    closed = {c.number for c in many["cases"] if c.state == "closed"}
    assert closed and all(c.due_at is None for c in Case.objects.filter(number__in=closed))
    for sort in ("due", "-due"):
        listed = flat(walk(client, reverse("workbench:search"), {"sort": sort}))
        assert set(listed[-len(closed) :]) == closed
        assert len(listed) == len(set(listed)) == 12


def test_pages_keep_the_filters_and_the_sort(client, heping, many, monkeypatch) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    client.force_login(heping.operator)
    url = reverse("workbench:search")
    pages = walk(client, url, {"q": "鑫", "sort": "-received"})
    assert flat(pages) == expected("-received", reported_party__contains="鑫")
    assert [len(p) for p in pages] == [2, 1]
    # A queue pages the same way, under its own order and under a column's.
    queue = reverse("workbench:queue_tab", args=["closed"])
    assert flat(walk(client, queue, {})) == list(
        Case.objects.filter(region__name="和平区", state="closed")
        .order_by("-received_at", "-id")
        .values_list("number", flat=True)
    )
    assert flat(walk(client, queue, {"sort": "party"})) == expected("party", state="closed")


def test_no_cap_past_the_count(client, heping, make_case, monkeypatch, unanalysed) -> None:
    """The search counts to its cap ("10+" here, "200+" in production) and pages on past it. On PostgreSQL
    the time slices of the first page read the whole list (every case is older than a year): they counted
    every match, at no cost, and say so."""
    monkeypatch.setattr(views, "SEARCH_COUNT_CAP", 10)
    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    for i in range(17):
        with time_machine.travel(MONDAY + dt.timedelta(minutes=i), tick=False):
            make_case("和平区", reported_party=f"滨海某化工{i}厂")
    client.force_login(heping.operator)
    response = client.get(reverse("workbench:search"), {"reported_party": "化工"})
    assert ("共 17 件" if connection.vendor == "postgresql" else "共 10+ 件") in response.content.decode()
    pages = walk(client, reverse("workbench:search"), {"reported_party": "化工"})
    assert [len(p) for p in pages] == [4, 4, 4, 4, 1]
    assert len(set(flat(pages))) == 17


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!!",
        cursor_encode("不是日期", 5),
        cursor_encode({"$gt": 1}, 5),
        cursor_encode("2025-03-03T09:30:00+08:00", "1 OR 1=1"),  # type: ignore[arg-type]
        "W251bGwsIm5vdCBhbiBpZCJd",  # [null,"not an id"]
        # Forged dates outside the platform's years: overflow the conversion to UTC (SQLite) or a day's sum.
        cursor_encode("0001-01-01T00:00:00+00:00", 1),
        cursor_encode("9999-12-31T23:59:59+14:00", 1),
        cursor_encode("1999-12-31T23:59:59+08:00", 1),
        cursor_encode("2025-03-03T09:30:00", 1),  # no zone: the list's own cursors carry one
        cursor_encode("2025-03-03T09:30:00+08:00", 10**30),  # an id no database holds
        cursor_encode(1e308, 1),
    ],
)
def test_a_bad_cursor_starts_from_the_first_page(client, heping, many, cursor) -> None:
    client.force_login(heping.operator)
    url = reverse("workbench:search")
    first = numbers_in_order(client.get(url, {"sort": "received"}))
    for name in ("after", "before"):
        response = client.get(url, {"sort": "received", name: cursor})
        assert response.status_code == 200
        assert numbers_in_order(response) == first


@pytest.mark.parametrize(
    "cursor",
    [
        cursor_encode("0001-01-01T00:00:00", 1),
        cursor_encode("0001-01-01T00:00:00+00:00", 1),
        cursor_encode("9999-12-31T23:59:59+14:00", 10**30),
    ],
)
@pytest.mark.parametrize("sort", ["", "received", "-due"])
def test_a_forged_date_cursor_of_a_queue_starts_from_its_first_page(
    client, heping, many, cursor, sort
) -> None:
    client.force_login(heping.operator)
    url = reverse("workbench:queue_tab", args=["confirm"])
    query = {"sort": sort} if sort else {}
    first = numbers_in_order(client.get(url, query))
    assert first  # the received cases wait for confirmation
    for name in ("after", "before"):
        response = client.get(url, {**query, name: cursor})
        assert response.status_code == 200
        assert numbers_in_order(response) == first


def test_sorting_or_filtering_again_starts_from_the_first_page(client, heping, many, monkeypatch) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 5)
    client.force_login(heping.operator)
    url = reverse("workbench:search")
    second = client.get(url + must_link(client.get(url, {"sort": "party"}), "next")).content.decode()
    assert "after=" in second
    # The column headings and the export link drop the position in the list.
    assert 'href="?sort=-party"' in second and "format=xlsx" in second
    assert "after=" not in second.split('class="btn btn-sm export-link" href="')[1].split('"')[0]


@pytest.mark.parametrize("depth", [0, 2])
def test_search_queries_are_exact_at_any_depth(
    client, heping, many, monkeypatch, depth, django_assert_num_queries
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    client.force_login(heping.operator)
    url = reverse("workbench:search")
    target = "?sort=party"
    for _ in range(depth):
        target = must_link(client.get(url + target), "next")
    # session, user, roles, agency; the 所属区, 责任机构, 承办部门 and 经办人 choices; the capped count; one
    # page of rows; the saved views menu; the session save (savepoint, update, release).
    with django_assert_num_queries(15):
        response = client.get(url + target)
    assert len(numbers_in_order(response)) == 4


@pytest.mark.parametrize("depth", [0, 2])
def test_queue_queries_are_exact_at_any_depth(
    client, heping, many, monkeypatch, depth, django_assert_num_queries
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    client.force_login(heping.operator)
    url = reverse("workbench:queue_tab", args=["handling"])
    target = "?sort=-received"
    for _ in range(depth):
        target = must_link(client.get(url + target), "next")
    # As test_queues: the tab counts (the four queues of the agency's work by state in one query), one page
    # of rows and the saved views menu.
    with django_assert_num_queries(13):
        response = client.get(url + target)
    assert len(numbers_in_order(response)) == 1
