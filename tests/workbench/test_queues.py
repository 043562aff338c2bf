"""The work queues: the right cases in each, counts in the tabs, colours and time left, pagination,
and a bounded number of queries whatever the number of rows."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from eco12369.cases import services

from .conftest import MONDAY, advance

pytestmark = pytest.mark.django_db


def numbers_on(response) -> set[str]:
    return set(re.findall(r'class="case-link" href="/cases/([A-Z0-9]+)/"', response.content.decode()))


def tab_count(response, key: str) -> int:
    match = re.search(
        rf'class="tab tab-{key}[^"]*"[^>]*>\s*[^<]+<span class="count[^"]*">(\d+)</span>',
        response.content.decode(),
    )
    assert match, f"no tab {key}"
    return int(match.group(1))


@pytest.fixture
def cases_in_every_state(heping, make_case):
    """One 和平区 case in each state of the main path, made on MONDAY."""
    with time_machine.travel(MONDAY, tick=False):
        made = {
            state: advance(make_case("和平区"), heping, state)
            for state in ("received", "accepted", "handling", "in_review", "closed")
        }
    return made


def test_each_queue_lists_its_cases(client: Client, heping, cases_in_every_state) -> None:
    c = cases_in_every_state
    client.force_login(heping.operator)
    with time_machine.travel(MONDAY + dt.timedelta(hours=1), tick=False):
        expected = {
            "confirm": {c["received"].number},
            "accepted": {c["accepted"].number},
            "handling": {c["handling"].number},
            "in_review": {c["in_review"].number},
            "due_soon": set(),
            "overdue": set(),
            "closed": {c["closed"].number},
        }
        for key, numbers in expected.items():
            response = client.get(reverse("workbench:queue_tab", args=[key]))
            assert response.status_code == 200
            assert numbers_on(response) == numbers, key
            assert tab_count(response, key) == len(numbers)


def test_default_queue_and_unknown_queue(client: Client, heping, cases_in_every_state) -> None:
    client.force_login(heping.operator)
    response = client.get(reverse("workbench:queue"))
    assert numbers_on(response) == {cases_in_every_state["received"].number}
    assert client.get(reverse("workbench:queue_tab", args=["nope"])).status_code == 404


def test_handler_sees_only_their_department(client: Client, heping, make_case, make_user) -> None:
    other_dept = heping.operator.agency.departments.exclude(pk=heping.department.pk).first()
    mine = advance(make_case("和平区"), heping, "handling")
    theirs = services.case_assign(
        case=services.case_accept(case=make_case("和平区"), actor=heping.operator),
        actor=heping.operator,
        department=other_dept,
    )
    client.force_login(heping.handler)
    response = client.get(reverse("workbench:queue"))
    text = response.content.decode()
    # A handler's tabs: no confirmation or assignment queues.
    assert "tab-confirm" not in text and "tab-accepted" not in text
    assert numbers_on(response) == {mine.number}
    assert theirs.number not in text
    # The operator of the bureau sees both in 办理中.
    client.force_login(heping.operator)
    response = client.get(reverse("workbench:queue_tab", args=["handling"]))
    assert numbers_on(response) == {mine.number, theirs.number}


def test_reviewer_queue_shows_replies_to_review(client: Client, heping, cases_in_every_state) -> None:
    client.force_login(heping.reviewer)
    response = client.get(reverse("workbench:queue"))
    assert response.context["current"].key == "in_review"
    assert numbers_on(response) == {cases_in_every_state["in_review"].number}


def test_due_soon_and_overdue_with_colours_and_time_left(client: Client, heping, make_case) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = make_case("和平区")  # confirmation due Wednesday 2025-03-05 23:59:59
        accepted = advance(make_case("和平区"), heping, "accepted")  # closing due in 60 days

    with time_machine.travel(dt.datetime(2025, 3, 3, 18, 0, tzinfo=MONDAY.tzinfo), tick=False):
        client.force_login(heping.operator)  # sessions time out when idle: sign in at each moment
        response = client.get(reverse("workbench:queue_tab", args=["confirm"]))
        text = response.content.decode()
        assert "deadline-ok" in text
        assert "剩余2天5小时" in text
        assert numbers_on(client.get(reverse("workbench:queue_tab", args=["due_soon"]))) == set()

    with time_machine.travel(dt.datetime(2025, 3, 5, 20, 0, tzinfo=MONDAY.tzinfo), tick=False):
        client.force_login(heping.operator)  # sessions time out when idle: sign in at each moment
        response = client.get(reverse("workbench:queue_tab", args=["due_soon"]))
        assert numbers_on(response) == {case.number}
        text = response.content.decode()
        assert "deadline-soon" in text and "剩余3小时59分钟" in text
        assert tab_count(response, "due_soon") == 1
        assert tab_count(response, "overdue") == 0

    with time_machine.travel(dt.datetime(2025, 3, 8, 1, 0, tzinfo=MONDAY.tzinfo), tick=False):
        client.force_login(heping.operator)  # sessions time out when idle: sign in at each moment
        response = client.get(reverse("workbench:queue_tab", args=["overdue"]))
        assert numbers_on(response) == {case.number}
        assert accepted.number not in response.content.decode()
        text = response.content.decode()
        assert "deadline-overdue" in text and "已超期2天" in text
        assert 'class="count count-danger">1<' in text


def test_pagination_twenty_per_page(client: Client, heping, make_case) -> None:
    for _ in range(23):
        make_case("和平区")
    client.force_login(heping.operator)
    first = client.get(reverse("workbench:queue_tab", args=["confirm"]))
    assert len(numbers_on(first)) == 20
    assert "（共 23 件）" in first.content.decode()
    second = client.get(reverse("workbench:queue_tab", args=["confirm"]) + must_link(first, "next"))
    assert len(numbers_on(second)) == 3
    assert not numbers_on(first) & numbers_on(second)
    assert link(second, "next") is None


def must_link(response, rel: str) -> str:
    target = link(response, rel)
    assert target is not None, f"no {rel} link on the page"
    return target


def link(response, rel: str) -> str | None:
    """The pager's ``rel`` (next, prev, first) link of the page, as ``?query``."""
    match = re.search(rf'href="(\?[^"]*)"[^>]*rel="{rel}"', response.content.decode())
    return html.unescape(match.group(1)) if match else None


