"""Slow pages show progress and the figures of an ended month are cached until its data changes (issue
12, D10)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from .conftest import MARCH, Scenario, at
from .test_workflow import district_row, submitted

pytestmark = pytest.mark.django_db


def _city_total(client: Client) -> tuple[str, int]:
    """The city total row (the htmx part of the city overview) and the queries over cases it took."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("stats:monthly_list"), {"month": MARCH.key, "part": "city_total"})
    assert response.status_code == 200
    case_queries = sum(1 for q in queries.captured_queries if 'FROM "cases_case"' in q["sql"])
    return district_row(response.content.decode(), "全市合计"), case_queries


def test_the_city_total_of_an_ended_month_is_cached_until_its_data_changes(
    scenario: Scenario, client: Client, make_case: Any
) -> None:
    client.force_login(scenario.people.city_op)
    with at(2025, 4, 5):
        page = client.get(reverse("stats:monthly_list"), {"month": MARCH.key}).content.decode()
        first, computed = _city_total(client)
        again, cached = _city_total(client)
    # The page itself does not wait for the figures: it shows a progress line and loads them with htmx.
    assert 'hx-trigger="load"' in page and "正在统计全市合计" in page
    assert computed >= 1 and cached == 0 and again == first

    # A change to March's data (a case received on 30 March, entered late): a new version, new figures.
    with at(2025, 3, 30):
        make_case(category="noise", reported_party="XX建筑工地", description="半夜还在打桩，吵死了")
    with at(2025, 4, 5):
        client.force_login(scenario.people.city_op)
        after, recomputed = _city_total(client)
    received = [int(re.findall(r'<td class="num">(\d+)</td>', row)[0]) for row in (first, after)]
    assert recomputed >= 1 and received[1] == received[0] + 1


def test_the_pdf_export_link_shows_progress_until_the_file_arrives(
    scenario: Scenario, client: Client
) -> None:
    submitted(scenario)
    client.force_login(scenario.people.op)
    url = reverse("stats:report", args=[scenario.hp.code, MARCH.key])
    with at(2025, 4, 5):
        page = client.get(url).content.decode()
        pdf: Any = client.get(
            reverse("stats:export_pdf", args=[scenario.hp.code, MARCH.key]),
            {"download_token": "1733547000123"},
        )
        bad: Any = client.get(
            reverse("stats:export_pdf", args=[scenario.hp.code, MARCH.key]), {"download_token": "x;y"}
        )
    assert re.search(r'<a [^>]*export\.pdf"[^>]*data-progress="pdf-progress"', page)
    assert 'id="pdf-progress"' in page and "stats/progress.js" in page
    if pdf.status_code == 200:  # the PDF tests need WeasyPrint's libraries and a CJK font
        assert pdf.cookies["download_token"].value == "1733547000123"
        assert "download_token" not in bad.cookies
