"""Every monthly figure on the fixed fixture (conftest.py), compared with hand-counted values."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from eco12369.stats import services
from eco12369.stats.figures import (
    Headline,
    Month,
    MonthlyFigures,
    combine,
    headline_by_district,
    headline_figures,
    monthly_figures,
    violations_stated,
)

from .conftest import EXPECTED, GENERATED_AT, MARCH, Scenario, at

pytestmark = pytest.mark.django_db


def counts(rows: tuple) -> dict[str, int]:
    return {r.key: r.count for r in rows}


def test_month_boundaries_are_shanghai_calendar_months() -> None:
    m = Month.parse("2025-03")
    assert (m.start.isoformat(), m.end.isoformat()) == (
        "2025-03-01T00:00:00+08:00",
        "2025-04-01T00:00:00+08:00",
    )
    assert Month(2025, 1).previous() == Month(2024, 12)
    assert Month(2024, 12).next() == Month(2025, 1)
    assert m.last_year() == Month(2024, 3)
    assert m.label == "2025年3月"
    for bad in ("2025-13", "2025-3", "x", "2025-00"):
        with pytest.raises(ValueError):
            Month.parse(bad)


def test_headline_of_the_district_matches_the_hand_count(scenario: Scenario) -> None:
    h = headline_figures(region=scenario.hp, month=MARCH, as_of=GENERATED_AT)
    for name, expected in EXPECTED.items():
        assert getattr(h, name) == expected, name


def test_breakdowns_and_top_lists_match_the_hand_count(scenario: Scenario) -> None:
    f = monthly_figures(region=scenario.hp, month=MARCH, as_of=GENERATED_AT)
    assert counts(f.by_kind) == {"report": 7, "consultation": 1, "suggestion": 0, "other": 0}
    assert counts(f.by_category) == {"air": 3, "water": 2, "noise": 1, "hazardous_waste": 1, "other": 1}
    assert counts(f.by_channel) == {
        "wechat_chat": 4,
        "wechat_h5": 2,
        "phone": 1,
        "forwarded": 0,
        "api": 1,
        "other": 0,
    }
    assert counts(f.by_state) == {
        "received": 2,
        "escalated": 0,
        "accepted": 0,
        "handling": 1,
        "in_review": 0,
        "closed": 5,
    }
    assert counts(f.by_outcome) == {
        "handled": 3,
        "answered": 1,
        "handed_over": 1,
        "duplicate": 1,
        "withdrawn": 0,
    }
    assert counts(f.confirmation) == {
        "accepted": 3,
        "answered": 1,
        "handed_over": 1,
        "duplicate": 1,
        "withdrawn": 0,
        "reply_in_review": 0,
        "unconfirmed": 2,
    }
    assert sum(counts(f.confirmation).values()) == f.headline.received  # a partition of the month's cases
    assert [(r.name, r.count) for r in f.top_parties] == [("甲化工厂", 3), ("乙工地", 2), ("丙公司", 1)]
    assert [(r.name, r.count) for r in f.top_places] == [
        ("和平区南京路1号", 3),
        ("和平区滨江道5号", 2),
        ("和平区大沽路8号", 1),
    ]
    assert [r.label for r in f.by_category] == ["大气", "水", "噪声", "危险废物", "其他"]


def test_previous_month_and_last_year_and_their_changes(scenario: Scenario) -> None:
    f = monthly_figures(region=scenario.hp, month=MARCH, as_of=GENERATED_AT)
    prev, ly = f.previous, f.last_year
    assert (prev.received, prev.confirmed, prev.confirmed_on_time, prev.closed, prev.overdue_open) == (
        2,
        2,
        2,
        0,
        0,
    )
    assert prev.confirm_rate == 100.0 and prev.close_rate is None and prev.avg_handling_days is None
    assert (ly.received, ly.confirmed, ly.closed, ly.closed_on_time, ly.substantiated) == (1, 1, 1, 1, 1)
    assert ly.avg_handling_days == 19.0
    changes = {c.key: c for c in f.changes()}
    assert (changes["received"].mom_delta, changes["received"].mom_pct) == (6, 300.0)
    assert (changes["received"].yoy_delta, changes["received"].yoy_pct) == (7, 700.0)
    assert changes["closed"].mom_delta == 6 and changes["closed"].mom_pct is None  # from zero: no percentage
    assert changes["confirm_rate"].mom_delta == -28.6 and changes["confirm_rate"].mom_pct is None  # points
    assert changes["avg_handling_days"].yoy_delta == -4.0
    assert changes["overdue_open"].current == 2


def test_other_districts_and_the_city_are_separate(scenario: Scenario) -> None:
    hd = headline_figures(region=scenario.hd, month=MARCH, as_of=GENERATED_AT)
    assert (hd.received, hd.confirmed, hd.confirmed_on_time, hd.closed, hd.overdue_open) == (1, 1, 1, 0, 0)
    city = headline_figures(region=None, month=MARCH, as_of=GENERATED_AT)
    assert (city.received, city.confirmed, city.confirmed_on_time) == (10, 7, 6)
    assert (city.overdue_unconfirmed, city.overdue_unclosed) == (2, 1)  # C6, C14 (city centre) ; C9
    assert headline_figures(region=scenario.city, month=MARCH, as_of=GENERATED_AT) == city


def test_side_by_side_uses_one_grouped_query_per_table_and_matches_each_district(scenario: Scenario) -> None:
    with CaptureQueriesContext(connection) as ctx:
        rows = headline_by_district(month=MARCH, as_of=GENERATED_AT)
    assert (
        len(ctx.captured_queries) == 3
    )  # cases grouped by region, extensions grouped by region, the districts
    by_name = {r.name: r.headline for r in rows}
    assert len(by_name) == 16
    assert by_name["和平区"] == headline_figures(region=scenario.hp, month=MARCH, as_of=GENERATED_AT)
    assert by_name["河东区"].received == 1
    assert by_name["南开区"] == Headline()


def test_the_whole_report_is_a_fixed_number_of_aggregate_queries(scenario: Scenario) -> None:
    with CaptureQueriesContext(connection) as ctx:
        monthly_figures(region=scenario.hp, month=MARCH, as_of=GENERATED_AT)
    assert len(ctx.captured_queries) <= 14
    assert all(
        "GROUP BY" in q["sql"] or "COUNT(" in q["sql"] or "SUM(" in q["sql"] for q in ctx.captured_queries
    )


def test_an_unfinished_month_counts_overdue_up_to_now(scenario: Scenario) -> None:
    import datetime as dt

    # On 2025-03-11 C6 did not exist yet and C9's closing deadline (3-04) had passed.
    h = headline_figures(
        region=scenario.hp, month=MARCH, as_of=dt.datetime.fromisoformat("2025-03-11T12:00+08:00")
    )
    assert h.overdue_unclosed == 1 and h.overdue_unconfirmed == 0


def test_snapshot_round_trips_through_json(scenario: Scenario) -> None:
    import json

    f = monthly_figures(region=None, month=MARCH, as_of=GENERATED_AT)
    back = MonthlyFigures.from_json(json.loads(json.dumps(f.to_json())))
    assert back == f
    assert back.is_city and len(back.districts) == 16


def test_combine_adds_counts_and_recomputes_rates(scenario: Scenario) -> None:
    hp = monthly_figures(region=scenario.hp, month=MARCH, as_of=GENERATED_AT)
    hd = monthly_figures(region=scenario.hd, month=MARCH, as_of=GENERATED_AT)
    both = combine([hp, hd], name="合计")
    assert both is not None
    assert both.headline.received == 9 and both.headline.confirmed == 7
    # 河东区 adds C13, confirmed on time: (5 + 1) / (7 + 1)
    assert both.headline.confirm_rate == round(100 * 6 / 8, 1)
    assert counts(both.by_category)["air"] == 4
    assert combine([], name="x") is None


@pytest.mark.parametrize(
    ("text", "stated"),
    [
        ("超标排放废水。", True),
        ("无证排污，废水直排河道。", True),  # starts with 无 but states a violation
        ("存在未批先建问题。", True),
        ("", False),
        ("无", False),
        ("无。", False),
        ("未发现环境违法问题。", False),
        ("经现场检查，未发现该企业存在违法排污行为。", False),
        ("举报情况不属实。", False),
        ("无明显环境违法问题", False),
        ("暂无", False),
        ("不存在环境违法问题", False),
    ],
)
def test_substantiation_rule(text: str, stated: bool) -> None:
    assert violations_stated(text) is stated


def test_a_month_without_data_compares_as_a_dash(scenario: Scenario, client: Client) -> None:
    """Issue 12, D19: 河东区 had nothing in March 2024 (nor in February 2025), so 同比 and 环比 say "—",
    not "+1" against an empty month; 和平区, with data a year before, keeps its figures."""
    hd = monthly_figures(region=scenario.hd, month=MARCH, as_of=GENERATED_AT)
    assert hd.headline.received == 1 and not hd.last_year.has_data
    changes = {c.key: c for c in hd.changes()}
    assert changes["received"].yoy_delta is None and changes["received"].last_year is None
    assert changes["received"].mom_delta is None
    hp = {c.key: c for c in monthly_figures(region=scenario.hp, month=MARCH, as_of=GENERATED_AT).changes()}
    assert hp["received"].yoy_delta == 7
    with at(2025, 4, 2, 10):
        report = services.monthly_report_generate(
            actor=scenario.people.op_hd, region=scenario.hd, month=MARCH
        )
    client.force_login(scenario.people.op_hd)
    page = client.get(f"/stats/{scenario.hd.code}/{MARCH.key}/").content.decode()
    assert report.pk and "同比 <b" in page
    assert re.findall(r"同比 <b class=\"\w+\">([^<]*)</b>", page) and all(
        v == "—" for v in re.findall(r"同比 <b class=\"\w+\">([^<]*)</b>", page)
    )
