"""Supervision (Art. 14): the city centre's overdue/due-soon lists across districts, the city queue,
supervision orders issued and answered through the case services, and who may see what."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from eco12369.cases import services
from eco12369.cases.models import Case, State, SupervisionOrder
from eco12369.orgs.models import Region

from .conftest import Bureau, City, handling, login

URL = reverse("oversight:supervision")


def _old(make_case: Callable[..., Case], district: str, days: int = 10, **kw: Any) -> Case:
    """A case received ``days`` ago and never confirmed: its confirmation deadline has passed."""
    return make_case(district, received_at=timezone.now() - dt.timedelta(days=days), **kw)


def _numbers(response: Any) -> set[str]:
    body = response.content.decode()
    return {n for n in Case.objects.values_list("number", flat=True) if n in body}


def test_city_centre_sees_overdue_cases_of_every_district_and_filters_by_district(
    client: Any, city: City, make_case: Callable[..., Case]
) -> None:
    a = _old(make_case, "和平区")
    b = _old(make_case, "河东区")
    fresh = make_case("和平区")  # not overdue
    login(client, city.operator)
    response = client.get(URL, {"tab": "overdue"})
    assert response.status_code == 200
    assert _numbers(response) == {a.number, b.number}
    assert fresh.number not in response.content.decode()
    region = Region.objects.get(name="河东区")
    response = client.get(URL, {"tab": "overdue", "district": region.pk})
    assert _numbers(response) == {b.number}
    response = client.get(URL, {"tab": "overdue", "state": State.ACCEPTED})
    assert _numbers(response) == set()


def test_due_soon_lists_cases_in_the_last_fifth_of_their_time(
    client: Any, city: City, make_case: Callable[..., Case]
) -> None:
    case = make_case("和平区")
    later = make_case("河东区")
    assert case.warn_at is not None and case.due_at is not None
    with time_machine.travel(case.warn_at + dt.timedelta(minutes=1), tick=False):
        login(client, city.operator)
        body = client.get(URL, {"tab": "due_soon"}).content.decode()
        assert case.number in body
        assert client.get(URL, {"tab": "overdue"}).content.decode().count(case.number) == 0
    with time_machine.travel(case.due_at + dt.timedelta(minutes=1), tick=False):
        login(client, city.operator)
        assert case.number in client.get(URL, {"tab": "overdue"}).content.decode()
        assert later.number in client.get(URL, {"tab": "overdue"}).content.decode()


def test_escalated_cases_form_the_city_queue(
    client: Any, city: City, heping: Bureau, make_case: Callable[..., Case]
) -> None:
    case = services.case_escalate(
        case=make_case("和平区"), actor=heping.operator, reason="跨区污染，需市级协调"
    )
    other = make_case("和平区")
    login(client, city.operator)
    body = client.get(URL, {"tab": "escalated"}).content.decode()
    assert case.number in body and other.number not in body


def test_list_pages_are_paginated(client: Any, city: City, make_case: Callable[..., Case]) -> None:
    for _ in range(23):
        _old(make_case, "和平区")
    login(client, city.operator)
    first = client.get(URL, {"tab": "overdue"})
    second = client.get(URL, {"tab": "overdue", "page": 2})
    assert len(_numbers(first)) == 20 and len(_numbers(second)) == 3
    assert "第 1 / 2 页" in first.content.decode()


def _supervise(client: Any, case: Case, instruction: str, due: Any) -> Any:
    """The one supervision form: the case's 督办 action (the supervision list links to it)."""
    return client.post(
        reverse("workbench:case_supervise", args=[case.number]),
        {"supervise-instruction": instruction, "supervise-answer_due": str(due)},
    )


def _answer(client: Any, order: SupervisionOrder, answer: str) -> Any:
    return client.post(
        reverse("workbench:case_answer_supervision", args=[order.case.number]),
        {"answer_supervision-order": order.pk, "answer_supervision-answer": answer},
    )


