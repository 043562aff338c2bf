"""Staff performance (Art. 18): per-person counts from the timeline, visible to the head (own agency) and
the city centre's leadership only."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.orgs.models import Agency
from eco12369.oversight.performance import performance_rows
from eco12369.oversight.periods import period_parse

from .conftest import FIVE_PARTS, Bureau, City, login

TZ = ZoneInfo("Asia/Shanghai")
URL = reverse("oversight:performance")


def at(day: int, month: int = 3) -> Any:
    return time_machine.travel(dt.datetime(2025, month, day, 10, 0, tzinfo=TZ), tick=False)


@pytest.fixture
def work(
    make_bureau: Callable[[str], Bureau], city: City, make_case: Callable[..., Case]
) -> Iterator[dict[str, Any]]:
    hp, hd = make_bureau("和平区"), make_bureau("河东区")
    dept = hp.handler.department
    with at(3):
        c1 = services.case_accept(case=make_case("和平区"), actor=hp.operator)
        c2 = services.case_accept(case=make_case("和平区"), actor=hp.operator)
        c3 = make_case("和平区")
        d1 = services.case_accept(case=make_case("河东区"), actor=hd.operator)
    with at(10):
        services.case_accept(case=c3, actor=hp.operator)  # after the 5 March deadline: late
        for case in (c1, c2):
            case = services.case_assign(case=case, actor=hp.operator, department=dept)
            services.case_submit_reply(case=case, actor=hp.handler, **FIVE_PARTS)
        services.case_approve(case=c1, actor=hp.reviewer)
        services.case_return(case=c2, actor=hp.reviewer, note="现场检查情况不具体")
        services.case_submit_reply(case=c2, actor=hp.handler, **FIVE_PARTS)
        services.case_approve(case=c2, actor=hp.reviewer)
    with at(10, month=4):
        yield {"hp": hp, "hd": hd, "city": city, "d1": d1}


def test_counts_per_person_from_the_timeline(work: dict[str, Any]) -> None:
    hp, hd = work["hp"], work["hd"]
    staff = [hp.operator, hp.handler, hp.reviewer, hp.head, hd.operator]
    rows = {r.user.pk: r for r in performance_rows(staff=staff, period=period_parse("2025-03"))}
    op, handler, reviewer, head = (rows[u.pk] for u in (hp.operator, hp.handler, hp.reviewer, hp.head))
    assert (op.confirmed, op.confirmed_on_time, op.on_time_rate) == (3, 2, 66.7)
    assert (handler.handled, handler.handled_on_time, handler.replies_returned, handler.on_time_rate) == (
        3,
        3,
        1,
        100.0,
    )
    assert (reviewer.reviewed, reviewer.approved, reviewer.returned_by_me) == (3, 2, 1)
    assert (head.confirmed, head.handled, head.reviewed, head.on_time_rate) == (0, 0, 0, None)
    assert rows[hd.operator.pk].confirmed == 1
    # Another period: nothing.
    february = {r.user.pk: r for r in performance_rows(staff=staff, period=period_parse("2025-02"))}
    assert february[hp.operator.pk].confirmed == 0


def test_a_district_head_sees_only_the_own_agency(client: Any, work: dict[str, Any]) -> None:
    hp = work["hp"]
    login(client, hp.head)
    body = client.get(URL, {"period": "2025-03"}).content.decode()
    assert "和平区操作员" in body and "和平区承办人" in body
    assert "河东区操作员" not in body
    hd_agency = Agency.objects.get(region__name="河东区", kind=Agency.Kind.DISTRICT_BUREAU)
    body = client.get(URL, {"period": "2025-03", "agency": hd_agency.pk}).content.decode()
    assert "河东区操作员" not in body and "和平区操作员" in body  # another agency cannot be asked for


def test_the_city_centre_sees_every_agency_and_filters(client: Any, work: dict[str, Any]) -> None:
    city = work["city"]
    hd_agency = Agency.objects.get(region__name="河东区", kind=Agency.Kind.DISTRICT_BUREAU)
    for user in (city.reviewer, city.head):
        login(client, user)
        body = client.get(URL, {"period": "2025-03"}).content.decode()
        assert "和平区操作员" in body and "河东区操作员" in body and "66.7%" in body
        body = client.get(URL, {"period": "2025-03", "agency": hd_agency.pk}).content.decode()
        assert "河东区操作员" in body and "和平区操作员" not in body


def test_handlers_operators_and_district_reviewers_cannot_see_it(
    client: Any, work: dict[str, Any], outsiders: dict[str, Any]
) -> None:
    hp, city = work["hp"], work["city"]
    for user in (hp.handler, hp.operator, hp.reviewer, city.operator, city.handler, *outsiders.values()):
        login(client, user)
        assert client.get(URL).status_code == 403


def test_performance_page_query_count_is_bounded(
    client: Any, work: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    login(client, work["city"].head)
    client.get(URL, {"period": "2025-03"})
    with django_assert_max_num_queries(13):  # + the page's 表彰与惩处 records, one query
        assert client.get(URL, {"period": "2025-03"}).status_code == 200


def _names(body: str) -> list[str]:
    return re.findall(r'<td data-label="姓名" class="nowrap">([^<]+)</td>', body)


def test_only_case_staff_sorted_by_any_column_and_paged(
    client: Any, work: dict[str, Any], make_user: Callable[..., Any]
) -> None:
    """Issue 12, D14: the administrator and the auditor were listed, names wrapped a character a line, and
    nothing could be sorted."""
    hp, city = work["hp"], work["city"]
    make_user("admin", district_name="和平区", display_name="管理员老周")
    make_user("auditor", district_name=None, display_name="审计员小吴")
    login(client, city.head)
    body = client.get(URL, {"period": "2025-03"}).content.decode()
    names = _names(body)
    assert "和平区操作员" in names and "管理员老周" not in names and "审计员小吴" not in names
    # Most confirmations first, then fewest; the header says which way it is sorted.
    body = client.get(URL, {"period": "2025-03", "sort": "-confirmed"}).content.decode()
    assert _names(body)[0] == "和平区操作员"
    assert re.search(
        r'<th scope="col" aria-sort="descending"><a class="sort-link" href="[^"]*sort=confirmed', body
    )
    assert (
        _names(client.get(URL, {"period": "2025-03", "sort": "confirmed"}).content.decode())[-1]
        == "和平区操作员"
    )
    body = client.get(URL, {"period": "2025-03", "sort": "-handled"}).content.decode()
    assert _names(body)[0] == hp.handler.display_name
    by_name = _names(client.get(URL, {"period": "2025-03", "sort": "name"}).content.decode())
    assert by_name == sorted(by_name)
    # Pages of 30.
    for i in range(30):
        make_user("handler", district_name="和平区", display_name=f"承办员{i:02d}号")
    first = client.get(URL, {"period": "2025-03", "sort": "name"}).content.decode()
    second = client.get(URL, {"period": "2025-03", "sort": "name", "page": 2}).content.decode()
    assert len(_names(first)) == 30 and _names(second) and not set(_names(first)) & set(_names(second))
