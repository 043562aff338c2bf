"""One UI per transition (issue 10): supervise, answer-supervision and mark-duplicate each have one form,
the case's action on the workbench case page. The oversight pages (supervision lists, duplicates page) link
to it instead of carrying a form of their own, so a bad input is refused the same way whichever page the
user came from; the old oversight form endpoints are gone."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from eco12369.cases import services
from eco12369.cases.models import Case, State, SupervisionOrder

from .conftest import Bureau, City, handling, login

SUPERVISION = reverse("oversight:supervision")


def _links(body: str, number: str, action: str) -> list[str]:
    """The links of a page to ``action`` on case ``number`` (unescaped, without the fragment)."""
    base = re.escape(reverse("workbench:case", args=[number]))
    found = re.findall(rf'href="({base}\?action={action}[^"#]*)#action-{action}"', body)
    return [html.unescape(link) for link in found]


def _form_url(body: str, action: str) -> str:
    """Where the case page's form of ``action`` posts to."""
    match = re.search(rf'id="action-{action}"[^>]*>.*?<form method="post" action="([^"]+)"', body, re.S)
    assert match, f"no {action} form on the page"
    return match.group(1)


def _entry_points(client: Any, number: str, action: str, list_page: tuple[str, dict[str, Any]]) -> list[str]:
    """The form's URL reached from the oversight page's link and from the case page itself."""
    url, params = list_page
    links = _links(client.get(url, params).content.decode(), number, action)
    assert links, f"the oversight page does not link to {action} of {number}"
    case_page = reverse("workbench:case", args=[number])
    return [_form_url(client.get(link).content.decode(), action) for link in links] + [
        _form_url(client.get(case_page).content.decode(), action)
    ]


def _errors(response: Any) -> tuple[int, list[str]]:
    body = response.content.decode()
    errors = re.findall(r'class="(?:field-error|alert alert-error)[^"]*"[^>]*>([^<]+)<', body)
    return response.status_code, sorted(set(errors))


@pytest.mark.parametrize(
    ("instruction", "due", "status", "message"),
    [
        ("限你们三天内查清楚！" * 201, 5, 422, "2000"),  # 2010 characters
        ("  ", 5, 422, "请填写"),
        ("请于5日内查清并回复。", -1, 409, "回复期限不能早于今天"),
        ("请于5日内查清并回复。", None, 422, "回复期限的格式不正确"),
    ],
)
def test_supervise_refuses_the_same_bad_input_from_the_list_and_the_case_page(
    client: Any,
    city: City,
    heping: Bureau,
    make_case: Callable[..., Case],
    instruction: str,
    due: int | None,
    status: int,
    message: str,
) -> None:
    case = make_case("和平区", received_at=timezone.now() - dt.timedelta(days=10))  # overdue
    login(client, city.operator)
    urls = _entry_points(client, case.number, "supervise", (SUPERVISION, {"tab": "overdue"}))
    assert set(urls) == {reverse("workbench:case_supervise", args=[case.number])}
    answer_due = "2026-02-30" if due is None else str(timezone.localdate() + dt.timedelta(days=due))
    outcomes = [
        _errors(client.post(url, {"supervise-instruction": instruction, "supervise-answer_due": answer_due}))
        for url in urls
    ]
    assert outcomes[0][0] == status and any(message in e for e in outcomes[0][1]), outcomes[0]
    assert all(o == outcomes[0] for o in outcomes)
    assert not SupervisionOrder.objects.exists()


@pytest.mark.parametrize(("answer", "message"), [("已办结" * 1334, "4000"), ("", "请填写")])
def test_answer_supervision_refuses_the_same_bad_input_from_the_orders_and_the_case_page(
    client: Any,
    city: City,
    heping: Bureau,
    make_case: Callable[..., Case],
    answer: str,
    message: str,
) -> None:
    case = handling(make_case("和平区"), heping)
    due = timezone.localdate() + dt.timedelta(days=3)
    services.case_supervise(case=case, actor=city.head, instruction="请查明夜间排污情况", answer_due=due)
    order = SupervisionOrder.objects.get()
    login(client, heping.operator)
    urls = _entry_points(client, case.number, "answer_supervision", (SUPERVISION, {"tab": "orders"}))
    assert set(urls) == {reverse("workbench:case_answer_supervision", args=[case.number])}
    data = {"answer_supervision-order": order.pk, "answer_supervision-answer": answer}
    outcomes = [_errors(client.post(url, data)) for url in urls]
    assert outcomes[0][0] == 422 and any(message in e for e in outcomes[0][1]), outcomes[0]
    assert all(o == outcomes[0] for o in outcomes)
    order.refresh_from_db()
    assert order.answered_at is None


def test_mark_duplicate_refuses_the_same_bad_input_from_the_duplicates_page_and_the_case_page(
    client: Any, heping: Bureau, hedong: Bureau, make_case: Callable[..., Case]
) -> None:
    first = make_case("和平区", reported_party="某某印染厂")
    new = make_case("和平区", reported_party="XX印染厂")
    elsewhere = make_case("河东区", reported_party="某某印染厂")
    login(client, heping.operator)
    duplicates = reverse("oversight:duplicates", args=[new.number])
    urls = _entry_points(client, new.number, "mark_duplicate", (duplicates, {}))
    assert set(urls) == {reverse("workbench:case_mark_duplicate", args=[new.number])}
    for bad in ("TJ20000101000001", elsewhere.number, "' OR 1=1 --"):
        outcomes = [_errors(client.post(url, {"mark_duplicate-duplicate_of": bad})) for url in urls]
        assert outcomes[0] == (422, ["未找到该编号的举报件。", "请检查填写的内容。"]), (bad, outcomes[0])
        assert all(o == outcomes[0] for o in outcomes)
    new.refresh_from_db()
    assert new.state == State.RECEIVED
    # The same form takes the number as people type it (spaces, lower case).
    response = client.post(urls[0], {"mark_duplicate-duplicate_of": f"  {first.number.lower()} "})
    assert response.status_code == 303
    new.refresh_from_db()
    assert (new.state, new.duplicate_of_id) == (State.CLOSED, first.pk)


def test_the_oversight_forms_are_gone(
    client: Any, city: City, heping: Bureau, make_case: Callable[..., Case]
) -> None:
    case = handling(make_case("和平区"), heping)
    earlier = make_case("和平区")
    due = timezone.localdate() + dt.timedelta(days=3)
    services.case_supervise(case=case, actor=city.head, instruction="督办", answer_due=due)
    order = SupervisionOrder.objects.get()
    login(client, city.operator)
    supervise = f"/oversight/supervision/cases/{case.number}/"
    assert client.get(supervise).status_code == 404
    assert client.post(supervise, {"instruction": "督办", "answer_due": due}).status_code == 404
    login(client, heping.operator)
    answer = f"/oversight/supervision/orders/{order.pk}/answer/"
    assert client.get(answer).status_code == 404
    assert client.post(answer, {"answer": "已查处。"}).status_code == 404
    # The duplicates page takes only its own "look again" button; a mark posted to it changes nothing.
    duplicates = reverse("oversight:duplicates", args=[case.number])
    assert client.post(duplicates, {"original": earlier.number}).status_code == 400
    assert "<form" not in client.get(duplicates).content.decode().split("重新查找")[-1]
    order.refresh_from_db()
    case.refresh_from_db()
    assert order.answered_at is None and case.duplicate_of_id is None
    assert SupervisionOrder.objects.count() == 1
