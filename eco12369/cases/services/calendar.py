"""The working-day calendar (China's official holidays and make-up days): entering a year, and the
deadlines recomputed when it changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.db.models import Q

from .. import deadlines
from ..models import (
    OPEN_STATES,
    CalendarYear,
    Case,
    WorkdayOverride,
)
from ..workflow import (
    refresh_deadline_fields,
)


def calendar_year_enter(
    *,
    year: int,
    holidays: Iterable[dt.date],
    workdays: Iterable[dt.date],
    note: str = "",
    day_notes: Mapping[dt.date, str] | None = None,
) -> CalendarYear:
    """Enter a year's official holiday notice (国务院办公厅关于某年部分节假日安排的通知).

    ``holidays`` are the days off that would otherwise be working days, ``workdays`` the make-up working
    days that fall on a weekend. Once entered, the year's working days are the weekdays, minus ``holidays``,
    plus ``workdays``: the package's data for that year is no longer used, and the year is no longer
    provisional. The year's earlier overrides are replaced. Open cases' deadlines are recomputed.
    ``day_notes`` names single days (春节, 国庆节调休); the others are noted with ``note``.
    """
    holiday_set, workday_set = set(holidays), set(workdays)
    for day in holiday_set | workday_set:
        if day.year != year:
            raise ValueError(f"{day.isoformat()} 不在{year}年内。")
    both = holiday_set & workday_set
    if both:
        raise ValueError(f"{min(both).isoformat()} 不能既是放假日又是调休上班日。")
    with transaction.atomic():
        WorkdayOverride.objects.filter(date__year=year).delete()
        label = note.strip()[:100]
        named = day_notes or {}
        WorkdayOverride.objects.bulk_create(
            [
                WorkdayOverride(date=day, is_workday=False, note=(named.get(day) or label)[:100])
                for day in sorted(holiday_set)
            ]
            + [
                WorkdayOverride(date=day, is_workday=True, note=(named.get(day) or label)[:100])
                for day in sorted(workday_set)
            ]
        )
        entry, _ = CalendarYear.objects.update_or_create(year=year, defaults={"note": note.strip()[:200]})
        deadlines_recompute(since=dt.date(year, 1, 1))
    return entry


def deadlines_recompute(*, since: dt.date) -> int:
    """Recompute the deadlines of the open cases a calendar change on or after ``since`` may move: the
    provisional ones and those whose current deadline is on or after ``since``. Returns how many changed.

    Closed cases keep the deadlines they were measured against.
    """
    start = deadlines.end_of(since - dt.timedelta(days=1))
    changed = 0
    candidates = Case.objects.filter(state__in=OPEN_STATES).filter(
        Q(deadline_provisional=True) | Q(due_at__gt=start) | Q(close_due__gt=start)
    )
    for pk in list(candidates.values_list("pk", flat=True)):
        with transaction.atomic():
            case = Case.objects.select_for_update().get(pk=pk)
            if not case.is_open:
                continue
            before = (case.confirm_due, case.close_due, case.due_at, case.warn_at, case.deadline_provisional)
            confirm = deadlines.confirmation_deadline(case.confirm_from)
            case.confirm_due = confirm.at
            provisional = confirm.provisional
            if case.accepted_at is not None:
                close = deadlines.closing_deadline(case.accepted_at, case.extension_days)
                case.close_due = close.at
                provisional = close.provisional
            case.deadline_provisional = provisional
            refresh_deadline_fields(case)
            after = (case.confirm_due, case.close_due, case.due_at, case.warn_at, case.deadline_provisional)
            if after != before:
                case.save(
                    update_fields=[
                        "confirm_due",
                        "close_due",
                        "due_at",
                        "warn_at",
                        "deadline_provisional",
                        "updated_at",
                    ]
                )
                changed += 1
    return changed
