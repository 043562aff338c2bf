"""Deadlines (DESIGN §4, Art. 7 and 12) on China's official working-day calendar.

Working days come from ``chinesecalendar`` (holidays and make-up working days), corrected by the
``WorkdayOverride`` table. For a year neither knows (the package has no data and no administrator
has entered that year's holiday notice) the weekend rule is used, and the result is marked
*provisional* so the platform can warn instead of silently guessing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper

from eco12369.db import prepared_cursor

from .models import CalendarYear, Case, State, WorkdayOverride

TZ = ZoneInfo("Asia/Shanghai")
END_OF_DAY = dt.time(23, 59, 59)

# A deadline's status (``status``, ``DeadlineView``).
OK = "ok"
SOON = "soon"
OVERDUE = "overdue"
NONE = "none"


def setting(name: str) -> Any:
    """One of the platform's rules from ``settings.ECO`` (read at call time, so tests may override it)."""
    return settings.ECO[name]


@dataclass(frozen=True)
class Deadline:
    at: dt.datetime
    provisional: bool  # True when a day on the way lies in a year whose holidays are not known


class WorkCalendar:
    """Answers 'is this a working day?' for a span of dates with one query (the span's overrides and the
    entered years, a ``UNION ALL`` written once from the models' metadata: every new case computes its
    deadline, and compiling two ORM queries cost more than running them)."""

    def __init__(self, start: dt.date, end: dt.date) -> None:
        self.overrides: dict[dt.date, bool] = {}
        self.entered_years: set[int] = set()
        connection = connections[router.db_for_read(WorkdayOverride)]
        if connection.alias not in _CALENDAR_SQL:
            _CALENDAR_SQL[connection.alias] = _calendar_sql(connection)
        sql, date_field = _CALENDAR_SQL[connection.alias]
        start_value = date_field.get_db_prep_value(start, connection=connection)
        end_value = date_field.get_db_prep_value(end, connection=connection)
        with prepared_cursor(connection) as cursor:
            cursor.execute(sql, [start_value, end_value, start.year, end.year])
            rows = cursor.fetchall()
        for date, is_workday, year in rows:
            if year is not None:
                self.entered_years.add(int(year))
                continue
            # The driver's values as the ORM gives them (SQLite: text dates, integer booleans).
            self.overrides[_to_date(date, date_field, connection)] = bool(is_workday)
        self.provisional = False

    def is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year not in self.entered_years:
            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                self.provisional = True
        return day.weekday() < 5


_CALENDAR_SQL: dict[str, tuple[str, Any]] = {}


def _calendar_sql(connection: BaseDatabaseWrapper) -> tuple[str, Any]:
    """The overrides of a span of dates and the entered years of its years, as (date, is_workday, NULL)
    and (NULL, NULL, year) rows."""
    qn = connection.ops.quote_name
    override, year = WorkdayOverride._meta, CalendarYear._meta
    date_field, workday_field = override.get_field("date"), override.get_field("is_workday")
    year_column = qn(year.get_field("year").column)  # type: ignore[union-attr]
    date_column, workday_column = qn(date_field.column), qn(workday_field.column)  # type: ignore[union-attr]
    sql = (
        f"SELECT {date_column}, {workday_column}, NULL FROM {qn(override.db_table)} "  # noqa: S608
        f"WHERE {date_column} BETWEEN %s AND %s "
        f"UNION ALL SELECT NULL, NULL, {year_column} FROM {qn(year.db_table)} "
        f"WHERE {year_column} BETWEEN %s AND %s"
    )
    return sql, date_field


def _to_date(value: Any, field: Any, connection: BaseDatabaseWrapper) -> dt.date:
    col = field.get_col(field.model._meta.db_table)
    for converter in [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]:
        value = converter(value, col, connection)
    if isinstance(value, str):  # a backend without a converter for dates (SQLite)
        value = dt.date.fromisoformat(value)
    return value  # type: ignore[no-any-return]


def year_is_known(year: int) -> bool:
    """Whether working days in ``year`` are known (package data or an entered holiday notice)."""
    if CalendarYear.objects.filter(year=year).exists():
        return True
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def is_workday(day: dt.date) -> bool:
    return WorkCalendar(day, day).is_workday(day)


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(TZ).date()


