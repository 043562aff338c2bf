"""Every oversight page against every kind of account: who gets the page, who gets 403, and that nobody
signed out gets anything but the login page (DESIGN §10: every permission has a negative test)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.orgs.models import User
from eco12369.oversight.models import SpotCheck
from eco12369.oversight.periods import current_month
from eco12369.oversight.services import spot_check_draw

from .conftest import Bureau, City, answered, handling

ACCOUNTS = [
    "city_operator",
    "city_reviewer",
    "city_head",
    "city_handler",
    "district_operator",
    "district_reviewer",
    "district_head",
    "district_handler",
    "admin",
    "auditor",
]
CITY_OVERSEERS = {"city_operator", "city_reviewer", "city_head"}
DISTRICT_OVERSEERS = {"district_operator", "district_reviewer", "district_head"}
# Issuing and answering a supervision order are the case's actions (the workbench case page; the
# supervision list links there): offered to exactly these accounts.
ACTIONS: dict[str, set[str]] = {
    "supervise": {"city_operator", "city_head"},
    "answer_supervision": {"district_operator", "district_head"},
}
ALLOWED: dict[str, set[str]] = {
    "supervision": CITY_OVERSEERS | DISTRICT_OVERSEERS,
    "duplicates": CITY_OVERSEERS | DISTRICT_OVERSEERS,
    "repeats": CITY_OVERSEERS | DISTRICT_OVERSEERS,
    "spot_checks": CITY_OVERSEERS | DISTRICT_OVERSEERS,
    "spot_check": CITY_OVERSEERS | DISTRICT_OVERSEERS,
    "assessment": CITY_OVERSEERS | {"district_reviewer", "district_head"},
    "assessment_export": CITY_OVERSEERS | {"district_reviewer", "district_head"},
    "assessment_weights": {"city_head"},
    "performance": {"city_reviewer", "city_head", "district_head"},
}


@pytest.fixture
def world(
    city: City, heping: Bureau, outsiders: dict[str, User], make_case: Callable[..., Case]
) -> dict[str, Any]:
    open_case = handling(make_case("和平区"), heping)
    services.case_supervise(
        case=open_case,
        actor=city.operator,
        instruction="督办",
        answer_due=timezone.localdate() + dt.timedelta(days=3),
    )
    answered(make_case("和平区", kind="consultation"), heping)
    spot_check_draw(actor=city.operator, period=current_month(), per_district=2, seed=1)
    accounts = {
        "city_operator": city.operator,
        "city_reviewer": city.reviewer,
        "city_head": city.head,
        "city_handler": city.handler,
        "district_operator": heping.operator,
        "district_reviewer": heping.reviewer,
        "district_head": heping.head,
        "district_handler": heping.handler,
        **outsiders,
    }
    return {"case": open_case, "order": open_case.supervision_orders.get(), "accounts": accounts}


def _url(page: str, world: dict[str, Any]) -> str:
    if page == "duplicates":
        return reverse(f"oversight:{page}", args=[world["case"].number])
    if page == "spot_check":
        return reverse("oversight:spot_check", args=[SpotCheck.objects.get().pk])
    return reverse(f"oversight:{page}")


@pytest.mark.parametrize("page", sorted(ALLOWED))
def test_each_page_admits_exactly_its_roles(client: Any, world: dict[str, Any], page: str) -> None:
    url = _url(page, world)
    got = {}
    for name in ACCOUNTS:
        client.force_login(world["accounts"][name])
        got[name] = client.get(url).status_code
    expected = {name: 200 if name in ALLOWED[page] else 403 for name in ACCOUNTS}
    assert got == expected


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_supervision_action_is_offered_to_exactly_its_roles(
    client: Any, world: dict[str, Any], action: str
) -> None:
    url = reverse("workbench:case", args=[world["case"].number])
    offered = set()
    for name in ACCOUNTS:
        client.force_login(world["accounts"][name])
        response = client.get(url, {"action": action})
        if response.status_code == 200 and f'id="action-{action}"' in response.content.decode():
            offered.add(name)
    assert offered == ACTIONS[action]


def test_every_page_sends_anonymous_visitors_to_the_login(client: Any, world: dict[str, Any]) -> None:
    for page in ALLOWED:
        response = client.get(_url(page, world))
        assert response.status_code == 302, page
        assert response["Location"].startswith(reverse("workbench:login")), page


def test_another_districts_case_and_order_are_not_found(
    client: Any, world: dict[str, Any], make_bureau: Callable[[str], Bureau]
) -> None:
    hedong = make_bureau("河东区")
    client.force_login(hedong.head)
    assert client.get(_url("duplicates", world)).status_code == 404
    answer = reverse("workbench:case_answer_supervision", args=[world["case"].number])
    data = {"answer_supervision-order": world["order"].pk, "answer_supervision-answer": "已办理。"}
    assert client.post(answer, data).status_code == 404
    assert client.get(_url("spot_check", world)).status_code == 404  # no 河东区 case in the sample
