"""The dashboard's rollups (issue 15): counts kept up to date by the case services, so that the dashboard
reads a few hundred small rows instead of scanning the cases.

Each case contributes one to ``DailyCaseCount`` (the day it was received, its region, category and channel),
one to ``MonthlyCaseCount`` (the same by month: the month's figures and the trend read a few hundred rows,
not a year of days) and, when it has a location, one to ``MonthlyGridCount`` (the month, its region and the
grid cell of its point). ``case_changed`` is registered in ``cases.hooks.on_case_changed``: ``case_create`` and
``workflow.transition`` call it in their transaction with the case before and after, and it applies the
difference of the two contributions (nothing for most transitions; a re-route moves the case to another
region's rows, an acceptance that corrects the category to another category's row). One statement per
table, an ``INSERT … ON CONFLICT DO UPDATE`` that adds to the row (PostgreSQL and SQLite alike), so two
transactions counting into the same row never lose a count. The cases of a bulk intake
(``cases.services.cases_create_bulk``) pool their counts and add them at its end, still one statement per
table (``cases.hooks.bulk_work``).

``rollups_rebuild`` recounts everything from the cases (``manage.py stats_rollups_rebuild``, and the
migration that created the tables); ``rollups_recount`` is the same recount without writing, to compare.

What the rollups cannot hold is what changes with the clock alone: due soon and overdue. Those are counted
from the cases with the indexes the queues use (``state, due_at`` and ``region, state, due_at``): only open
cases are read (see ``stats.dashboard``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate

from eco12369.cases.deadlines import TZ
from eco12369.cases.hooks import BulkWork, bulk_work
from eco12369.cases.models import Case
from eco12369.db import prepared_cursor

from .models import DailyCaseCount, MonthlyCaseCount, MonthlyGridCount, RollupCount

# About 2 km north-south (and 1.7 km east-west at Tianjin's latitude): the map's clusters.
GRID_DEGREES = Decimal("0.02")

Key = tuple[Any, ...]
Contributions = Counter[tuple[str, Key]]

DAY = "day"
MONTH = "month"
GRID = "grid"


def grid_cell(value: Decimal | float) -> int:
    return int((Decimal(str(value)) / GRID_DEGREES).to_integral_value(rounding=ROUND_FLOOR))


@functools.lru_cache(maxsize=8192)  # the map: hundreds of points a view, a few thousand cells in a city
def cell_centre(cell: int) -> float:
    return float((Decimal(cell) + Decimal("0.5")) * GRID_DEGREES)


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def contributions(case: Case) -> Contributions:
    """What ``case`` adds to each rollup: ``(table, key) -> 1``."""
    day = case.received_at.astimezone(TZ).date()
    out: Contributions = Counter()
    out[(DAY, (day, case.region_id, case.category, case.channel))] += 1
    out[(MONTH, (month_of(day), case.region_id, case.category, case.channel))] += 1
    if case.latitude is not None and case.longitude is not None:
        out[(GRID, (month_of(day), case.region_id, grid_cell(case.latitude), grid_cell(case.longitude)))] += 1
    return out


TABLES: dict[str, tuple[type[RollupCount], tuple[str, ...]]] = {
    DAY: (DailyCaseCount, ("day", "region_id", "category", "channel")),
    MONTH: (MonthlyCaseCount, ("month", "region_id", "category", "channel")),
    GRID: (MonthlyGridCount, ("month", "region_id", "lat_cell", "lon_cell")),
}


ADD_BATCH = 1000  # rows per ``INSERT … ON CONFLICT`` statement


def _add_sql(table: str, rows: int, *, after: str = "") -> str:
    """The ``INSERT … ON CONFLICT DO UPDATE`` of ``rows`` rows of ``table`` (``_add``); ``after``: the name of
    a ``WITH`` query it must wait for (``_apply``)."""
    model, key = TABLES[table]
    q = connection.ops.quote_name
    columns = [*key, "count"]
    name = q(model._meta.db_table)
    # Only the model's own names and placeholders go into the text; the values are parameters.
    cols, conflict, n = ", ".join(q(c) for c in columns), ", ".join(q(c) for c in key), q("count")
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * rows)
    values = f"VALUES {placeholders}"
    if after:
        # The scalar subquery reads all of ``after`` before this inserts anything: the rows are locked in
        # the order the statements are written.
        values = f"SELECT * FROM ({values}) AS v WHERE (SELECT count(*) FROM {after}) >= 0"  # noqa: S608
    return f"INSERT INTO {name} ({cols}) {values} ON CONFLICT ({conflict}) DO UPDATE SET {n} = {name}.{n} + excluded.{n}"


def _add(table: str, rows: list[tuple[Any, ...]]) -> None:
    """Add each row's last value to the count of the row with its key (created when missing). The keys of
    ``rows`` are distinct (one statement may not update a row twice)."""
    for start in range(0, len(rows), ADD_BATCH):
        batch = rows[start : start + ADD_BATCH]
        with connection.cursor() as cursor:
            cursor.execute(_add_sql(table, len(batch)), [value for row in batch for value in row])


def _apply(delta: Contributions) -> None:
    """Add ``delta`` to the rollups: one statement per table; on PostgreSQL a case's few rows (a new case:
    three tables) in one statement, a chain of data-modifying ``WITH`` queries (the WeChat callback's hot
    path: two round trips fewer while the day's case-number row is locked)."""
    by_table: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    # One order for every transaction (tables, then keys): two transactions that lock the same rows lock
    # them in the same order, so they wait for each other and never deadlock.
    for (table, key), n in sorted(delta.items(), key=lambda item: repr(item[0])):
        if n:
            by_table[table].append((*key, n))
    rows = sum(map(len, by_table.values()))
    if connection.vendor == "postgresql" and len(by_table) > 1 and rows <= ADD_BATCH:
        # Each query waits for the one before it (``after``), so the tables are still written in order.
        parts = [
            f"r{i} AS ({_add_sql(table, len(batch), after=f'r{i - 1}' if i else '')} RETURNING 1)"
            for i, (table, batch) in enumerate(by_table.items())
        ]
        sql = f"WITH {', '.join(parts)} SELECT count(*) FROM r{len(parts) - 1}"  # noqa: S608
        with prepared_cursor(connection) as cursor:
            cursor.execute(sql, [value for batch in by_table.values() for row in batch for value in row])
        return
    for table, batch in by_table.items():
        _add(table, batch)


class _BulkDelta(BulkWork):
    """The counts of a bulk intake's cases, added in one statement per table at its end."""

    def __init__(self) -> None:
        self.delta: Contributions = Counter()

    def flush(self) -> None:
        _apply(self.delta)


def case_changed(before: Case | None, after: Case) -> None:
    """The ``on_case_changed`` hook: move the case's counts from what it was to what it is (for a case of a
    bulk intake, pooled with the intake's other cases: ``cases.hooks.bulk_work``)."""
    delta = contributions(after)
    if before is not None:
        delta.subtract(contributions(before))
    bulk = bulk_work(_BulkDelta)
    if bulk is not None:
        bulk.delta.update(delta)
        return
    _apply(delta)


# ------------------------------------------------------------------------------------------ recount
def _recount_days(cases: Any) -> Iterator[tuple[Key, int]]:
    rows = (
        cases.annotate(day=TruncDate("received_at", tzinfo=TZ))
        .values_list("day", "region_id", "category", "channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    for day, region_id, category, channel, n in rows.iterator(chunk_size=5000):
        yield (day, region_id, category, channel), n


def _months_of(days: dict[Key, int]) -> dict[Key, int]:
    months: Counter[Key] = Counter()
    for (day, region_id, category, channel), n in days.items():
        months[(month_of(day), region_id, category, channel)] += n
    return dict(months)


def _recount_grid(cases: Any) -> Iterator[tuple[Key, int]]:
    # Python does the cells (SQLite and PostgreSQL round differently); only located cases are read.
    counts: Counter[Key] = Counter()
    rows = (
        cases.filter(latitude__isnull=False, longitude__isnull=False)
        .values_list("received_at", "region_id", "latitude", "longitude")
        .order_by()
    )
    for received_at, region_id, lat, lng in rows.iterator(chunk_size=5000):
        day = received_at.astimezone(TZ).date()
        counts[(month_of(day), region_id, grid_cell(lat), grid_cell(lng))] += 1
    yield from counts.items()


def rollups_recount(cases: Any = None) -> dict[str, dict[Key, int]]:
    """What the rollups should hold, counted from the cases (``{table: {key: count}}``, no zero counts)."""
    cases = Case.objects.all() if cases is None else cases
    days = dict(_recount_days(cases))
    return {DAY: days, MONTH: _months_of(days), GRID: dict(_recount_grid(cases))}


def rollups_stored() -> dict[str, dict[Key, int]]:
    """What the rollups hold (rows counted down to zero left out)."""
    out: dict[str, dict[Key, int]] = {}
    for table, (model, key) in TABLES.items():
        rows = model._default_manager.exclude(count=0).values_list(*key, "count")
        out[table] = {tuple(row[:-1]): row[-1] for row in rows}
    return out


def _batches(items: Iterable[tuple[Key, int]], size: int) -> Iterator[list[tuple[Key, int]]]:
    batch: list[tuple[Key, int]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def rollups_rebuild(*, progress: Any = None, batch_size: int = 2000) -> dict[str, int]:
    """Empty the rollups and count them again from the cases, in one transaction (the dashboard keeps
    reading the old rows until it commits). Returns the number of rows written per table."""
    written = {}
    with transaction.atomic():
        cases = Case.objects.all()
        days = dict(_recount_days(cases))
        sources = ((DAY, days.items()), (MONTH, _months_of(days).items()), (GRID, _recount_grid(cases)))
        for table, source in sources:
            model, key = TABLES[table]
            model._default_manager.all().delete()
            n = 0
            for batch in _batches(source, batch_size):
                model._default_manager.bulk_create(
                    [model(**dict(zip(key, k, strict=True)), count=c) for k, c in batch]
                )
                n += len(batch)
                if progress is not None:
                    progress(table, n)
            written[table] = n
    return written
