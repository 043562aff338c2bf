"""Dates far outside the platform's years (0001-01-01, 9999-12-31) in a search, its export and a saved view:
the form says which date and what is allowed, never a 500 (a day added to 9999-12-31 overflows, and SQLite
cannot convert 0001-01-01 in Asia/Shanghai to UTC). The years' own first and last days still search."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from eco12369.workbench.models import SavedView

from .test_queues import numbers_on
from .test_saved_views import save

pytestmark = pytest.mark.django_db

RANGE = "须在2000年1月1日至2100年12月31日之间。"


@pytest.fixture
def careful() -> Client:
    """A client that answers a view's exception with the 500 page, as a browser sees it."""
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(
    ("query", "messages"),
    [
        ({"received_to": "9999-12-31"}, ["接收日期至" + RANGE]),
        ({"due_to": "9999-12-31"}, ["期限至" + RANGE]),
        ({"due_from": "9999-12-31"}, ["期限自" + RANGE]),
        ({"received_from": "0001-01-01"}, ["接收日期自" + RANGE]),
        ({"due_from": "0001-01-01", "due_to": "0001-01-01"}, ["期限自" + RANGE, "期限至" + RANGE]),
        ({"q": "化工", "received_to": "9999-12-31"}, ["接收日期至" + RANGE]),  # PostgreSQL's text search
        ({"reported_party": "化工", "received_from": "1999-12-31"}, ["接收日期自" + RANGE]),
        ({"received_to": "2101-01-01", "sort": "-due"}, ["接收日期至" + RANGE]),
        ({"received_from": "99999-01-01"}, ["接收日期自的格式不正确。"]),
    ],
)
@pytest.mark.parametrize("export", [False, True])
def test_a_date_outside_the_years_is_a_form_error(
    careful: Client, heping, make_case, query: dict[str, str], messages: list[str], export: bool
) -> None:
    make_case("和平区", reported_party="鑫源化工", description="化工厂排放刺鼻气体")
    careful.force_login(heping.operator)
    response = careful.get(reverse("workbench:search"), {**query, **({"format": "xlsx"} if export else {})})
    # The export of filters that do not pass is the page with the messages, not a workbook.
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    for message in messages:
        assert message in body
    assert numbers_on(response) == set()


def test_the_years_first_and_last_days_still_search(client: Client, heping, make_case) -> None:
    case = make_case("和平区")
    client.force_login(heping.operator)
    for query in (
        {"received_from": "2000-01-01", "received_to": "2100-12-31"},
        {"received_to": "2100-12-31", "q": case.description[:4]},
    ):
        response = client.get(reverse("workbench:search"), query)
        assert response.status_code == 200
        assert numbers_on(response) == {case.number}
    page = client.get(reverse("workbench:search")).content.decode()
    assert 'min="2000-01-01"' in page and 'max="2100-12-31"' in page  # the browser's date picker too


def test_a_view_cannot_be_saved_with_a_date_outside_the_years(client: Client, heping) -> None:
    client.force_login(heping.operator)
    response = save(client, "永不到期", "received_to=9999-12-31")
    assert response.status_code == 303
    assert not SavedView.objects.exists()
    shown = client.get(response["Location"])
    assert "当前筛选条件有误，请先修正再保存视图。" in shown.content.decode()
    assert "接收日期至" + RANGE in shown.content.decode()


def test_a_view_saved_before_the_rule_opens_on_the_form_error(careful: Client, heping, make_case) -> None:
    make_case("和平区")
    # A view stored before the search's dates had a range (its query passed the form then).
    view = SavedView.objects.create(
        owner=heping.operator,
        agency_id=heping.operator.agency_id,
        list_key="search",
        name="旧视图",
        query="received_to=9999-12-31&due_from=0001-01-01",
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    careful.force_login(heping.operator)
    opened = careful.get(reverse("workbench:saved_view_open", args=[view.pk]))
    assert opened.status_code == 302
    listed = careful.get(opened["Location"])
    assert listed.status_code == 200
    body = listed.content.decode()
    assert "接收日期至" + RANGE in body and "期限自" + RANGE in body
    assert numbers_on(listed) == set()
