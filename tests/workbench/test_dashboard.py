"""The home dashboard (issue 15) over HTTP: what each role sees, that every number links to a list holding
exactly that many cases, the district head's scope, and the queries each page costs."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from eco12369.cases import services
from eco12369.cases.models import Case

from .conftest import FIVE_PARTS, TZ, advance

pytestmark = pytest.mark.django_db

# A Wednesday in March 2025 (working days known); the cases below are received before it.
NOW = dt.datetime(2025, 3, 12, 10, 0, tzinfo=TZ)

NUMBER_LINK = re.compile(r'<a href="([^"]+)"[^>]*>(?:<span class="dash-number">)?(\d+)<')
DATA_COUNT = re.compile(r'<a href="([^"]+)" data-count="(\d+)"')


DASHBOARD_DATA = re.compile(r'id="dashboard-data" type="application/json">(.*?)</script>')


def dashboard_data(text: str) -> Any:
    """The figures the page hands its map and charts (the JSON script element)."""
    found = DASHBOARD_DATA.search(text)
    assert found is not None, "the page has no dashboard data"
    return json.loads(found.group(1))


def at(when: dt.datetime) -> Any:
    return time_machine.travel(when, tick=False)


@pytest.fixture
def desk(make_case, heping, hexi) -> dict[str, Case]:
    """Cases in 和平区 and 河西区 at known times: this month, last month, today, overdue, due soon."""
    made: dict[str, Case] = {}
    with at(dt.datetime(2025, 2, 17, 9, 0, tzinfo=TZ)):
        made["feb"] = make_case("和平区", category="noise", description="二月份就开始了，夜里工地电锯声")
    with at(dt.datetime(2025, 3, 3, 8, 30, tzinfo=TZ)):
        made["stuck"] = make_case(
            "和平区",
            category="water",
            reported_party="某某印染厂",
            description="印染厂往河里排红水！！！好几天了",
            latitude=Decimal("39.117300"),
            longitude=Decimal("117.203100"),
        )
        made["handling"] = advance(
            make_case("和平区", category="air", reported_party="XX钢构", description="喷漆味儿太大"),
            heping,
            "handling",
        )
    with at(dt.datetime(2025, 3, 11, 16, 0, tzinfo=TZ)):
        made["yesterday"] = make_case(
            "和平区",
            category="air",
            channel="phone",
            description="烧烤摊油烟大 熏得窗户都不敢开",
            latitude=Decimal("39.120100"),
            longitude=Decimal("117.205500"),
        )
        made["hexi"] = make_case(
            "河西区",
            category="hazardous_waste",
            reported_party='=HYPERLINK("x")',
            description="废机油桶堆在院子里，往地沟里漏",
            latitude=Decimal("39.085000"),
            longitude=Decimal("117.225000"),
        )
    with at(NOW - dt.timedelta(hours=1)):
        made["today"] = make_case("和平区", category="water", description="小区门口的河今天又发臭了")
    return made


def numbers_and_links(text: str) -> list[tuple[str, int]]:
    found = [(html.unescape(href), int(n)) for href, n in DATA_COUNT.findall(text)]
    found += [(html.unescape(href), int(n)) for href, n in NUMBER_LINK.findall(text)]
    return found


def listed(client: Client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["total"]


def test_operator_sees_own_queues_and_oldest_cases(
    client: Client, heping, desk, django_assert_num_queries
) -> None:
    client.force_login(heping.operator)
    with at(NOW):
        # session, user, roles, agency; the six queue counts in three queries (the four work queues grouped
        # by state in one, due soon, overdue), the oldest of each of the four work queues; the session's
        # renewal (3)
        with django_assert_num_queries(14):
            response = client.get(reverse("workbench:home"))
        text = response.content.decode()
        assert response.status_code == 200
        assert "我的待办" in text and "概况" not in text and "dashboard-data" not in text
        tiles = dict(DATA_COUNT.findall(text))
        assert tiles[reverse("workbench:queue_tab", args=["confirm"])] == "4"  # stuck, yesterday, today, feb
        assert tiles[reverse("workbench:queue_tab", args=["handling"])] == "1"
        # Each count is the queue's own.
        for href, n in tiles.items():
            assert client.get(href).context["total"] == int(n), href
        # The oldest waiting cases, oldest first, each linking to its page; nothing of 河西区.
        oldest = re.findall(r'class="case-link" href="/cases/(\w+)/"', text)
        assert oldest[:3] == [desk["feb"].number, desk["stuck"].number, desk["handling"].number]
        assert desk["hexi"].number not in text


def test_handler_sees_only_the_departments_work(client: Client, heping, desk) -> None:
    client.force_login(heping.handler)
    with at(NOW):
        text = client.get(reverse("workbench:home")).content.decode()
    assert re.findall(r'class="case-link" href="/cases/(\w+)/"', text) == [desk["handling"].number]
    assert "待确认" not in re.sub(r"<table.*?</table>", "", text, flags=re.S)  # no confirmation queue
    assert "概况" not in text


def test_district_head_sees_the_district_only_and_every_number_is_its_list(
    client: Client, heping, desk, django_assert_num_queries
) -> None:
    client.force_login(heping.head)
    with at(NOW):
        # the operator's 14, less the counts due soon and overdue (the overview's deadlines hold them), and:
        # today's and the month's rollup, the 12 months' rollup, the deadlines (open cases by index: due soon,
        # overdue), the map grid, the district's name
        with django_assert_num_queries(19):
            response = client.get(reverse("workbench:home"))
        text = response.content.decode()
        overview = response.context["overview"]
        assert overview["scope"] == "和平区"
        assert overview["intake_today"] == 1
        assert (
            overview["intake_month"] == 4
        )  # stuck, handling, yesterday, today; not 河西区's, not February's
        assert overview["overdue"] >= 1  # the case received on 3 March is not confirmed yet
        assert [d["name"] for d in overview["districts"]] == ["和平区"]
        data = dashboard_data(text)
        assert [d["name"] for d in data["districts"]] == ["和平区"]
        assert data["focus"] == "和平区"
        assert sum(p["value"][2] for p in data["points"]) == 2  # the located March cases of 和平区
        assert [m["value"] for m in data["trend"]][-2:] == [1, 4]  # February, March
        # Every number on the page is a link, and the list behind it holds that many cases.
        links = numbers_and_links(text)
        assert len(links) > 20
        for href, n in links:
            if href.startswith("/cases/"):
                continue
            assert listed(client, href) == n, href
        assert desk["hexi"].number not in text and "河西区" not in text


def test_city_centre_handler_sees_the_city_overview_but_counts_only_their_own_deadline_queues(
    client: Client, make_user, desk
) -> None:
    """The overview's deadlines are the city's; a handler's queues due soon and overdue are their
    department's, counted as such (not taken from the overview)."""
    handler = make_user("handler", district_name=None)
    client.force_login(handler)
    with at(NOW):
        response = client.get(reverse("workbench:home"))
        overview = response.context["overview"]
        assert overview is not None and overview["overdue"] >= 1
        tiles = dict(DATA_COUNT.findall(response.content.decode()))
        for key in ("due_soon", "overdue"):
            href = reverse("workbench:queue_tab", args=[key])
            assert tiles[href] == str(listed(client, href)), key
        assert tiles[reverse("workbench:queue_tab", args=["overdue"])] == "0"


