"""Deadlines on the real 2025 and 2026 holiday notices of the General Office of the State Council
(国务院办公厅关于2025年/2026年部分节假日安排的通知), as carried by ``chinesecalendar`` (DESIGN §4).

Art. 7: confirm by the end of the 2nd working day after the day of receipt (that day not counted).
Art. 12: close within 60 days of acceptance (that day not counted); a last day that is not a working day
moves to the end of the next working day; extensions of at most 30 days in total, approved by the head.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import override_settings
from django.utils import timezone

from eco12369.cases import deadlines, services
from eco12369.cases.models import CalendarYear, Case, State, WorkdayOverride
from eco12369.cases.selectors import cases_due_soon, cases_overdue
from eco12369.cases.services import Intake, case_create

from .conftest import FIVE_PARTS, Staff, handling

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date.fromisoformat
MakeCase = Callable[..., Case]


def at(day: str, time: str = "10:00") -> dt.datetime:
    return dt.datetime.combine(D(day), dt.time.fromisoformat(time), tzinfo=TZ)


def end(day: str) -> dt.datetime:
    return dt.datetime.combine(D(day), dt.time(23, 59, 59), tzinfo=TZ)


# ------------------------------------------------------------------ the official calendar, as the package has it
# (date, is a working day, holiday name in chinesecalendar). Days off are holidays, the weekend make-up
# working days (调休上班) are marked with the festival they make up for.
OFFICIAL_DAYS = [
    # 2025 Spring Festival: 1.28-2.4 off; make-up working days Sun 1.26 and Sat 2.8.
    ("2025-01-26", True, "Spring Festival"),
    *[(f"2025-{d}", False, "Spring Festival") for d in ("01-28", "01-29", "01-31", "02-02", "02-04")],
    ("2025-02-05", True, None),
    ("2025-02-08", True, "Spring Festival"),
    # 2025 National Day and Mid-Autumn: 10.1-10.8 off; make-up Sun 9.28 and Sat 10.11.
    ("2025-09-28", True, "National Day"),
    *[(f"2025-10-0{d}", False, "National Day") for d in (1, 2, 3, 4, 5, 7, 8)],
    ("2025-10-06", False, "Mid-autumn Festival"),  # 中秋节 falls inside the National Day break in 2025
    ("2025-10-09", True, None),
    ("2025-10-11", True, "National Day"),
    # 2026 Spring Festival: 2.15-2.23 off; make-up Sat 2.14 and Sat 2.28.
    ("2026-02-14", True, "Spring Festival"),
    *[(f"2026-02-{d}", False, "Spring Festival") for d in range(15, 24)],
    ("2026-02-24", True, None),
    ("2026-02-28", True, "Spring Festival"),
    # 2026 National Day: 10.1-10.7 off; make-up Sun 9.20 and Sat 10.10.
    ("2026-09-20", True, "National Day"),
    *[(f"2026-10-0{d}", False, "National Day") for d in range(1, 8)],
    ("2026-10-08", True, None),
    ("2026-10-10", True, "National Day"),
]


@pytest.mark.parametrize(("day", "workday", "name"), OFFICIAL_DAYS)
def test_the_official_calendar(day: str, workday: bool, name: str | None) -> None:
    """The package is the source of truth; this pins the dates the deadline tests below rely on."""
    assert chinese_calendar.is_workday(D(day)) is workday
    is_holiday, holiday_name = chinese_calendar.get_holiday_detail(D(day))
    assert is_holiday is (not workday)
    assert holiday_name == name
    assert deadlines.is_workday(D(day)) is workday


# --------------------------------------------------------------------------------- confirmation (Art. 7)
@pytest.mark.parametrize(
    ("received", "due"),
    [
        ("2025-01-24", "2025-01-27"),  # Fri: Sun 1.26 is a make-up working day (1st), Mon 1.27 the 2nd
        ("2025-01-27", "2025-02-06"),  # the day before Spring Festival: 2.5 and 2.6 after the holiday
        ("2025-09-26", "2025-09-29"),  # Fri: make-up Sun 9.28, then Mon 9.29
        ("2025-09-30", "2025-10-10"),  # National Day 10.1-10.8 is skipped
        ("2025-10-03", "2025-10-10"),  # received on a holiday: the day of receipt never counts
        ("2025-10-09", "2025-10-11"),  # Fri 10.10, then make-up Sat 10.11
        ("2026-02-13", "2026-02-24"),  # Fri: make-up Sat 2.14, then after 2.15-2.23 Tue 2.24
        ("2026-02-27", "2026-03-02"),  # make-up Sat 2.28, then Mon 3.2
        ("2026-09-18", "2026-09-21"),  # make-up Sun 9.20, then Mon 9.21
        ("2026-09-30", "2026-10-09"),  # National Day 10.1-10.7 is skipped
        ("2026-03-04", "2026-03-06"),  # an ordinary Wednesday
    ],
)
def test_confirmation_deadline(received: str, due: str) -> None:
    deadline = deadlines.confirmation_deadline(at(received))
    assert deadline.at == end(due)
    assert deadline.provisional is False


def test_the_day_of_receipt_is_the_day_in_shanghai() -> None:
    # 2026-09-29 16:30 UTC is 2026-09-30 00:30 in Tianjin: received on the 30th.
    utc = dt.datetime(2026, 9, 29, 16, 30, tzinfo=dt.UTC)
    assert deadlines.confirmation_deadline(utc).at == end("2026-10-09")
    # 15:59 UTC is still the 29th (23:59 local): Wed 9.30 is the 1st working day, Thu 10.8 the 2nd.
    utc = dt.datetime(2026, 9, 29, 15, 59, tzinfo=dt.UTC)
    assert deadlines.confirmation_deadline(utc).at == end("2026-10-08")


def test_case_create_sets_the_confirmation_deadline(make_case: MakeCase) -> None:
    case = make_case(received_at=at("2026-02-13", "17:30"))
    assert case.confirm_due == end("2026-02-24")
    assert case.due_at == case.confirm_due
    assert case.deadline_provisional is False
    # Due-soon once less than 20% of the time from receipt to the deadline is left.
    assert case.warn_at == case.confirm_due - (case.confirm_due - case.received_at) * 0.2


# -------------------------------------------------------------------------------------- closing (Art. 12)
@pytest.mark.parametrize(
    ("accepted", "extension", "due"),
    [
        ("2025-11-29", 0, "2026-01-28"),  # 60 days later is a working Wednesday
        ("2025-12-03", 0, "2026-02-02"),  # Sun 2.1 moves to Mon 2.2
        ("2025-12-16", 0, "2026-02-14"),  # Sat 2.14 is a make-up working day: it stays
        ("2025-12-17", 0, "2026-02-24"),  # Sun 2.15 is in Spring Festival: next working day Tue 2.24
        ("2025-12-17", 10, "2026-02-25"),
        ("2025-12-17", 30, "2026-03-17"),
        ("2025-08-02", 0, "2025-10-09"),  # 10.1 falls in National Day 2025 (10.1-10.8)
        ("2026-08-02", 0, "2026-10-08"),  # 10.1 falls in National Day 2026 (10.1-10.7)
    ],
)
def test_closing_deadline(accepted: str, extension: int, due: str) -> None:
    deadline = deadlines.closing_deadline(at(accepted, "16:00"), extension)
    assert deadline.at == end(due)
    assert deadline.provisional is False


def test_accepting_sets_the_closing_deadline_and_an_approved_extension_moves_it(
    make_case: MakeCase, staff: Staff
) -> None:
    with time_machine.travel(at("2025-12-15", "09:00"), tick=False):
        case = make_case()
        assert case.confirm_due == end("2025-12-17")
    with time_machine.travel(at("2025-12-17", "11:00"), tick=False):
        case = services.case_accept(case=case, actor=staff.op)
        assert case.close_due == end("2026-02-24")
        assert case.due_at == case.close_due
        case = services.case_assign(case=case, actor=staff.op, department=staff.dept)
    with time_machine.travel(at("2026-02-10", "09:00"), tick=False):
        case = services.case_request_extension(case=case, actor=staff.handler, days=10, reason="等待监测报告")
        assert case.close_due == end("2026-02-24")  # not before the head approves
        ext = case.extensions.get()
        case = services.case_decide_extension(case=case, actor=staff.head, extension=ext, approved=True)
        assert case.close_due == end("2026-02-25")
        assert case.due_at == end("2026-02-25")
        assert case.warn_at == deadlines.warn_moment(at("2025-12-17", "11:00"), end("2026-02-25"))


# ------------------------------------------------------------------------------------------- overrides
def test_an_override_wins_over_the_package() -> None:
    assert deadlines.confirmation_deadline(at("2026-02-13")).at == end("2026-02-24")
    WorkdayOverride.objects.create(date=D("2026-02-24"), is_workday=False, note="临时调整")
    assert deadlines.confirmation_deadline(at("2026-02-13")).at == end("2026-02-25")
    WorkdayOverride.objects.create(date=D("2026-02-16"), is_workday=True, note="临时调整")
    assert deadlines.confirmation_deadline(at("2026-02-13")).at == end("2026-02-16")


def test_an_entered_year_replaces_the_package_for_that_year() -> None:
    """Once the administrator enters a year, its working days are weekdays minus the entered days off
    plus the entered make-up days; the package's data for that year is not mixed in."""
    services.calendar_year_enter(
        year=2026,
        holidays=[D("2026-02-16"), D("2026-02-17")],
        workdays=[D("2026-02-14")],
        note="测试录入",
    )
    # 2.14 (entered make-up day) is the 1st working day, 2.15 Sun is not, 2.16-2.17 off, Wed 2.18 the 2nd.
    assert deadlines.confirmation_deadline(at("2026-02-13")).at == end("2026-02-18")
    assert CalendarYear.objects.get(year=2026).note == "测试录入"


