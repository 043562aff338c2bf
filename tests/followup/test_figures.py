"""Satisfaction figures on a fixed fixture: the monthly report (district, city, side by side, exports) and
the district assessment (a weighted component)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from eco12369.cases.models import Case
from eco12369.followup.services import rating_submit, satisfaction_weight_set
from eco12369.orgs.models import Region
from eco12369.oversight.assessment import assessment_rows
from eco12369.oversight.periods import month
from eco12369.oversight.services import assessment_scheme_current, assessment_scheme_update
from eco12369.stats import services as stats_services
from eco12369.stats.figures import Month, headline_by_district, monthly_figures

from .conftest import MONDAY, TZ, People, handled

pytestmark = pytest.mark.django_db
MARCH = Month(2025, 3)
AS_OF = dt.datetime(2025, 4, 2, 10, tzinfo=TZ)

# (district, level, days after closing on 3 March): the ratings given in March.
RATINGS = [
    ("和平区", "satisfied", 1),
    ("和平区", "satisfied", 2),
    ("和平区", "basic", 3),
    ("和平区", "unsatisfied", 4),
    ("河西区", "unsatisfied", 5),
    ("河西区", "satisfied", 6),
]


@pytest.fixture
def rated(make_case: Callable[..., Case], people: People) -> list[Case]:
    """Six ratings given in March (和平区: 2 满意, 1 基本满意, 1 不满意; 河西区: 1 不满意, 1 满意) and one
    case closed on 28 March and rated on 1 April (和平区, 不满意), plus a closed case never rated."""
    cases = []
    with time_machine.travel(MONDAY, tick=False):
        for index, (district, _level, _days) in enumerate(RATINGS):
            cases.append(handled(make_case(district, reporter_openid=f"oR{index}"), people))
        handled(make_case("和平区", reporter_openid="oNEVER"), people)
    for index, (_district, level, days) in enumerate(RATINGS):
        with time_machine.travel(MONDAY + dt.timedelta(days=days), tick=False):
            rating_submit(case=cases[index], openid=f"oR{index}", level=level, channel="wechat_chat")
    with time_machine.travel(dt.datetime(2025, 3, 28, 10, tzinfo=TZ), tick=False):
        late = handled(make_case("和平区", reporter_openid="oAPRIL"), people)
    with time_machine.travel(dt.datetime(2025, 4, 1, 9, tzinfo=TZ), tick=False):
        rating_submit(case=late, openid="oAPRIL", level="unsatisfied", channel="wechat_h5")
    return [*cases, late]


def test_monthly_figures_count_the_months_ratings(rated: list[Case]) -> None:
    hp = Region.objects.get(name="和平区")
    f = monthly_figures(region=hp, month=MARCH, as_of=AS_OF)
    h = f.headline
    assert (h.rated, h.rated_satisfied, h.rated_basic, h.rated_unsatisfied) == (4, 2, 1, 1)
    assert h.satisfaction_rate == 75.0
    assert h.closed == 6 and h.received == 6  # the rating join does not multiply the cases
    change = next(c for c in f.changes() if c.key == "satisfaction_rate")
    assert (change.label, change.current, change.previous, change.unit) == ("回访满意率", 75.0, None, "%")
    april = monthly_figures(
        region=hp, month=Month(2025, 4), as_of=dt.datetime(2025, 5, 2, tzinfo=TZ)
    ).headline
    assert (april.rated, april.rated_unsatisfied, april.satisfaction_rate) == (1, 1, 0.0)

    city = monthly_figures(region=None, month=MARCH, as_of=AS_OF)
    assert (city.headline.rated, city.headline.satisfaction_rate) == (6, 66.7)
    districts = {d.name: d.headline for d in city.districts}
    assert (districts["和平区"].satisfaction_rate, districts["河西区"].satisfaction_rate) == (75.0, 50.0)
    assert districts["南开区"].rated == 0 and districts["南开区"].satisfaction_rate is None
    with CaptureQueriesContext(connection) as ctx:
        headline_by_district(month=MARCH, as_of=AS_OF)
    assert len(ctx.captured_queries) == 3  # still one grouped query for all the districts' cases


def test_the_monthly_report_shows_satisfaction(rated: list[Case], people: People) -> None:
    hp = Region.objects.get(name="和平区")
    city = Region.objects.get(level=Region.Level.CITY)
    with time_machine.travel(AS_OF, tick=False):
        stats_services.monthly_report_generate(actor=people.hp.operator, region=hp, month=MARCH)
        stats_services.monthly_report_generate(actor=people.city_op, region=city, month=MARCH)
        client = Client()
        client.force_login(people.hp.operator)
        body = client.get(reverse("stats:report", args=[hp.code, MARCH.key])).content.decode()
        client.force_login(people.city_op)
        workbook = client.get(reverse("stats:export_excel", args=[city.code, MARCH.key]))
    assert "回访满意率" in body and "本月回访评价" in body and "75.0" in body
    data = b"".join(workbook.streaming_content) if workbook.streaming else workbook.content  # type: ignore[attr-defined]
    ws = load_workbook(io.BytesIO(data))["各区对比"]
    header = [c.value for c in ws[1]]
    assert header[-1] == "回访满意率（%）"
    rows = {row[0]: row for row in ws.iter_rows(min_row=2, values_only=True)}
    assert (rows["和平区"][-1], rows["河西区"][-1], rows["全市合计"][-1]) == (75.0, 50.0, 66.7)


def test_the_assessment_has_a_weighted_satisfaction_component(rated: list[Case], people: People) -> None:
    period = month(2025, 3)

    def ranking() -> dict[str, object]:
        return {
            r.region.name: r
            for r in assessment_rows(period=period, scheme=assessment_scheme_current(), now=AS_OF)
        }

    rows = ranking()
    hp, hx = rows["和平区"], rows["河西区"]  # type: ignore[attr-defined]
    sat = hp.indicators["satisfaction"]  # type: ignore[attr-defined]
    assert (sat.score, sat.numerator, sat.denominator, sat.detail) == (75.0, 3, 4, "不满意1件")
    sat = hx.indicators["satisfaction"]  # type: ignore[attr-defined]
    assert (sat.score, sat.numerator, sat.denominator) == (50.0, 1, 2)

    # Only the satisfaction rate weighs (supervision has nothing to measure here): the totals are the rates.
    zero = {key: 0 for key in ("confirm_on_time", "close_on_time", "extension", "spot_check", "repeat")}
    assessment_scheme_update(actor=people.city_head, weights={**zero, "supervision": 100}, repeat_threshold=3)
    rows = ranking()
    assert (rows["和平区"].total, rows["河西区"].total) == (75.0, 50.0)  # type: ignore[attr-defined]
    assert (rows["和平区"].rank, rows["河西区"].rank) == (1, 2)  # type: ignore[attr-defined]
    satisfaction_weight_set(actor=people.city_head, weight=0)
    assert ranking()["和平区"].total is None  # type: ignore[attr-defined]

    client = Client()
    client.force_login(people.city_op)
    body = client.get(reverse("oversight:assessment"), {"period": "2025-03"}).content.decode()
    assert "回访满意率" in body


def test_the_satisfaction_weight_is_set_by_the_city_head(people: People, tianjin: None) -> None:
    client = Client()
    client.force_login(people.city_op)
    assert client.get(reverse("followup:weight")).status_code == 403
    client.force_login(people.hp.head)
    assert client.post(reverse("followup:weight"), {"weight": 30}).status_code == 403
    client.force_login(people.city_head)
    assert client.post(reverse("followup:weight"), {"weight": 101}).status_code == 422
    assert client.post(reverse("followup:weight"), {"weight": 30}).status_code == 302
    assert 'value="30"' in client.get(reverse("followup:weight")).content.decode()
