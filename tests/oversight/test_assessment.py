"""District assessment (Art. 14): figures on a fixed fixture compared with hand-counted values, the ranking
page, the Excel export, configurable weights, and who may see it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from eco12369.audit.models import AuditEntry
from eco12369.audit.services import audit_verify
from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.oversight.assessment import INDICATORS, assessment_rows
from eco12369.oversight.models import AssessmentScheme
from eco12369.oversight.periods import period_parse
from eco12369.oversight.services import assessment_scheme_current

from .conftest import FIVE_PARTS, Bureau, City, handling, login

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int = 10, month: int = 3) -> Any:
    return time_machine.travel(dt.datetime(2025, month, day, hour, 0, tzinfo=TZ), tick=False)


@pytest.fixture
def march(
    make_bureau: Callable[[str], Bureau], city: City, make_case: Callable[..., Case]
) -> Iterator[dict[str, Any]]:
    """March 2025 (Mon 3 March: confirmation deadline is the end of Wed 5 March).

    和平区: c1 accepted at once and closed on 10 March; c2 accepted late (10 March), supervised (due 12 March)
    and answered on 11 March; c3 a consultation answered at once; c4 accepted at once, extended 10 days.
    河东区: d1, d2, d3 about 宏达化工 (a repeated party), d4 about another party; d1 accepted at once and
    supervised (due 6 March, never answered); d2 never confirmed; d3 marked a duplicate of d1 on 4 March;
    d4 accepted on 4 March.
    """
    hp, hd = make_bureau("和平区"), make_bureau("河东区")
    with at(3):
        c1 = handling(make_case("和平区"), hp)
        c2 = make_case("和平区")
        c3 = services.case_answer(
            case=make_case("和平区", kind="consultation"), actor=hp.operator, text="答复"
        )
        services.case_approve(case=c3, actor=hp.reviewer)
        c4 = handling(make_case("和平区"), hp)
        services.case_request_extension(case=c4, actor=hp.operator, days=10, reason="需要监测")
        ext = c4.extensions.get()
        services.case_decide_extension(case=c4, actor=hp.head, extension=ext, approved=True)
        d1 = services.case_accept(
            case=make_case("河东区", reported_party="天津市宏达化工有限公司"), actor=hd.operator
        )
        make_case("河东区", reported_party="宏达化工厂")  # d2
        d3 = make_case("河东区", reported_party="宏达化工")
        d4 = make_case("河东区", reported_party="金泰钢管有限公司")
    with at(4):
        services.case_mark_duplicate(case=d3, actor=hd.operator, duplicate_of=d1)
        services.case_accept(case=d4, actor=hd.operator)
        services.case_supervise(
            case=d1, actor=city.operator, instruction="督办", answer_due=dt.date(2025, 3, 6)
        )
    with at(10):
        c1 = services.case_submit_reply(case=c1, actor=hp.handler, **FIVE_PARTS)
        services.case_approve(case=c1, actor=hp.reviewer)
        c2 = handling(c2, hp)
        services.case_supervise(
            case=c2, actor=city.operator, instruction="督办", answer_due=dt.date(2025, 3, 12)
        )
    with at(11):
        order = c2.supervision_orders.get()
        services.case_answer_supervision(case=c2, actor=hp.operator, order=order, answer="已办理")
    with at(10, month=4):
        yield {"hp": hp, "hd": hd, "city": city}


def _by_name(rows: list[Any]) -> dict[str, Any]:
    return {row.region.name: row for row in rows}


def test_figures_match_the_hand_count(march: dict[str, Any]) -> None:
    rows = _by_name(assessment_rows(period=period_parse("2025-03"), scheme=assessment_scheme_current()))
    hp, hd = rows["和平区"], rows["河东区"]

    def figures(row: Any) -> dict[str, tuple[Any, ...]]:
        return {k: (i.score, i.numerator, i.denominator) for k, i in row.indicators.items()}

    assert figures(hp) == {
        "confirm_on_time": (75.0, 3, 4),  # c2 accepted after its deadline
        "close_on_time": (100.0, 1, 1),  # c1 (c3 was answered: no closing deadline)
        "extension": (66.7, 2, 3),  # c4 of c1, c2, c4
        "spot_check": (None, 0, 0),
        "supervision": (100.0, 1, 1),
        "repeat": (100.0, 4, 4),
        "satisfaction": (None, 0, 0),  # no ratings (followup; tested in tests/followup)
    }
    assert figures(hd) == {
        "confirm_on_time": (75.0, 3, 4),  # d2 never confirmed, its deadline passed
        "close_on_time": (None, 0, 0),
        "extension": (100.0, 2, 2),
        "spot_check": (None, 0, 0),
        "supervision": (0.0, 0, 1),  # due 6 March, never answered
        "repeat": (25.0, 1, 4),  # 宏达化工 three times
        "satisfaction": (None, 0, 0),
    }
    # Default weights 20/25/10/20/15/10/10; missing indicators (here spot checks, satisfaction) do not count.
    assert hp.total == round((75 * 20 + 100 * 25 + 66.7 * 10 + 100 * 15 + 100 * 10) / 80, 2) == 89.59
    assert hd.total == round((75 * 20 + 100 * 10 + 0 * 15 + 25 * 10) / 55, 2) == 50.0
    assert (hp.rank, hd.rank) == (1, 2)
    assert rows["蓟州区"].total is None and rows["蓟州区"].rank is None


def test_ranking_page_and_excel_export(
    client: Any, march: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    login(client, march["city"].operator)
    url = reverse("oversight:assessment")
    client.get(url, {"period": "2025-03"})
    # 4 aggregate queries and the scheme (every weight, the satisfaction rate's too), whatever the number
    # of cases
    with django_assert_max_num_queries(13):
        response = client.get(url, {"period": "2025-03"})
    body = response.content.decode()
    assert '<option value="2025-03" selected>2025年3月</option>' in body
    assert body.index("和平区") < body.index("河东区") < body.index("蓟州区")
    hedong = re.search(r'<tr data-region="河东区".*?</tr>', body, re.S)
    assert hedong is not None
    cells = dict(re.findall(r'data-indicator="(\w+)"[^>]*>(.*?)</td>', hedong.group(0), re.S))
    assert list(cells) == [key for key, _ in INDICATORS]
    shown = {k: re.sub(r"<[^>]+>", " ", v).split()[0] for k, v in cells.items()}
    assert shown == {
        "confirm_on_time": "75.0",
        "close_on_time": "—",
        "extension": "100.0",
        "spot_check": "—",
        "supervision": "0.0",
        "repeat": "25.0",
        "satisfaction": "—",
    }
    assert "89.59" in body and "50.00" in body

    response = client.get(reverse("oversight:assessment_export"), {"period": "2025-03"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = openpyxl.load_workbook(BytesIO(response.content))
    assert wb.sheetnames == ["考核排名", "计算明细", "考核权重"]
    ws = wb["考核排名"]
    header = [c.value for c in ws[1]]
    assert header == [
        "排名",
        "区",
        "综合得分",
        "按期确认率",
        "按期办结率",
        "未延期率",
        "抽查得分",
        "督办按期回复率",
        "非重复举报率",
        "回访满意率",
    ]
    first, second = [c.value for c in ws[2]], [c.value for c in ws[3]]
    assert first == [1, "和平区", 89.59, 75.0, 100.0, 66.7, None, 100.0, 100.0, None]
    assert second == [2, "河东区", 50.0, 75.0, None, 100.0, None, 0.0, 25.0, None]
    assert ws.max_row == 17  # header + 16 districts


def test_weights_are_configurable_by_the_city_head(client: Any, march: dict[str, Any]) -> None:
    city = march["city"]
    weights = {name: 0 for name in AssessmentScheme.WEIGHT_FIELDS}
    data = {**weights, "w_repeat": 100, "repeat_threshold": 3}
    login(client, city.operator)
    assert client.post(reverse("oversight:assessment_weights"), data).status_code == 403
    login(client, city.head)
    assert client.get(reverse("oversight:assessment_weights")).status_code == 200
    assert client.post(reverse("oversight:assessment_weights"), data).status_code == 302
    rows = _by_name(assessment_rows(period=period_parse("2025-03"), scheme=assessment_scheme_current()))
    assert (rows["和平区"].total, rows["河东区"].total) == (100.0, 25.0)
    response = client.post(reverse("oversight:assessment_weights"), {**weights, "repeat_threshold": 3})
    assert response.status_code == 422 and "权重不能全部为0" in response.content.decode()


def test_a_weights_change_is_in_the_audit_trail(client: Any, march: dict[str, Any]) -> None:
    city = march["city"]
    weights = {name: 10 for name in AssessmentScheme.WEIGHT_FIELDS}
    login(client, city.head)
    response = client.post(reverse("oversight:assessment_weights"), {**weights, "w_repeat": 0})
    assert response.status_code == 422  # the threshold is missing: nothing saved, nothing recorded
    assert not AuditEntry.objects.filter(action="assessment_scheme.change").exists()
    data = {**weights, "w_repeat": 40, "repeat_threshold": 4}
    assert client.post(reverse("oversight:assessment_weights"), data).status_code == 302
    entry = AuditEntry.objects.get(action="assessment_scheme.change")
    scheme = assessment_scheme_current()
    assert (entry.actor_id, entry.object_type, entry.object_id) == (
        city.head.pk,
        "assessment_scheme",
        str(scheme.pk),
    )
    assert entry.detail["from"] == {**AssessmentScheme().weights(), "repeat_threshold": 3}
    assert entry.detail["to"] == {**{k: 10 for k in scheme.weights()}, "repeat": 40, "repeat_threshold": 4}
    assert audit_verify().ok


def test_assessment_is_refused_to_handlers_district_operators_and_administrators(
    client: Any, march: dict[str, Any], outsiders: dict[str, Any]
) -> None:
    hp, city = march["hp"], march["city"]
    for user in (hp.handler, hp.operator, city.handler, *outsiders.values()):
        login(client, user)
        assert client.get(reverse("oversight:assessment")).status_code == 403
        assert client.get(reverse("oversight:assessment_export")).status_code == 403
        assert client.get(reverse("oversight:assessment_weights")).status_code == 403
    for user in (hp.head, hp.reviewer):
        login(client, user)
        assert client.get(reverse("oversight:assessment")).status_code == 200
        assert client.get(reverse("oversight:assessment_weights")).status_code == 403