def test_htmx_tab_returns_only_the_panel(client: Client, heping, cases_in_every_state) -> None:
    client.force_login(heping.operator)
    response = client.get(
        reverse("workbench:queue_tab", args=["closed"]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-panel"
    )
    text = response.content.decode()
    assert text.lstrip().startswith('<section id="queue-panel"')
    assert "<html" not in text
    assert numbers_on(response) == {cases_in_every_state["closed"].number}


@pytest.mark.parametrize("rows", [2, 30])
def test_queue_query_count_is_exact(
    client: Client, heping, make_case, rows, django_assert_num_queries
) -> None:
    for _ in range(rows):
        make_case("和平区")
    client.force_login(heping.operator)
    # session, user, roles, agency; the 7 tab counts in 4 queries (待确认, 待批转, 办理中 and 待审核 grouped by
    # state in one; 即将超期; 已超期; 已办结 up to the cap); one page of rows, the saved views menu (我的视图) and
    # the session save of the idle timeout (savepoint, update, release): exactly 13, whatever the number of rows.
    with django_assert_num_queries(13):
        response = client.get(reverse("workbench:queue_tab", args=["confirm"]))
    assert len(numbers_on(response)) == min(rows, 20)


# ------------------------------------------------------------------ provisional deadlines, calendar gaps
def _row(response, number: str) -> str:
    text = response.content.decode()
    match = re.search(
        rf'<tr class="row-[a-z]+[^"]*"[^>]*>\s*<td data-label="编号"><a class="case-link" href="/cases/{number}/".*?</tr>',
        text,
        re.S,
    )
    assert match, f"no row for {number}"
    return match.group(0)


def test_provisional_deadlines_are_marked_in_queues_and_search(client: Client, heping, make_case) -> None:
    with time_machine.travel(MONDAY, tick=False):
        known = make_case("和平区")
    # 2099: a year chinesecalendar does not know and nobody has entered.
    with time_machine.travel(dt.datetime(2099, 3, 2, 10, 0, tzinfo=MONDAY.tzinfo), tick=False):
        provisional = make_case("和平区")
        client.force_login(heping.operator)
        queue = client.get(reverse("workbench:queue_tab", args=["confirm"]))
        search = client.get(reverse("workbench:search"), {"district": provisional.region_id})
    assert provisional.deadline_provisional and not known.deadline_provisional
    for response in (queue, search):
        row = _row(response, provisional.number)
        assert 'class="tag tag-pending provisional"' in row and ">暂定<" in row
        assert 'title="期限所在年份的法定节假日安排尚未录入' in row
    # The case with a deadline in a known year has no marker.
    assert "暂定" not in _row(queue, known.number)


DECEMBER_2026 = dt.datetime(2026, 12, 3, 10, 0, tzinfo=MONDAY.tzinfo)  # the package knows 2026, not 2027
GAP_TEXT = "2027年的法定节假日安排尚未录入"


def test_calendar_gap_banner_for_the_administrator_only(
    client: Client, heping, make_user, django_assert_max_num_queries
) -> None:
    """The banner goes to the one who can act on it, the administrator (issue 12, D11); heads, the city
    centre and the operators see "暂定" on the deadlines it touches."""
    with time_machine.travel(DECEMBER_2026, tick=False):
        admin = make_user("admin")
        client.force_login(admin)
        page = client.get(reverse("workbench:home")).content.decode()
        assert GAP_TEXT in page and "工作日调整" in page
        assert f'href="{reverse("admin:cases_calendaryear_changelist")}"' in page
        for user in (
            heping.head,
            make_user("operator", district_name=None),
            make_user("head", district_name=None),
        ):
            client.force_login(user)
            # 13 as an operator's (test_queue_query_count_is_exact) and the entered holiday years (2027)
            with django_assert_max_num_queries(14):
                page = client.get(reverse("workbench:queue")).content.decode()
            assert GAP_TEXT not in page
        client.force_login(heping.operator)
        assert GAP_TEXT not in client.get(reverse("workbench:queue")).content.decode()
        # Once the year's notice is entered the banner goes.
        services.calendar_year_enter(year=2027, holidays=[dt.date(2027, 1, 1)], workdays=[], note="通知")
        client.force_login(admin)
        assert GAP_TEXT not in client.get(reverse("workbench:home")).content.decode()


def test_due_soon_hint_follows_the_configured_fraction(client: Client, heping, settings) -> None:
    client.force_login(heping.operator)
    text = client.get(reverse("workbench:queue_tab", args=["due_soon"])).content.decode()
    assert "剩余时间不足期限20%的未办结举报件" in text
    settings.ECO = {**settings.ECO, "DUE_SOON_FRACTION": 0.15}
    text = client.get(reverse("workbench:queue_tab", args=["due_soon"])).content.decode()
    assert "剩余时间不足期限15%的未办结举报件" in text and "20%" not in text
