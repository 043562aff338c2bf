"""The home dashboard in a real browser (issue 15): the charts and the map are drawn (a canvas each, with
data in their series), a number and a map region lead to the list behind them."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from eco12369.cases.models import Case
from eco12369.orgs.geo import districts
from eco12369.orgs.models import Region
from tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = ("#chart-trend", "#chart-category", "#chart-districts", "#dash-map")


def series_sizes(page, selector: str) -> list[int]:
    """How many data items each series of the chart in ``selector`` holds (read from ECharts itself)."""
    return page.evaluate(
        """(sel) => {
            const chart = window.echarts.getInstanceByDom(document.querySelector(sel));
            return chart.getOption().series.map((s) => (s.data || []).length);
        }""",
        selector,
    )


def inner_point(name: str) -> tuple[float, float]:
    """A point well inside the district's outline (its neighbours 0.03° away are inside too)."""
    district = next(d for d in districts() if d.name == name)
    lng_min, lat_min, lng_max, lat_max = district.bbox
    steps = 20
    for i in range(1, steps):
        for j in range(1, steps):
            lng = lng_min + (lng_max - lng_min) * i / steps
            lat = lat_min + (lat_max - lat_min) * j / steps
            near = [(lng + dx, lat + dy) for dx in (-0.03, 0, 0.03) for dy in (-0.03, 0, 0.03)]
            if all(district.contains(x, y) for x, y in near):
                return lng, lat
    raise AssertionError(name)


def test_city_dashboard_charts_and_map_are_drawn_and_lead_to_the_lists(
    live_server, page, make_user, make_case
) -> None:
    heping: list[Case] = [
        make_case(
            "和平区",
            category="air",
            reported_party="XX钢构厂",
            description="喷漆味儿太冲了，一到晚上就开始",
            latitude=Decimal("39.117300"),
            longitude=Decimal("117.203100"),
        ),
        make_case(
            "和平区",
            category="water",
            description="河里漂着死鱼，水是绿的",
            latitude=Decimal("39.118100"),
            longitude=Decimal("117.204000"),
        ),
    ]
    hexi = make_case(
        "河西区",
        category="noise",
        channel="phone",
        reported_party="某某KTV",
        description="楼下KTV天天嚎到后半夜 <b>受不了</b>",
        latitude=Decimal("39.085000"),
        longitude=Decimal("117.225000"),
    )
    city = make_user("operator", "head", district_name=None)
    sign_in(page, live_server.url, city.username)
    for selector in CHARTS:
        page.locator(f"{selector}[data-drawn='1'] canvas").first.wait_for()
        assert int(page.get_attribute(selector, "data-points")) > 0, selector
    assert series_sizes(page, "#chart-trend") == [12]
    assert series_sizes(page, "#chart-category") == [3]  # air, water, noise: the categories with cases
    assert series_sizes(page, "#chart-districts") == [16, 16, 16]
    region_items, points = series_sizes(page, "#dash-map")
    assert region_items == 16 and points >= 2  # 16 districts; at least one cluster in each district
    box = page.locator("#dash-map").bounding_box()
    assert box and box["height"] > 400

    # Another measure colours the map without a reload.
    page.click(".dash-measures [data-measure=overdue]")
    page.locator("#dash-map[data-measure=overdue]").wait_for()
    assert "measure=overdue" in page.url
    page.click(".dash-measures [data-measure=intake]")
    page.locator("#dash-map[data-measure=intake]").wait_for()

    # A click on a region of the map opens the list behind its colour: 西青区 (no case) with "已超期", then
    # the point of 河西区's case, which opens the month's cases there.
    def click_at(lng: float, lat: float) -> None:
        x, y = page.evaluate(
            """(p) => window.echarts.getInstanceByDom(document.getElementById("dash-map"))
                .convertToPixel({ geoIndex: 0 }, p)""",
            [lng, lat],
        )
        box = page.locator("#dash-map").bounding_box()
        page.mouse.click(box["x"] + x, box["y"] + y)

    xiqing = Region.objects.get(name="西青区")
    page.click(".dash-measures [data-measure=overdue]")
    page.locator("#dash-map[data-measure=overdue]").wait_for()
    click_at(*inner_point("西青区"))
    page.wait_for_url(re.compile(rf".*/search/\?district={xiqing.pk}&timing=overdue$"))
    assert page.locator("#search-results a.case-link").count() == 0
    page.go_back()
    page.locator("#dash-map[data-drawn='1'] canvas").first.wait_for()
    click_at(117.225, 39.085)
    page.wait_for_url(re.compile(rf".*/search/\?district={hexi.region_id}&received_from=.*"))
    assert page.locator("#search-results a.case-link").all_inner_texts() == [hexi.number]

    # A number: 本月接收 opens the list of the month's cases, as many as it says.
    page.goto(live_server.url + "/")
    tile = page.locator(".dash-tile a", has_text="本月接收")
    assert tile.get_attribute("data-count") == "3"
    tile.click()
    page.wait_for_url(re.compile(r".*/search/\?received_from=.*"))
    assert set(page.locator("#search-results a.case-link").all_inner_texts()) == {
        hexi.number,
        *(c.number for c in heping),
    }
    assert page.console_errors == []


def test_operator_dashboard_queue_count_leads_to_the_queue(live_server, page, heping, make_case) -> None:
    waiting = make_case("和平区", description="化工厂夜里偷排，味儿大得很，窗户都不敢开")
    sign_in(page, live_server.url, heping.operator.username)
    assert page.locator("#dash-map").count() == 0  # no overview for an operator of a district
    tile = page.locator(".dash-tile a", has_text="待确认")
    assert tile.get_attribute("data-count") == "1"
    tile.click()
    page.wait_for_url(re.compile(r".*/queues/confirm/$"))
    assert page.locator("a.case-link").all_inner_texts() == [waiting.number]
    assert page.console_errors == []
