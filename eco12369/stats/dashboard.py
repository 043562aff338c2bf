"""The figures of the home dashboard of the city and of a district's head (issue 15), read from the rollups
(``stats.rollups``) and, for what moves with the clock, from the open cases by index.

Every function takes ``region_id``: ``None`` for the whole city (the city centre), else one district (its
bureau sees that district only: the same rule as ``cases.selectors.cases_visible_to``). Six queries in all:
today's and the month's rollup rows, the twelve months' rollup rows, the deadlines (two) and the map's grid.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from eco12369.cases.deadlines import TZ
from eco12369.cases.models import CONFIRMATION_STATES, OPEN_STATES, Case, State

from .models import DailyCaseCount, MonthlyCaseCount, MonthlyGridCount
from .rollups import cell_centre

# The stages whose deadlines the dashboard shows, with the states in each (DESIGN §4): the confirmation
# (Art. 7) and the handling up to the closing (Art. 12).
STAGES: tuple[tuple[str, str, tuple[State, ...]], ...] = (
    ("confirm", "确认", CONFIRMATION_STATES),
    ("close", "办结", (State.ACCEPTED, State.HANDLING, State.IN_REVIEW)),
)


@dataclass
class Intake:
    today: int = 0
    month: int = 0
    by_region: dict[int, int] = field(default_factory=dict)  # this month
    by_category: dict[str, int] = field(default_factory=dict)  # this month
    by_channel: dict[str, int] = field(default_factory=dict)  # this month


@dataclass
class Deadlines:
    # (state, "due_soon" | "overdue") -> count, and per region: region -> ("due_soon" | "overdue") -> count
    by_state: dict[tuple[str, str], int] = field(default_factory=dict)
    by_region: dict[int, dict[str, int]] = field(default_factory=dict)

    def total(self, timing: str, states: tuple[str, ...] | None = None) -> int:
        return sum(
            n
            for (state, t), n in self.by_state.items()
            if t == timing and (states is None or state in states)
        )


@dataclass(frozen=True)
class GridPoint:
    region_id: int
    latitude: float
    longitude: float
    count: int


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def months_back(day: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def _in_region(qs: QuerySet[Any], region_id: int | None) -> QuerySet[Any]:
    return qs if region_id is None else qs.filter(region_id=region_id)


def intake(*, region_id: int | None, today: dt.date) -> Intake:
    """Today's and this month's intake, this month's by region, category and channel (two queries)."""
    rows = (
        _in_region(MonthlyCaseCount.objects.filter(month=month_start(today)), region_id)
        .values_list("region_id", "category", "channel", "count")
        .order_by()
    )
    out = Intake()
    by_region: dict[int, int] = defaultdict(int)
    by_category: dict[str, int] = defaultdict(int)
    by_channel: dict[str, int] = defaultdict(int)
    for region, category, channel, n in rows:
        out.month += n
        by_region[region] += n
        by_category[category] += n
        by_channel[channel] += n
    out.by_region, out.by_category, out.by_channel = dict(by_region), dict(by_category), dict(by_channel)
    out.today = (
        _in_region(DailyCaseCount.objects.filter(day=today), region_id).aggregate(n=Sum("count"))["n"] or 0
    )
    return out


def trend(*, region_id: int | None, today: dt.date, months: int = 12) -> list[tuple[dt.date, int]]:
    """Cases received in each of the last ``months`` months (this one included), oldest first (one query)."""
    first = months_back(today, months - 1)
    rows = (
        _in_region(MonthlyCaseCount.objects.filter(month__gte=first, month__lte=today), region_id)
        .values_list("month")
        .annotate(n=Sum("count"))
        .order_by()
    )
    totals = dict(rows)
    return [(months_back(today, k), totals.get(months_back(today, k), 0)) for k in range(months - 1, -1, -1)]


def deadlines(*, cases: QuerySet[Case], now: dt.datetime) -> Deadlines:
    """Open cases due soon and overdue, by state and by region: indexed counts of the open cases (the
    queues' indexes ``state, due_at`` and ``region, state, due_at``, which carry ``warn_at`` and the region),
    not a rollup, because the clock alone moves a case from one to the other. ``cases`` is the user's
    visible cases. Two queries, one per timing, each an index-only scan: one query ORing the two conditions
    reads every open case's row (a bitmap of both ranges, then ``warn_at`` from the table)."""
    out = Deadlines()
    open_cases = cases.filter(state__in=OPEN_STATES)
    for timing, condition in (
        ("due_soon", Q(warn_at__lte=now, due_at__gt=now)),
        ("overdue", Q(due_at__lt=now)),
    ):
        rows = (
            open_cases.filter(condition).values_list("state", "region_id").annotate(n=Count("*")).order_by()
        )
        for state, region, n in rows:
            out.by_state[(state, timing)] = out.by_state.get((state, timing), 0) + n
            per_region = out.by_region.setdefault(region, {"due_soon": 0, "overdue": 0})
            per_region[timing] += n
    return out


def grid(*, region_id: int | None, today: dt.date) -> list[GridPoint]:
    """This month's located cases, clustered by the rollup's grid: one point per region and cell."""
    qs = _in_region(MonthlyGridCount.objects.filter(month=month_start(today), count__gt=0), region_id)
    return [
        GridPoint(region, cell_centre(lat), cell_centre(lng), n)
        for region, lat, lng, n in qs.values_list("region_id", "lat_cell", "lon_cell", "count").order_by(
            "region_id", "lat_cell", "lon_cell"
        )
    ]


def local_today(now: dt.datetime) -> dt.date:
    return now.astimezone(TZ).date()