# -------------------------------------------------------------------- years the package does not know
def test_a_year_the_package_does_not_know_is_provisional() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D("2027-03-10"))
    deadline = deadlines.confirmation_deadline(at("2027-03-10"))
    assert deadline.provisional is True
    assert deadline.at == end("2027-03-12")  # the weekend rule, flagged as a guess
    assert deadlines.unknown_years(2025, 2027) == [2027]
    assert deadlines.year_is_known(2026) and not deadlines.year_is_known(2027)


def test_a_deadline_reaching_into_an_unknown_year_is_provisional() -> None:
    assert deadlines.confirmation_deadline(at("2026-12-28")).provisional is False
    assert deadlines.confirmation_deadline(at("2026-12-31")).provisional is True
    closing = deadlines.closing_deadline(at("2026-11-25"))
    assert closing.provisional is True
    assert closing.at == end("2027-01-25")  # Sun 1.24 -> Mon 1.25 by the weekend rule


def test_entering_the_year_makes_deadlines_definite_and_recomputes_open_cases(
    make_case: MakeCase, staff: Staff
) -> None:
    new = make_case(received_at=at("2026-12-31", "15:00"))
    assert new.deadline_provisional is True
    assert new.confirm_due == end("2027-01-04")
    with time_machine.travel(at("2026-11-25", "10:00"), tick=False):
        open_case = services.case_accept(case=make_case(), actor=staff.op)
    assert open_case.deadline_provisional is True
    assert open_case.close_due == end("2027-01-25")
    with time_machine.travel(at("2026-11-20", "10:00"), tick=False):
        done = make_case()
        done = services.case_accept(case=done, actor=staff.op)
        done = services.case_assign(case=done, actor=staff.op, department=staff.dept)
        done = services.case_submit_reply(case=done, actor=staff.handler, **FIVE_PARTS)
        done = services.case_approve(case=done, actor=staff.reviewer)
    closed_due = done.close_due

    # Test data, not the real 2027 notice: New Year's Day off, Mon 1.25 off, Sun 1.24 a make-up day.
    services.calendar_year_enter(
        year=2027, holidays=[D("2027-01-01"), D("2027-01-25")], workdays=[D("2027-01-24")], note="测试"
    )
    assert deadlines.unknown_years(2026, 2027) == []
    new.refresh_from_db()
    assert (new.confirm_due, new.due_at, new.deadline_provisional) == (
        end("2027-01-05"),
        end("2027-01-05"),
        False,
    )
    open_case.refresh_from_db()
    assert (open_case.close_due, open_case.due_at, open_case.deadline_provisional) == (
        end("2027-01-24"),
        end("2027-01-24"),
        False,
    )
    done.refresh_from_db()
    assert done.close_due == closed_due  # closed cases keep the deadline they were measured against


