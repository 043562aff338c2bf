"""One definition per KPI (issue 12, D3): for one month and one district, the assessment, the monthly
report, the city overview and the public disclosure show the same 按期办结率 and 按期确认率 from the same
counts, each with its definition.

The scenario (``conftest.scenario``) is March 2025 in 和平区. 按期办结率 by hand: C1, C2 and C10 were closed
in March by their deadlines (3); C9 was accepted on 3 January, its closing deadline fell on 4 March and it
is still open, so it is a late case of March: 3 of 4, 75.0%. 按期确认率: C1, C3, C4, C5, C8 confirmed on
time in March (5); C2 confirmed after its deadline of 5 March and C6 still unconfirmed after its deadline of
24 March are late (C7's deadline falls in April): 5 of 7, 71.4%.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from eco12369.orgs.models import User

from .conftest import MARCH, Scenario, at

pytestmark = pytest.mark.django_db

CLOSE = ("75.0", 3, 4)
CONFIRM = ("71.4", 5, 7)


def _get(client: Client, user: User, url: str, **params: str) -> str:
    client.force_login(user)
    with at(2025, 4, 2, 12):
        response = client.get(url, params)
    assert response.status_code == 200, url
    return response.content.decode()


def _publish_through_the_pages(s: Scenario, client: Client) -> None:
    p = s.people
    action = lambda name: reverse("stats:action", args=[s.hp.code, MARCH.key, name])  # noqa: E731
    with at(2025, 4, 2, 10):
        client.force_login(p.op)
        assert client.post(reverse("stats:generate"), {"month": MARCH.key}).status_code == 302
        client.post(action("send_for_approval"), {"analysis": "本月总体平稳，个别件逾期。"})
        client.force_login(p.head)
        client.post(action("approve"), {"note": "同意"})
        client.post(action("submit"))


def test_assessment_report_overview_and_disclosure_agree_on_the_rates(
    scenario: Scenario, client: Client, make_user: object
) -> None:
    s = scenario
    _publish_through_the_pages(s, client)
    reviewer = s.people.reviewer  # a district reviewer sees the assessment

    # The assessment: the 和平区 row, 按期办结率 and 按期确认率 cells with their counts.
    html = _get(client, reviewer, reverse("oversight:assessment"), period=MARCH.key)
    row = re.search(r'<tr data-region="和平区".*?</tr>', html, re.S)
    assert row
    for key, (rate, num, den) in (("close_on_time", CLOSE), ("confirm_on_time", CONFIRM)):
        cell = re.search(rf'data-indicator="{key}"[^>]*>(.*?)</td>', row.group(0), re.S)
        assert cell and f"{rate}<br>" in cell.group(1) and f"{num}/{den}" in cell.group(1), key
    assert 'data-kpi="close_on_time"' in html and "第十二条" in html

    # The district's monthly report page: the KPI cards, their counts and the definitions.
    report = _get(client, s.people.op, reverse("stats:report", args=[s.hp.code, MARCH.key]))
    for key, (rate, num, den) in (("close_rate", CLOSE), ("confirm_rate", CONFIRM)):
        card = re.search(
            rf'<div class="stats-kpi">((?:(?!<div class="stats-kpi">).)*?data-kpi-parts="{key}".*?)</div>\s*</div>',
            report,
            re.S,
        )
        assert card and f"{rate}<small>%" in card.group(1) and f"{num}/{den}件" in card.group(1), key
    assert re.search(r"应办结（本月办结或办结期限届满的已受理件）</td><td[^>]*>4<", report)
    assert 'data-kpi="close_on_time"' in report

    # The city overview: the 和平区 row of the submitted report.
    city = _get(client, s.people.city_op, reverse("stats:monthly_list"), month=MARCH.key)
    hp_row = re.search(r"<tr><td class=\"nowrap\"><a [^>]*>和平区</a>.*?</tr>", city, re.S)
    assert hp_row and 'title="3/4件">75.0%' in hp_row.group(0) and 'title="5/7件">71.4%' in hp_row.group(0)
    # … and the live city total counts C9 too (the city's overdue open cases are no longer 100% on time).
    city_total = _get(
        client, s.people.city_op, reverse("stats:monthly_list"), month=MARCH.key, part="city_total"
    )
    total = re.search(r'<tr class="total".*?</tr>', city_total, re.S)
    assert total and "100.0%" not in total.group(0)

    # The public disclosure of the month (only 和平区 published: its figures are the summary).
    client.logout()
    with at(2025, 4, 2, 12):
        public = client.get(reverse("disclosure:month", args=[MARCH.key])).content.decode()
    for key, (rate, num, den) in (("close_rate", CLOSE), ("confirm_rate", CONFIRM)):
        card = re.search(
            rf'<div class="pub-kpi">((?:(?!<div class="pub-kpi">).)*?data-kpi-parts="{key}".*?)</div>\s*</div>',
            public,
            re.S,
        )
        assert card and f"{rate}<small>%" in card.group(1) and f"{num}/{den}件" in card.group(1), key
    hp_public = re.search(r'<tr><th scope="row">和平区</th>.*?</tr>', public, re.S)
    assert hp_public and "<td>75.0</td>" in hp_public.group(0) and "<td>71.4</td>" in hp_public.group(0)
    assert 'data-kpi="close_on_time"' in public and "逾期未办结的计入期限届满之期" in public
