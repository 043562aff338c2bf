"""A word searched newest first at ten million cases (issue 16): slice by slice of received time.

The pairs indexes (``selectors.cases_matching_text``, ``party_contains``) know which cases hold a word, not
when they came. Asked for the newest page of a word ten thousand cases hold, PostgreSQL read every one of
them from the table, sorted them and counted them (解放南路: 115,000 rows, 47 s for one district). Here
the list is read in slices of received time going back from the page's start: the newest ``first`` days,
then four times as far, and so on to a year, then everything older. Each slice is one arm of a single
``UNION ALL`` statement, its rows ordered and limited to a page and one more::

    (SELECT id, received_at, 0, count(*) OVER () ... WHERE <word> AND received_at >= start - 2 days
     ORDER BY received_at + '0'::interval DESC, id DESC LIMIT 21)
    UNION ALL (... AND received_at >= start - 8 days AND received_at < start - 2 days ...)
    UNION ALL ... LIMIT 21

PostgreSQL runs the arms of a ``UNION ALL`` one after the other and stops as soon as the outer ``LIMIT``
is filled: an arm after the one that fills the page is never run. Within an arm the pairs indexes' bitmap
is ANDed with the received time's (or the district and received time's) index range, so only the slice's
matches are read from the table (``_PairsContain``'s ``opaque``: the planner is kept from misjudging the
word as rare; ``UNINDEXED_RECEIVED``: nor may it walk the received time's index instead; and the statement
has 64 MB of work_mem, so that the bitmaps stay exact). ``count(*) OVER ()`` counts each arm's matches,
all of which its sort reads anyway.

The rows are exactly the search's: the slices are disjoint and ordered, each arm holds its newest rows, so
the arms together, cut after a page and one more, are the list's next rows. A page read backwards (the
previous page) slices forward in time from its cursor the same way.

How many match: exact when every arm ran (the list ended, or the page was filled only by the last arm);
otherwise the matches of the arms that ran are known exactly, over a known span of time, and the total is
estimated from them and the share of the cases received in that span (the statistics of received_at) over
the list's whole span ("约 N 件"), with its basis shown (``total_text``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections, transaction
from django.db.models import (
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    IntegerField,
    QuerySet,
    Value,
    Window,
)
from django.http import HttpRequest

from eco12369.cases.models import Case

from .keyset import Key, request_position

DAY = dt.timedelta(days=1)
# The slices: the first one's width (see ``first_width``), then each reaching four times as far back, the
# last bounded one at least half a year back, then everything older.
SLICE_GROWTH = 4
SLICE_FIRST_DEFAULT = dt.timedelta(days=31)
SLICE_FIRST_MIN = DAY
SLICE_FIRST_MAX = dt.timedelta(days=31)
SLICE_BOUNDED_DEPTH = dt.timedelta(days=183)
SLICE_LAST_DEPTH = dt.timedelta(days=366)
# The first slice is meant to hold about this many pages of matches (by the statistics' share).
SLICE_FIRST_PAGES = 3
SLICES_WORK_MEM = "64MB"


def first_width(*, share: float | None, cases_per_day: float | None, per_page: int) -> dt.timedelta:
    """How far back the first slice reaches: about ``SLICE_FIRST_PAGES`` pages of matches by the
    statistics' share of the word and the scope's cases a day, between a day and a month; a month without
    statistics. A word the statistics overrate costs more (empty) slices, one they underrate a larger
    first slice: the rows found are the same."""
    if not share or not cases_per_day:
        return SLICE_FIRST_DEFAULT
    days = math.ceil(SLICE_FIRST_PAGES * (per_page + 1) / (share * cases_per_day))
    return min(max(dt.timedelta(days=days), SLICE_FIRST_MIN), SLICE_FIRST_MAX)


def slice_depths(first: dt.timedelta) -> list[dt.timedelta]:
    """How far back from the page's start each bounded slice reaches (the last slice, unbounded, follows):
    a month gives a month, four months, a year."""
    depths = [first]
    while depths[-1] < SLICE_BOUNDED_DEPTH:
        depths.append(min(depths[-1] * SLICE_GROWTH, SLICE_LAST_DEPTH))
    return depths


@dataclass(frozen=True)
class Sliced:
    """What the slices found: the ids of the page's rows and one more, in reading order (newest first for a
    forward page, oldest first for a page read backwards); the matches counted in the slices that ran and
    the span of received time they cover (the slices reached ``covered`` back from ``anchor``, or the end
    of the list: ``complete``)."""

    ids: list[int]
    counted: int
    anchor: dt.datetime
    covered: dt.timedelta
    complete: bool
    forward: bool


Row = tuple[int, dt.datetime, int, int]  # id, received_at, the slice's number, its matches


# An arm is ordered by its received time plus nothing: the same order, but not the received time index's,
# so the planner cannot read an arm by walking that index and checking every row's pairs until a page is
# found (a word in no case: all ten million rows, 13 s). Each arm is read through the bitmaps, which stop
# at its own matches; a common word, which a walk does find at once, is walked before (lists.text_walk).
UNINDEXED_RECEIVED = ExpressionWrapper(
    F("received_at") + Value(dt.timedelta(0)), output_field=DateTimeField()
)


def _arm(qs: QuerySet[Case], k: int, *, forward: bool, limit: int) -> QuerySet[Any, Row]:
    ordering = (
        (UNINDEXED_RECEIVED.desc(), F("id").desc()) if forward else (UNINDEXED_RECEIVED.asc(), F("id").asc())
    )
    return (
        qs.order_by(*ordering)
        .annotate(arm=Value(k, output_field=IntegerField()), arm_count=Window(Count("id")))
        .values_list("id", "received_at", "arm", "arm_count")[:limit]
    )


def sliced_rows(
    request: HttpRequest,
    qs: QuerySet[Case],
    *,
    per_page: int,
    now: dt.datetime,
    first: dt.timedelta,
) -> Sliced:
    """The page the request asks for of ``qs`` (its search, with the pairs conditions made ``opaque``),
    newest first (``-received_at, -id``), read slice by slice (the module's docstring). One query. The
    first page's slices start at ``now`` (the list's newest end: a search received up to a day in the past
    starts there)."""
    key = Key.of(("-received_at", "-id"))
    cursor, forward = request_position(request, key.model_field(Case))
    start = qs
    if cursor is not None:
        start = qs.filter(key.beyond(cursor[0], cursor[1], forward=forward, nullable=False))
    anchor = cursor[0] if cursor is not None else now
    depths = slice_depths(first)
    limit = per_page + 1
    arms: list[QuerySet[Any, Row]] = []
    if forward:
        near = start if cursor is None else start.filter(received_at__lte=anchor)
        for k, depth in enumerate(depths):
            arm = near.filter(received_at__gte=anchor - depth)
            if k:
                arm = arm.filter(received_at__lt=anchor - depths[k - 1])
            arms.append(_arm(arm, k, forward=forward, limit=limit))
        rest = start.filter(received_at__lt=anchor - depths[-1])
    else:
        near = start.filter(received_at__gte=anchor)
        for k, depth in enumerate(depths):
            arm = near.filter(received_at__lte=anchor + depth)
            if k:
                arm = arm.filter(received_at__gt=anchor + depths[k - 1])
            arms.append(_arm(arm, k, forward=forward, limit=limit))
        rest = start.filter(received_at__gt=anchor + depths[-1])
    arms.append(_arm(rest, len(depths), forward=forward, limit=limit))
    # The bitmaps of a word ten thousand cases hold, ANDed with a district's years, outgrow the default
    # work_mem (4 MB) and turn lossy: every row of a lossy page is then checked again by its pairs (about
    # 20 µs each; 10 s for 解放南路 in one district at ten million cases). And no parallel plan: a Parallel
    # Append may return the arms interleaved, and the page relies on them coming one after the other. For
    # this statement only (``set_config(..., true)`` is ``SET LOCAL``).
    with transaction.atomic(using=qs.db):
        with connections[qs.db].cursor() as db:
            db.execute(
                "SELECT set_config('work_mem', %s, true), set_config('max_parallel_workers_per_gather', '0', true)",
                [SLICES_WORK_MEM],
            )
        rows: list[Row] = list(arms[0].union(*arms[1:], all=True)[:limit])
    # The arms come in order, each in the page's order (PostgreSQL's Append; checked, not assumed).
    sign = -1 if forward else 1
    order = [(arm, sign * received.timestamp(), sign * pk) for pk, received, arm, _ in rows]
    if order != sorted(order):
        raise RuntimeError("the slices of a search came out of order")
    counts = {arm: count for _, _, arm, count in rows}
    filled = len(rows) == limit
    last = rows[-1][2] if filled else len(depths)
    complete = not filled or last == len(depths)
    return Sliced(
        ids=[pk for pk, _, _, _ in rows],
        counted=sum(counts.values()),
        anchor=anchor,
        covered=depths[last] if not complete else dt.timedelta(0),
        complete=complete,
        forward=forward,
    )


def round_estimate(n: float) -> int:
    """``n`` to two significant digits (3,612 -> 3,600)."""
    if n < 100:
        return round(n)
    digits = len(str(int(n))) - 2
    return int(round(n, -digits))


def total_text(
    found: Sliced,
    *,
    first_page: bool,
    oldest: dt.datetime | None,
    newest: dt.datetime,
    received_share: Callable[[dt.datetime, dt.datetime], float] | None = None,
) -> tuple[str, int | None]:
    """How the page says how many match, and the exact count when it is known: every slice of the first
    page ran. Otherwise an estimate: the matches counted in the slices that ran, scaled from the cases
    received in the span of time they cover to those of the list's span, from ``oldest`` to ``newest``
    (``received_share``: the statistics' share of the cases received between two times; without it, by
    the length of time), as "约 N 件", with its basis on the first page; without ``oldest`` (no
    statistics) only what is certain ("N 件以上")."""
    if found.complete and first_page:
        return f"共 {found.counted:,} 件", found.counted
    if oldest is None:
        return f"{found.counted} 件以上", None
    if found.complete:  # a later page that read to the list's end: its slices span from there to the cursor
        start, end = (oldest, found.anchor) if found.forward else (found.anchor, newest)
    elif found.forward:
        start, end = found.anchor - found.covered, found.anchor
    else:
        start, end = found.anchor, found.anchor + found.covered
    start, end = max(start, oldest), min(end, newest)
    if end <= start:
        return f"{found.counted} 件以上", None
    covered, whole = (end - start).total_seconds(), (newest - oldest).total_seconds()
    if received_share is not None and received_share(start, end) > 1e-6:
        covered, whole = received_share(start, end), received_share(oldest, newest)
    estimate = max(round_estimate(found.counted * max(whole / covered, 1.0)), found.counted)
    if first_page:
        days = found.covered.days
        return f"约 {estimate:,} 件（按最近 {days} 天的 {found.counted} 件推算）", None
    return f"约 {estimate:,} 件（估算）", None
