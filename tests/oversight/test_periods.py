"""The period of the assessment, its workbook, the performance page and a merit's form (``?period=``): one
that names no period within the platform's years (9999-12-31..9999-12-31 would overflow adding its last day;
0001-01-01 in Asia/Shanghai cannot be converted to UTC on SQLite) is a 400 that says what a period is."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import Bureau

from .conftest import City

pytestmark = pytest.mark.django_db

INVALID = "所选期间无效：请选择2000年1月1日至2100年12月31日之间的月份"


def _urls(heping: Bureau) -> list[str]:
    return [
        reverse("oversight:assessment"),
        reverse("oversight:assessment_export"),
        reverse("oversight:performance"),
        reverse("oversight:staff_merit_new", args=[heping.handler.pk]),
    ]


@pytest.mark.parametrize(
    "period",
    [
        "9999-12-31..9999-12-31",
        "0001-01-01..0001-01-02",
        "1999-12-31..2000-01-01",
        "2100-12-31..2101-01-01",
        "9999",
        "9999-12",
        "9999-Q4",
        "0001-01",
        "2101",
        "2025-13",
        "2025-03-31..2025-03-01",
        "下个月",
    ],
)
def test_a_period_outside_the_years_is_a_400_that_says_so(heping: Bureau, period: str) -> None:
    client = Client(raise_request_exception=False)  # a view's exception is the 500 page, as a browser sees
    client.force_login(heping.head)
    for url in _urls(heping):
        response = client.get(url, {"period": period})
        assert response.status_code == 400, url
        assert INVALID in response.content.decode(), url


@pytest.mark.parametrize(
    ("period", "label"),
    [
        ("2025-03-01..2025-03-31", "2025年03月01日至2025年03月31日"),
        ("2000-01-01..2000-01-01", "2000年01月01日至2000年01月01日"),
        ("2100-12-01..2100-12-31", "2100年12月01日至2100年12月31日"),
        ("2100-Q4", "2100年第四季度"),
        ("2100", "2100年"),
    ],
)
def test_the_years_first_and_last_days_are_periods(
    city: City, heping: Bureau, period: str, label: str
) -> None:
    client = Client()
    for user, url in (
        (city.operator, reverse("oversight:assessment")),
        (heping.head, reverse("oversight:performance")),
    ):
        client.force_login(user)
        response = client.get(url, {"period": period})
        assert response.status_code == 200
        assert label in response.content.decode()
    export: Any = client.get(reverse("oversight:assessment_export"), {"period": period})
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_no_period_is_the_previous_month(heping: Bureau) -> None:
    client = Client()
    client.force_login(heping.head)
    for url in _urls(heping):
        assert client.get(url).status_code == 200, url