def end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=TZ)


def add_working_days(start: dt.date, days: int) -> tuple[dt.date, bool]:
    """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
    cal = WorkCalendar(start, start + dt.timedelta(days=days * 3 + 40))
    day = start
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if cal.is_workday(day):
            counted += 1
    return day, cal.provisional


def roll_to_workday(day: dt.date) -> tuple[dt.date, bool]:
    """``day`` if it is a working day, else the next working day."""
    cal = WorkCalendar(day, day + dt.timedelta(days=40))
    while not cal.is_workday(day):
        day += dt.timedelta(days=1)
    return day, cal.provisional


def confirmation_deadline(received_at: dt.datetime) -> Deadline:
    """Art. 7: end of the 2nd working day after the day of receipt."""
    day, provisional = add_working_days(local_date(received_at), int(setting("CONFIRM_WORKING_DAYS")))
    return Deadline(end_of(day), provisional)


def closing_deadline(accepted_at: dt.datetime, extension_days: int = 0) -> Deadline:
    """Art. 12: 60 days from acceptance (that day not counted) plus approved extensions; when that day is
    not a working day, the end of the next working day."""
    last = local_date(accepted_at) + dt.timedelta(days=int(setting("CLOSE_DAYS")) + extension_days)
    day, provisional = roll_to_workday(last)
    return Deadline(end_of(day), provisional)


def warn_moment(start: dt.datetime, due: dt.datetime) -> dt.datetime:
    """The moment less than DUE_SOON_FRACTION of the time from ``start`` to ``due`` is left."""
    fraction = float(setting("DUE_SOON_FRACTION"))
    return due - (due - start) * fraction


def status(*, due_at: dt.datetime | None, warn_at: dt.datetime | None, now: dt.datetime) -> str:
    """``"none"`` (no deadline), ``"ok"``, ``"soon"`` (less than the due-soon fraction left) or ``"overdue"``."""
    if due_at is None:
        return NONE
    if now > due_at:
        return OVERDUE
    if warn_at is not None and now >= warn_at:
        return SOON
    return OK


@dataclass(frozen=True)
class DeadlineView:
    """How a case's current deadline looks in the lists: a colour and the time left, in Chinese."""

    status: str  # ok / soon / overdue / none
    text: str  # 剩余3天5小时 / 已超期2天 / ""
    due_at: dt.datetime | None
    # Computed in a year whose official holidays are not known yet (DESIGN §4): the date may still move.
    provisional: bool = False

    @property
    def label(self) -> str:
        return {OK: "正常", SOON: "即将超期", OVERDUE: "已超期"}.get(self.status, "")


def _span(seconds: float, *, coarse: bool) -> str:
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        if coarse or not hours:
            return f"{days}天"
        return f"{days}天{hours}小时"
    if hours:
        if coarse or not minutes:
            return f"{hours}小时"
        return f"{hours}小时{minutes}分钟"
    if minutes:
        return f"{minutes}分钟"
    return "不足1分钟"


def time_left(due_at: dt.datetime, now: dt.datetime) -> str:
    """剩余3天5小时, 剩余5小时20分钟, 已超期2天, 已超期3小时."""
    delta = (due_at - now).total_seconds()
    if delta >= 0:
        return "剩余" + _span(delta, coarse=False)
    return "已超期" + _span(-delta, coarse=True)


def deadline_view(case: Case, now: dt.datetime) -> DeadlineView:
    """The case's current deadline as the lists and the case page show it (none once the case is closed)."""
    if case.state == State.CLOSED or case.due_at is None:
        return DeadlineView(NONE, "", case.due_at)
    return DeadlineView(
        status(due_at=case.due_at, warn_at=case.warn_at, now=now),
        time_left(case.due_at, now),
        case.due_at,
        case.deadline_provisional,
    )


def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def unknown_years(first: int, last: int) -> list[int]:
    """The years from ``first`` to ``last`` whose working days are not known (neither the package nor an
    entered holiday notice): at most one query, none when the package knows them all."""
    missing = [year for year in range(first, last + 1) if not _package_knows(year)]
    if not missing:
        return []
    entered = set(CalendarYear.objects.filter(year__in=missing).values_list("year", flat=True))
    return [year for year in missing if year not in entered]