def test_issue_and_answer_a_supervision_order(
    client: Any, city: City, heping: Bureau, hedong: Bureau, make_case: Callable[..., Case]
) -> None:
    case = handling(make_case("和平区"), heping)
    due = timezone.localdate() + dt.timedelta(days=5)
    login(client, city.operator)
    page = client.get(reverse("workbench:case", args=[case.number]), {"action": "supervise"})
    assert page.status_code == 200 and 'id="action-supervise" open' in page.content.decode()
    response = _supervise(client, case, "请于5日内查清并回复。", due.isoformat())
    assert response.status_code == 303
    order = SupervisionOrder.objects.get(case=case)
    assert (order.issued_by, order.answer_due, order.answered_at) == (city.operator, due, None)
    assert case.events.filter(action="supervise", actor=city.operator).exists()  # on the timeline
    body = client.get(URL, {"tab": "orders"}).content.decode()
    assert case.number in body and "待回复" in body

    # The other district does not see the order; the own district sees it and answers it.
    login(client, hedong.operator)
    assert case.number not in client.get(URL, {"tab": "orders"}).content.decode()
    assert _answer(client, order, "已现场检查并立案。").status_code == 404
    login(client, heping.operator)
    body = client.get(URL).content.decode()  # a district lands on its orders
    answer_link = (
        f"{reverse('workbench:case', args=[case.number])}?action=answer_supervision&amp;order={order.pk}"
    )
    assert case.number in body and answer_link in body
    page = client.get(
        reverse("workbench:case", args=[case.number]), {"action": "answer_supervision", "order": order.pk}
    ).content.decode()
    assert 'id="action-answer_supervision" open' in page and f'value="{order.pk}" selected' in page
    response = _answer(client, order, "已现场检查并立案。")
    assert response.status_code == 303
    order.refresh_from_db()
    assert order.answered_by == heping.operator and order.answer == "已现场检查并立案。"
    assert case.events.filter(action="answer_supervision", actor=heping.operator).exists()
    login(client, city.operator)
    body = client.get(URL, {"tab": "orders", "status": "answered"}).content.decode()
    assert case.number in body and "已回复" in body


def test_a_refused_order_shows_the_state_machines_reason(
    client: Any, city: City, make_case: Callable[..., Case]
) -> None:
    case = make_case("和平区")
    login(client, city.operator)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    response = _supervise(client, case, "督办", yesterday)
    assert response.status_code == 409
    assert "回复期限不能早于今天" in response.content.decode()
    assert not SupervisionOrder.objects.exists()


def test_unanswered_order_past_its_date_is_overdue(
    client: Any, city: City, heping: Bureau, make_case: Callable[..., Case]
) -> None:
    case = handling(make_case("和平区"), heping)
    due = timezone.localdate() + dt.timedelta(days=1)
    services.case_supervise(case=case, actor=city.head, instruction="督办", answer_due=due)
    with time_machine.travel(timezone.now() + dt.timedelta(days=3), tick=False):
        login(client, city.operator)
        body = client.get(URL, {"tab": "orders", "status": "overdue"}).content.decode()
        assert case.number in body and "逾期未回复" in body
        assert case.number not in client.get(URL, {"tab": "orders", "status": "open"}).content.decode()


# ------------------------------------------------------------------------------------ permissions
@pytest.mark.parametrize("who", ["handler", "city_handler", "admin", "auditor"])
def test_supervision_page_is_refused_to_handlers_and_administrators(
    client: Any, who: str, heping: Bureau, city: City, outsiders: dict[str, Any]
) -> None:
    user = {"handler": heping.handler, "city_handler": city.handler, **outsiders}[who]
    login(client, user)
    assert client.get(URL).status_code == 403


def test_supervision_page_needs_login(client: Any) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


def test_districts_cannot_issue_and_the_city_cannot_answer(
    client: Any, city: City, heping: Bureau, make_case: Callable[..., Case]
) -> None:
    case = handling(make_case("和平区"), heping)
    due = timezone.localdate() + dt.timedelta(days=3)
    login(client, heping.head)
    assert _supervise(client, case, "x", due).status_code == 403
    assert not SupervisionOrder.objects.exists()
    services.case_supervise(case=case, actor=city.operator, instruction="督办", answer_due=due)
    order = SupervisionOrder.objects.get()
    for user in (city.operator, city.head, heping.reviewer, heping.handler):
        login(client, user)
        assert _answer(client, order, "x").status_code == 403
    order.refresh_from_db()
    assert order.answered_at is None


def test_district_sees_only_its_own_overdue_cases(
    client: Any, heping: Bureau, make_case: Callable[..., Case]
) -> None:
    own = _old(make_case, "和平区")
    other = _old(make_case, "河东区")
    login(client, heping.reviewer)
    body = client.get(
        URL, {"tab": "overdue", "district": Region.objects.get(name="河东区").pk}
    ).content.decode()
    assert own.number in body and other.number not in body  # the district filter is ignored for districts


def test_supervision_list_query_count_is_bounded(
    client: Any,
    city: City,
    heping: Bureau,
    make_case: Callable[..., Case],
    django_assert_max_num_queries: Any,
) -> None:
    for i in range(12):
        case = _old(make_case, "和平区" if i % 2 else "河东区")
    due = timezone.localdate() + dt.timedelta(days=3)
    for i in range(6):
        case = handling(make_case("和平区"), heping)
        services.case_supervise(case=case, actor=city.operator, instruction=f"督办{i}", answer_due=due)
    login(client, city.operator)
    client.get(URL)  # warm the session and the permission caches
    for tab in ("overdue", "due_soon", "escalated", "orders"):
        with django_assert_max_num_queries(14):
            assert client.get(URL, {"tab": tab}).status_code == 200