def test_city_sees_every_district_and_the_links_match(
    client: Client, make_user, desk, django_assert_num_queries
) -> None:
    city = make_user("operator", "head", district_name=None)
    client.force_login(city)
    with at(NOW):
        with django_assert_num_queries(19):  # as the district head's: only the filters differ
            response = client.get(reverse("workbench:home"))
        text = response.content.decode()
        overview = response.context["overview"]
        assert overview["scope"] == "全市"
        assert overview["intake_month"] == 5
        rows = {d["name"]: d["values"] for d in overview["districts"]}
        assert len(rows) == 16
        assert (
            rows["河西区"]["intake"] == 1 and rows["和平区"]["intake"] == 4 and rows["南开区"]["intake"] == 0
        )
        categories = {c["key"]: c["value"] for c in overview["categories"]}
        assert categories == {"air": 2, "water": 2, "noise": 0, "hazardous_waste": 1, "other": 0}
        for href, n in numbers_and_links(text):
            if not href.startswith("/cases/"):
                assert listed(client, href) == n, href
        # The map's regions and points link to the lists too.
        data = dashboard_data(text)
        hexi = next(d for d in data["districts"] if d["name"] == "河西区")
        for measure, link in hexi["links"].items():
            assert listed(client, link) == hexi["values"][measure], measure
        for point in data["points"]:
            assert listed(client, point["href"]) >= point["value"][2]


def test_a_closing_and_a_new_case_move_the_numbers(client: Client, heping, make_case, desk) -> None:
    client.force_login(heping.head)
    with at(NOW):
        before = client.get(reverse("workbench:home")).context
        case = services.case_submit_reply(case=desk["handling"], actor=heping.handler, **FIVE_PARTS)
        services.case_approve(case=case, actor=heping.reviewer)
        make_case("和平区", category="noise", channel="wechat_h5", description="又来了，广场舞音响开到最大")
        after = client.get(reverse("workbench:home")).context
    counts = {c["queue"].key: c["count"] for c in before["queue_cards"]}
    counts_after = {c["queue"].key: c["count"] for c in after["queue_cards"]}
    assert (counts["handling"], counts_after["handling"]) == (1, 0)
    assert counts_after["confirm"] == counts["confirm"] + 1
    assert after["overview"]["intake_today"] == before["overview"]["intake_today"] + 1
    assert after["overview"]["intake_month"] == before["overview"]["intake_month"] + 1


def test_user_without_a_case_role_keeps_the_plain_page(client: Client, make_user) -> None:
    admin = make_user("admin", district_name=None)
    client.force_login(admin)
    response = client.get(reverse("workbench:home"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "没有办理举报件的角色" in text and "我的待办" not in text and "echarts" not in text


def test_measure_parameter_is_checked(client: Client, heping, desk) -> None:
    client.force_login(heping.head)
    with at(NOW):
        good = client.get(reverse("workbench:home") + "?measure=overdue").context["overview"]
        bad = client.get(reverse("workbench:home") + "?measure=<script>").context["overview"]
    assert good["measure_label"] == "已超期" and bad["measure_label"] == "本月接收"