def test_calendar_year_enter_rejects_inconsistent_input() -> None:
    with pytest.raises(ValueError, match="不在2027年内"):
        services.calendar_year_enter(year=2027, holidays=[D("2026-12-31")], workdays=[])
    with pytest.raises(ValueError, match="既是放假日又是调休上班日"):
        services.calendar_year_enter(year=2027, holidays=[D("2027-02-06")], workdays=[D("2027-02-06")])
    assert not CalendarYear.objects.exists()


# --------------------------------------------------------------------------------- due soon and overdue
def test_due_soon_and_overdue_for_the_confirmation_deadline(make_case: MakeCase, staff: Staff) -> None:
    received = at("2026-03-02", "10:00")  # Monday; due end of Wed 3.4
    case = make_case(received_at=received)
    due = end("2026-03-04")
    assert case.due_at == due
    warn = due - (due - received) * 0.2
    assert case.warn_at == warn

    def queues(now: dt.datetime) -> tuple[bool, bool, str]:
        with time_machine.travel(now, tick=False):
            return (
                cases_due_soon(user=staff.op).filter(pk=case.pk).exists(),
                cases_overdue(user=staff.op).filter(pk=case.pk).exists(),
                deadlines.status(due_at=case.due_at, warn_at=case.warn_at, now=timezone.now()),
            )

    assert queues(received + dt.timedelta(hours=1)) == (False, False, "ok")
    assert queues(warn - dt.timedelta(minutes=1)) == (False, False, "ok")
    assert queues(warn + dt.timedelta(minutes=1)) == (True, False, "soon")
    assert queues(due) == (True, False, "soon")
    assert queues(due + dt.timedelta(seconds=1)) == (False, True, "overdue")
    # Other districts' staff do not see it in their queues.
    with time_machine.travel(due + dt.timedelta(days=1), tick=False):
        assert not cases_overdue(user=staff.op_hd).filter(pk=case.pk).exists()
        assert cases_overdue(user=staff.city_op).filter(pk=case.pk).exists()


