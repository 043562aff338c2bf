"""District scoping: a district's staff never see another district's cases, in any list or page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from eco12369.cases.models import Case, State

from .conftest import advance
from .test_queues import numbers_on

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_districts(heping, hexi, make_case):
    a = {
        state: advance(make_case("和平区"), heping, state)
        for state in ("received", "accepted", "handling", "in_review", "closed")
    }
    b = {
        state: advance(make_case("河西区"), hexi, state)
        for state in ("received", "accepted", "handling", "in_review", "closed")
    }
    return a, b


def test_other_district_case_page_is_404(client: Client, heping, two_districts) -> None:
    _, b = two_districts
    for user in (heping.operator, heping.handler, heping.reviewer, heping.head):
        client.force_login(user)
        for case in b.values():
            assert client.get(reverse("workbench:case", args=[case.number])).status_code == 404


def test_other_district_action_post_is_404_and_changes_nothing(client: Client, heping, two_districts) -> None:
    _, b = two_districts
    client.force_login(heping.operator)
    response = client.post(reverse("workbench:case_accept", args=[b["received"].number]), {})
    assert response.status_code == 404
    assert Case.objects.get(pk=b["received"].pk).state == State.RECEIVED


def test_other_district_cases_are_absent_from_every_queue(client: Client, heping, two_districts) -> None:
    a, b = two_districts
    b_numbers = {c.number for c in b.values()}
    for user in (heping.operator, heping.handler, heping.reviewer, heping.head):
        client.force_login(user)
        seen: set[str] = set()
        for q in ("confirm", "accepted", "handling", "in_review", "due_soon", "overdue", "closed"):
            response = client.get(reverse("workbench:queue_tab", args=[q]))
            if response.status_code == 404:  # a queue this role does not have
                continue
            seen |= numbers_on(response)
        assert not seen & b_numbers
    # The operator sees all of A's cases in one queue or another.
    client.force_login(heping.operator)
    seen = set()
    for q in ("confirm", "accepted", "handling", "in_review", "closed"):
        seen |= numbers_on(client.get(reverse("workbench:queue_tab", args=[q])))
    assert seen == {c.number for c in a.values()}


def test_other_district_cases_are_absent_from_search(
    client: Client, heping, two_districts, make_user
) -> None:
    a, b = two_districts
    client.force_login(heping.operator)
    response = client.get(reverse("workbench:search"))
    assert numbers_on(response) == {c.number for c in a.values()}
    # Even when asked by number.
    response = client.get(reverse("workbench:search"), {"number": b["received"].number})
    assert numbers_on(response) == set()
    # The city centre sees both districts.
    client.force_login(make_user("operator", district_name=None))
    response = client.get(reverse("workbench:search"))
    assert numbers_on(response) == {c.number for c in (*a.values(), *b.values())}


def test_city_centre_queues_hold_only_its_own_work(client: Client, make_user, two_districts) -> None:
    a, _ = two_districts
    client.force_login(make_user("operator", district_name=None))
    assert numbers_on(client.get(reverse("workbench:queue_tab", args=["confirm"]))) == set()
    # ... but its closed list covers the city (for supervision and spot checks).
    closed = numbers_on(client.get(reverse("workbench:queue_tab", args=["closed"])))
    assert a["closed"].number in closed
