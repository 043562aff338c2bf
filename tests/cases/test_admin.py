"""The working-day calendar in the admin: entering a year's holiday notice and correcting single days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from eco12369.cases import deadlines
from eco12369.cases.models import CalendarYear, Case, WorkdayOverride
from eco12369.orgs.models import User

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date.fromisoformat


def end(day: str) -> dt.datetime:
    return dt.datetime.combine(D(day), dt.time(23, 59, 59), tzinfo=TZ)


@pytest.fixture
def client_admin(make_user: Callable[..., User]) -> Client:
    client = Client()
    client.force_login(make_user("admin", district_name=None))
    return client


# Test data in the shape of a holiday notice; NOT the real 2027 notice.
NOTICE = {
    "year": "2027",
    "note": "测试用通知",
    "holidays": "2027-01-01 元旦\n2027-02-06 至 2027-02-12 春节\n2027年4月5日 清明节\n",
    "workdays": "2027-02-13 春节调休上班\n2027/2/20\n",
}


def test_entering_a_years_holiday_notice(client_admin: Client, make_case: Callable[..., Case]) -> None:
    case = make_case(received_at=dt.datetime(2026, 12, 31, 15, 0, tzinfo=TZ))
    assert case.deadline_provisional and case.confirm_due == end("2027-01-04")

    response = client_admin.post(reverse("admin:cases_calendaryear_add"), NOTICE)
    assert response.status_code == 302, response.content.decode()[:3000]

    entry = CalendarYear.objects.get(year=2027)
    assert entry.note == "测试用通知"
    off = set(WorkdayOverride.objects.filter(is_workday=False).values_list("date", flat=True))
    on = set(WorkdayOverride.objects.filter(is_workday=True).values_list("date", flat=True))
    assert off == {D("2027-01-01"), D("2027-04-05"), *(D(f"2027-02-{d:02d}") for d in range(6, 13))}
    assert on == {D("2027-02-13"), D("2027-02-20")}
    assert deadlines.year_is_known(2027)
    assert not deadlines.is_workday(D("2027-02-08")) and deadlines.is_workday(D("2027-02-13"))
    # The open case's provisional deadline is recomputed: 1.1 is a day off now.
    case.refresh_from_db()
    assert (case.confirm_due, case.deadline_provisional) == (end("2027-01-05"), False)

    # The change form shows what was entered, and editing replaces the year's days.
    html = client_admin.get(reverse("admin:cases_calendaryear_change", args=[entry.pk])).content.decode()
    assert "2027-02-13 测试用通知" in html
    response = client_admin.post(
        reverse("admin:cases_calendaryear_change", args=[entry.pk]),
        {**NOTICE, "holidays": "2027-01-01", "workdays": ""},
    )
    assert response.status_code == 302
    assert list(WorkdayOverride.objects.values_list("date", "is_workday")) == [(D("2027-01-01"), False)]


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("holidays", "2026-12-31", "不在2027年内"),
        ("holidays", "2027-02-30", "日期不存在"),
        ("holidays", "春节放假七天", "应为一个日期"),
        ("holidays", "2027-02-12 至 2027-02-06", "结束日期早于开始日期"),
        ("workdays", "2027-03-10", "只需填写周六、周日"),
        ("workdays", "2027-01-01", "既是放假日又是调休上班日"),
    ],
)
def test_a_wrong_notice_is_refused_with_a_clear_message(
    client_admin: Client, field: str, text: str, message: str
) -> None:
    response = client_admin.post(reverse("admin:cases_calendaryear_add"), {**NOTICE, field: text})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CalendarYear.objects.exists() and not WorkdayOverride.objects.exists()


def test_the_calendar_list_warns_about_years_not_entered(client_admin: Client) -> None:
    with time_machine.travel(dt.datetime(2026, 6, 1, 9, 0, tzinfo=TZ)):
        html = client_admin.get(reverse("admin:cases_calendaryear_changelist")).content.decode()
        assert "2027年的节假日安排尚未录入" in html
        CalendarYear.objects.create(year=2027, note="已录入")
        html = client_admin.get(reverse("admin:cases_calendaryear_changelist")).content.decode()
        assert "尚未录入" not in html


def test_correcting_a_single_day_recomputes_open_deadlines(
    client_admin: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case(received_at=dt.datetime(2026, 3, 2, 10, 0, tzinfo=TZ))
    assert case.confirm_due == end("2026-03-04")
    response = client_admin.post(
        reverse("admin:cases_workdayoverride_add"),
        {"date": "2026-03-04", "is_workday": "", "note": "临时停工"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.confirm_due == case.due_at == end("2026-03-05")
    html = client_admin.get(reverse("admin:cases_workdayoverride_changelist")).content.decode()
    assert "周三" in html and "临时停工" in html
    override = WorkdayOverride.objects.get()
    response = client_admin.post(
        reverse("admin:cases_workdayoverride_delete", args=[override.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.confirm_due == end("2026-03-04")
