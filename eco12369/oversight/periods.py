"""Periods for assessment, spot checks and performance: a month (2026-05), a quarter (2026-Q2), a year (2026)
or a range of days; boundaries are local midnights in Asia/Shanghai. A period lies within the platform's years
(``formfields.FIRST_YEAR`` to ``LAST_YEAR``): 9999-12-31..9999-12-31 is not one (its end would overflow)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone

from eco12369.cases.deadlines import TZ
from eco12369.formfields import FIRST_DAY, LAST_DAY, day_label

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[qQ]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    key: str  # 2026-05, 2026-Q2, 2026, 2026-05-01..2026-05-15
    label: str  # 2026年5月, 2026年第二季度, 2026年
    first: dt.date
    end: dt.date  # exclusive

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time.min, tzinfo=TZ)

    @property
    def end_at(self) -> dt.datetime:
        return dt.datetime.combine(self.end, dt.time.min, tzinfo=TZ)

    @property
    def last(self) -> dt.date:
        return self.end - dt.timedelta(days=1)


def _next_month(day: dt.date, months: int = 1) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month(year: int, number: int) -> Period:
    first = dt.date(year, number, 1)
    return Period(f"{year}-{number:02d}", f"{year}年{number}月", first, _next_month(first))


QUARTER_NAMES = {1: "一", 2: "二", 3: "三", 4: "四"}


PERIOD_INVALID = (
    f"所选期间无效：请选择{day_label(FIRST_DAY)}至{day_label(LAST_DAY)}之间的月份（如2026-05）、"
    "季度（2026-Q2）、年度（2026）或日期范围（2026-05-01..2026-05-15）。"
)


def _period_of(text: str) -> Period | None:
    if m := _MONTH.match(text):
        return month(int(m.group(1)), int(m.group(2)))
    if m := _QUARTER.match(text):
        year, q = int(m.group(1)), int(m.group(2))
        first = dt.date(year, 3 * q - 2, 1)
        return Period(f"{year}-Q{q}", f"{year}年第{QUARTER_NAMES[q]}季度", first, _next_month(first, 3))
    if m := _YEAR.match(text):
        year = int(m.group(1))
        return Period(str(year), f"{year}年", dt.date(year, 1, 1), dt.date(year + 1, 1, 1))
    if ".." in text:
        a, b = (dt.date.fromisoformat(part) for part in text.split("..", 1))
        if b >= a and FIRST_DAY <= a and b <= LAST_DAY:  # checked before a day is added to ``b``
            return Period(text, f"{a:%Y年%m月%d日}至{b:%Y年%m月%d日}", a, b + dt.timedelta(days=1))
    return None


def period_of(value: str | None) -> Period | None:
    """The period ``value`` names, or ``None`` when it names none within the platform's years."""
    try:
        period = _period_of((value or "").strip())
    except (ValueError, OverflowError):
        return None
    if period is None or period.first < FIRST_DAY or period.last > LAST_DAY:
        return None
    return period


def period_parse(value: str | None, *, default: Period | None = None) -> Period:
    """Parse ``value``; an empty or malformed value gives ``default`` (the previous month when None)."""
    return period_of(value) or default or previous_month()


def current_month() -> Period:
    today = timezone.localdate()
    return month(today.year, today.month)


def previous_month() -> Period:
    first = current_month().first
    prev = _next_month(first, -1)
    return month(prev.year, prev.month)


def recent_months(count: int = 12) -> list[Period]:
    first = current_month().first
    out = []
    for i in range(count):
        day = _next_month(first, -i)
        out.append(month(day.year, day.month))
    return out