def test_due_soon_and_overdue_for_the_closing_deadline(make_case: MakeCase, staff: Staff) -> None:
    with time_machine.travel(at("2026-03-02", "10:00"), tick=False):
        case = handling(make_case(), staff)
    accepted_at = case.accepted_at
    assert accepted_at is not None
    due = end("2026-05-06")  # 3.2 + 60 = Fri 5.1, Labour Day holiday 5.1-5.5; Wed 5.6
    assert not chinese_calendar.is_workday(D("2026-05-01")) and chinese_calendar.is_workday(D("2026-05-06"))
    assert case.close_due == case.due_at == due
    warn = due - (due - accepted_at) * 0.2
    assert case.warn_at == warn
    with time_machine.travel(warn - dt.timedelta(hours=1), tick=False):
        assert not cases_due_soon(user=staff.op).filter(pk=case.pk).exists()
    with time_machine.travel(warn + dt.timedelta(hours=1), tick=False):
        assert cases_due_soon(user=staff.op).filter(pk=case.pk).exists()
    with time_machine.travel(due + dt.timedelta(hours=1), tick=False):
        assert cases_overdue(user=staff.op).filter(pk=case.pk).exists()
        assert not cases_due_soon(user=staff.op).filter(pk=case.pk).exists()
        # Closing it late takes it off the overdue list.
        case = services.case_submit_reply(case=case, actor=staff.handler, **FIVE_PARTS)
        case = services.case_approve(case=case, actor=staff.reviewer)
        assert case.state == State.CLOSED and case.due_at is None
        assert not cases_overdue(user=staff.op).filter(pk=case.pk).exists()


def test_the_due_soon_fraction_is_configurable(make_case: MakeCase) -> None:
    received = at("2026-03-02", "10:00")
    with override_settings(ECO={**django_settings.ECO, "DUE_SOON_FRACTION": 0.5}):
        case = make_case(received_at=received)
    due = end("2026-03-04")
    assert case.warn_at == due - (due - received) * 0.5


def test_intake_without_a_district_goes_to_the_city_centre_with_a_deadline(tianjin: None) -> None:
    case = case_create(
        intake=Intake(channel="phone", description="河道有死鱼。", received_at=at("2025-09-30"))
    )
    assert case.agency.kind == "city_centre"
    assert case.confirm_due == end("2025-10-10")
