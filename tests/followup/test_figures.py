"""Satisfaction figures on a fixed fixture: the monthly report (district, city, side by side, exports) and
the district assessment (a component weighted by the scheme's ``w_satisfaction``, set on oversight's weights
page with the other weights)."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from eco12369.cases.models import Case
from eco12369.followup.services import rating_submit
from eco12369.orgs.models import Region
from eco12369.oversight.models import AssessmentScheme
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


NO_OTHER_WEIGHT = {
    "w_confirm_on_time": 0,
    "w_close_on_time": 0,
    "w_extension": 0,
    "w_spot_check": 0,
    "w_supervision": 0,
    "w_repeat": 0,
    "repeat_threshold": 3,
}


def _ranking_page(client: Client) -> dict[str, tuple[str, str, str]]:
    """The March ranking as the page shows it: district → (rank, total, satisfaction cell's text)."""
    body = client.get(reverse("oversight:assessment"), {"period": "2025-03"}).content.decode()
    shown = {}
    for region, row in re.findall(r'<tr data-region="([^"]+)".*?>(.*?)</tr>', body, re.S):
        cells = dict(re.findall(r'data-label="(排名|综合得分)"><strong>(.*?)</strong>', row))
        satisfaction = re.search(r'data-indicator="satisfaction"[^>]*>(.*?)</td>', row, re.S)
        assert satisfaction is not None
        text = " ".join(re.sub(r"<[^>]+>", " ", satisfaction.group(1)).split())
        shown[region] = (cells["排名"], cells["综合得分"], text)
    return shown


def test_the_satisfaction_weight_set_on_the_weights_page_changes_the_assessment(
    rated: list[Case], people: People
) -> None:
    head, operator = Client(), Client()
    head.force_login(people.city_head)
    operator.force_login(people.city_op)
    weights_url = reverse("oversight:assessment_weights")
    with time_machine.travel(AS_OF, tick=False):
        body = operator.get(reverse("oversight:assessment"), {"period": "2025-03"}).content.decode()
        assert '回访满意率<br><small class="muted">权重 10</small>' in body  # the default
        ranking = _ranking_page(operator)
        assert ranking["和平区"][2] == "75.0 3/4" and ranking["河西区"][2] == "50.0 1/2"
        assert 'data-indicator="satisfaction" title="不满意1件"' in body

        # Only the satisfaction rate weighs: the totals are the rates.
        assert head.post(weights_url, {**NO_OTHER_WEIGHT, "w_satisfaction": 40}).status_code == 302
        body = operator.get(reverse("oversight:assessment"), {"period": "2025-03"}).content.decode()
        assert '回访满意率<br><small class="muted">权重 40</small>' in body
        ranking = _ranking_page(operator)
        assert ranking["和平区"][:2] == ("1", "75.00") and ranking["河西区"][:2] == ("2", "50.00")

        # Satisfaction weighs nothing and supervision (nothing to measure in March) all: no total at all.
        no_satisfaction = {**NO_OTHER_WEIGHT, "w_supervision": 100, "w_satisfaction": 0}
        assert head.post(weights_url, no_satisfaction).status_code == 302
        ranking = _ranking_page(operator)
        assert ranking["和平区"][:2] == ranking["河西区"][:2] == ("—", "—")
        assert ranking["和平区"][2] == "75.0 3/4"  # still measured, shown, but not weighed

        # The export's weights sheet shows the weight in force.
        export = operator.get(reverse("oversight:assessment_export"), {"period": "2025-03"})
    sheet = load_workbook(io.BytesIO(export.content))["考核权重"]
    weights = {row[1]: row[2] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert (weights["回访满意率"], weights["督办按期回复率"]) == (0, 100)


def test_the_satisfaction_weight_is_set_by_the_city_head_on_the_weights_page(
    people: People, tianjin: None
) -> None:
    client = Client()
    weights_url = reverse("oversight:assessment_weights")
    data = {**NO_OTHER_WEIGHT, "w_repeat": 10, "w_satisfaction": 30}
    for user in (people.city_op, people.city_reviewer, people.hp.head):
        client.force_login(user)
        assert client.get(weights_url).status_code == 403
        assert client.post(weights_url, data).status_code == 403
    assert not AssessmentScheme.objects.exists()

    client.force_login(people.city_head)
    form = client.get(weights_url).content.decode()
    assert "满意度权重" in form and re.search(r'name="w_satisfaction" value="10"', form)  # the default
    response = client.post(weights_url, {**data, "w_satisfaction": 101})
    # The form names the weight and its range (issue 12, D12); the service keeps the same rule.
    assert response.status_code == 422 and "满意度权重须在0至100之间。" in response.content.decode()
    assert client.post(weights_url, data).status_code == 302
    assert re.search(r'name="w_satisfaction" value="30"', client.get(weights_url).content.decode())
    assert client.post(weights_url, {**data, "w_satisfaction": 20}).status_code == 302

    # Kept like the other weights: each change is a new row by its author; the earlier ones stay.
    history = list(
        AssessmentScheme.objects.order_by("id").values_list("w_satisfaction", "w_repeat", "updated_by")
    )
    assert history == [(30, 10, people.city_head.pk), (20, 10, people.city_head.pk)]


def test_the_old_satisfaction_weight_page_is_gone(people: People, tianjin: None) -> None:
    client = Client()
    client.force_login(people.city_head)
    assert client.get("/followup/satisfaction-weight/").status_code == 404
    assert client.post("/followup/satisfaction-weight/", {"weight": 30}).status_code == 404
    # The review list links to the one weights page (the city head may edit it, the operator not).
    reviews = client.get(reverse("followup:reviews")).content.decode()
    assert f'href="{reverse("oversight:assessment_weights")}"' in reviews
    client.force_login(people.city_op)
    reviews = client.get(reverse("followup:reviews")).content.decode()
    assert reverse("oversight:assessment_weights") not in reviews


def test_a_reopened_case_is_rated_again_and_counts_once_with_its_latest_rating(
    make_case: Callable[..., Case], people: People, reporter: Callable[[str], Client]
) -> None:
    """Rated 不满意 on 5 March, reopened on review, closed again and rated 满意 on 20 March through the H5
    page: March counts the case once, as satisfied; the first rating stays, with its review."""
    from eco12369.cases import services
    from eco12369.followup.services import review_reopen

    from .conftest import FIVE_PARTS

    with time_machine.travel(MONDAY, tick=False):
        case = handled(make_case("和平区", reporter_openid="oAGAIN"), people)
    with time_machine.travel(MONDAY + dt.timedelta(days=2), tick=False):
        first = rating_submit(case=case, openid="oAGAIN", level="unsatisfied", channel="wechat_chat")
    with time_machine.travel(MONDAY + dt.timedelta(days=3), tick=False):
        review_reopen(rating=first, actor=people.city_op, reason="请重新核查。")
        case = services.case_submit_reply(case=case, actor=people.hp.handler, **FIVE_PARTS)
        case = services.case_approve(case=case, actor=people.hp.reviewer)
    url = reverse("portal:mine_detail", args=[case.number])
    with time_machine.travel(dt.datetime(2025, 3, 20, 10, tzinfo=TZ), tick=False):
        client = reporter("oAGAIN")
        page = client.get(url).content.decode()
        response = client.post(reverse("portal:mine_rate", args=[case.number]), {"level": "satisfied"})
        after = client.get(url).content.decode()
    assert 'id="rating-form"' in page  # the second answer can be rated
    assert response.status_code == 302
    assert 'id="rating-form"' not in after and "满意" in after
    assert case.ratings.count() == 2

    hp = Region.objects.get(name="和平区")
    h = monthly_figures(region=hp, month=MARCH, as_of=AS_OF).headline
    assert (h.rated, h.rated_satisfied, h.rated_unsatisfied, h.satisfaction_rate) == (1, 1, 0, 100.0)
    assert h.closed == 1  # two ratings, one case: the join does not multiply it
