"""The figures of a monthly report (Art. 13), computed by aggregate queries only.

Every number here comes from ``aggregate()`` or ``values().annotate()`` with conditional aggregation
(``Count(..., filter=Q(...))``); nothing loops over cases in Python, so a report costs a handful of
queries whatever the number of cases. Months are Asia/Shanghai calendar months and are selected with
half-open ranges on the timestamps (``start <= t < end``), which behave the same on SQLite and
PostgreSQL (no backend-specific date truncation).

Each figure has a *basis*, the event that puts a case into the month:

- received (接收): ``received_at`` in the month: counts by kind, category, channel, current state,
  how the case was confirmed, top reported parties and places;
- confirmed (确认): ``confirmed_at`` in the month;
- closed (办结): ``closed_at`` in the month: counts by outcome, substantiated violations; average handling
  days from acceptance to closing;
- the rates (按期确认率, 按期办结率, 回访满意率) are defined in ``stats.kpis``, the one definition the
  assessment, the disclosure and the city overview use too: timeliness counts in the month where it is
  decided, the earlier of the act and its deadline (an overdue open case is a late case of its deadline's
  month);
- extensions (延期): approved extensions decided in the month (``Extension.decided_at``);
- rated (回访评价, issue #7): cases whose latest rating was given in the month (``Rating.rated_at``), by
  level; the satisfaction rate is “满意” plus “基本满意” over them. A case reopened on review and closed
  again can be rated again (one rating per closing): it counts once, with its latest rating, in that
  rating's month, so a re-rating drops the case from an earlier month's figure (a report already generated
  keeps its figures). Counted in the cases' query through the one-to-one join ``rating`` (the case's
  latest rating, ``Rating.latest_of``: no extra query, case rows never multiplied);
- overdue open (月末逾期未办结): open at the end of the month (or now, for the running month) and past
  the deadline that applied then: the confirmation deadline while unconfirmed, the closing deadline once
  accepted. The closing deadline is the current one, so an extension approved after the month end is
  already counted (documented approximation).

Rates are kept as numerator and denominator, so they can be recomputed and summed without loss.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone

from eco12369.cases.models import (
    Case,
    CaseEvent,
    Category,
    Channel,
    Extension,
    Kind,
    Outcome,
    Reply,
    State,
)
from eco12369.dbrouting import replica_reads
from eco12369.formfields import FIRST_YEAR, LAST_YEAR
from eco12369.orgs.models import Region

from . import kpis

TZ = ZoneInfo("Asia/Shanghai")
# 2: the denominators of the on-time rates (``confirm_judged``, ``close_judged``, ``stats.kpis``).
SCHEMA_VERSION = 2
TOP_N = 10

# ------------------------------------------------------------------------------------------- months
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in Asia/Shanghai."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not FIRST_YEAR <= self.year <= LAST_YEAR:
            raise ValueError(f"invalid month {self.year}-{self.month}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """``"2025-03"`` → Month(2025, 3); ``ValueError`` for anything else."""
        match = _MONTH_RE.match(text.strip())
        if match is None:
            raise ValueError(f"invalid month {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: dt.datetime | dt.date) -> Month:
        if isinstance(moment, dt.datetime):
            moment = moment.astimezone(TZ).date()
        return cls(moment.year, moment.month)

    @classmethod
    def current(cls) -> Month:
        return cls.of(timezone.now())

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=TZ)

    @property
    def end(self) -> dt.datetime:
        """The first instant of the next month (exclusive upper bound)."""
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def last_year(self) -> Month:
        return Month(self.year - 1, self.month)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    def __str__(self) -> str:
        return self.key


# ------------------------------------------------------------------------- substantiated violations
# A closed case is *substantiated* (查实存在环境违法问题) when it was handled (outcome ``handled``) and the
# reviewer-approved handling reply states violations in its third part (Art. 10 “存在的环境违法问题”),
# i.e. that part is not empty and does not say "none found". Only then may the public disclosure name the
# reported party. The rule errs on the side of not naming: any text that starts with or contains a
# "nothing found / not true" phrase counts as not substantiated.
NO_VIOLATION_EXACT = ("无", "没有", "暂无", "否", "/", "-", "—", "无问题", "无违法问题", "无环境违法问题")
NO_VIOLATION_PREFIXES = (
    "未发现",
    "未见",
    "未查",
    "查无",
    "暂未",
    "没有",
    "暂无",
    "不存在",
    "无明显",
    "无环境",
    "无违法",
    "无违规",
    "无超标",
    "无相关",
    "举报不实",
    "不属实",
)
NO_VIOLATION_CONTAINS = ("不属实", "未发现", "未查实", "不存在环境违法", "无环境违法")


def _exact_variants() -> list[str]:
    return [word + end for word in NO_VIOLATION_EXACT for end in ("", "。", ".")]


def violations_stated(text: str) -> bool:
    """The Python form of the rule (for documentation and tests); the database form is ``_no_violation_q``."""
    text = text.strip()
    if not text or text in _exact_variants():
        return False
    if any(text.startswith(p) for p in NO_VIOLATION_PREFIXES):
        return False
    return not any(s in text for s in NO_VIOLATION_CONTAINS)


def _no_violation_q() -> Q:
    parts = [Q(violations=""), Q(violations__in=_exact_variants())]
    parts += [Q(violations__startswith=p) for p in NO_VIOLATION_PREFIXES]
    parts += [Q(violations__contains=s) for s in NO_VIOLATION_CONTAINS]
    return reduce(or_, parts)


def substantiated_exists() -> Exists:
    """``Exists`` subquery, for a ``Case`` queryset: handled, with an approved reply stating violations."""
    replies = Reply.objects.filter(
        case=OuterRef("pk"), kind=Reply.Kind.HANDLING, status=Reply.Status.APPROVED
    ).exclude(_no_violation_q())
    return Exists(replies)


def substantiated_q() -> Q:
    return Q(outcome=Outcome.HANDLED) & Q(substantiated_exists())


# -------------------------------------------------------------------------------------- dataclasses
@dataclass(frozen=True)
class Headline:
    """The main figures of one region and month."""

    received: int = 0
    confirmed: int = 0
    confirmed_on_time: int = 0  # 按期确认率's numerator (stats.kpis.CONFIRM_ON_TIME)
    confirm_judged: int = 0  # … and its denominator
    closed: int = 0
    closed_with_deadline: int = 0
    closed_on_time: int = 0  # 按期办结率's numerator (stats.kpis.CLOSE_ON_TIME)
    close_judged: int = 0  # … and its denominator
    substantiated: int = 0
    handled_closed: int = 0  # closed cases that had been accepted: the base of the average handling time
    handling_days_total: float = 0.0
    overdue_unconfirmed: int = 0
    overdue_unclosed: int = 0
    extensions: int = 0
    extended_cases: int = 0
    extension_days: int = 0
    # Satisfaction follow-up (回访, issue #7): ratings given in the month, by level.
    rated: int = 0
    rated_satisfied: int = 0
    rated_basic: int = 0
    rated_unsatisfied: int = 0

    @property
    def has_data(self) -> bool:
        """Anything happened in the month: received, confirmed, closed, overdue, extended or rated. A month
        before the platform (or the district) began has nothing to compare with (issue 12, D19)."""
        return any(
            (
                self.received,
                self.confirmed,
                self.closed,
                self.overdue_unconfirmed,
                self.overdue_unclosed,
                self.extensions,
                self.rated,
            )
        )

    @property
    def satisfaction_rate(self) -> float | None:
        """回访满意率 (``stats.kpis.SATISFACTION``)."""
        return kpis.rate(self.rated_satisfied + self.rated_basic, self.rated)

    @property
    def confirm_rate(self) -> float | None:
        """按期确认率 (``stats.kpis.CONFIRM_ON_TIME``)."""
        return kpis.rate(self.confirmed_on_time, self.confirm_judged)

    @property
    def close_rate(self) -> float | None:
        """按期办结率 (``stats.kpis.CLOSE_ON_TIME``)."""
        return kpis.rate(self.closed_on_time, self.close_judged)

    def rate_parts(self) -> dict[str, tuple[int, int]]:
        """(numerator, denominator) of each rate, by its report key (``stats.kpis.REPORT_KEYS``)."""
        return {
            "confirm_rate": (self.confirmed_on_time, self.confirm_judged),
            "close_rate": (self.closed_on_time, self.close_judged),
            "satisfaction_rate": (self.rated_satisfied + self.rated_basic, self.rated),
        }

    @property
    def overdue_open(self) -> int:
        return self.overdue_unconfirmed + self.overdue_unclosed

    @property
    def avg_handling_days(self) -> float | None:
        if not self.handled_closed:
            return None
        return round(self.handling_days_total / self.handled_closed, 1)

    def plus(self, other: Headline) -> Headline:
        return Headline(**{name: getattr(self, name) + getattr(other, name) for name in _HEADLINE_FIELDS})


_HEADLINE_FIELDS = tuple(Headline.__dataclass_fields__)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Ranked:
    name: str
    count: int


@dataclass(frozen=True)
class RegionFigures:
    """One district's headline, for the city's side-by-side table."""

    code: str
    name: str
    headline: Headline


@dataclass(frozen=True)
class Change:
    """A main figure with its month-on-month and year-on-year change."""

    key: str
    label: str
    unit: str  # "件", "%", "天"
    current: float | None
    previous: float | None
    last_year: float | None
    direction: int = 0  # +1: a rise is good news; -1: a rise is bad news; 0: neutral
    parts: tuple[int, int] | None = None  # a rate's numerator and denominator this month (stats.kpis)

    def _tone(self, delta: float | None) -> str:
        if delta is None or delta == 0 or self.direction == 0:
            return "flat"
        return "good" if (delta > 0) == (self.direction > 0) else "bad"

    @property
    def mom_tone(self) -> str:
        """CSS class for the month-on-month change: good, bad or flat."""
        return self._tone(self.mom_delta)

    @property
    def yoy_tone(self) -> str:
        return self._tone(self.yoy_delta)

    @staticmethod
    def _delta(a: float | None, b: float | None) -> float | None:
        if a is None or b is None:
            return None
        return round(a - b, 1)

    @staticmethod
    def _pct(a: float | None, b: float | None) -> float | None:
        if a is None or b is None or b == 0:
            return None
        return round(100.0 * (a - b) / b, 1)

    @property
    def mom_delta(self) -> float | None:
        return self._delta(self.current, self.previous)

    @property
    def yoy_delta(self) -> float | None:
        return self._delta(self.current, self.last_year)

    @property
    def mom_pct(self) -> float | None:
        """Relative change in % (counts and days only; for rates the delta in points is what matters)."""
        return None if self.unit == "%" else self._pct(self.current, self.previous)

    @property
    def yoy_pct(self) -> float | None:
        return None if self.unit == "%" else self._pct(self.current, self.last_year)


# (key, label, unit, direction): direction +1 when a rise is good news, -1 when it is bad news, 0 neutral.
MAIN_FIGURES: tuple[tuple[str, str, str, int], ...] = (
    ("received", "接收举报件", "件", 0),
    ("confirmed", "确认件数", "件", 0),
    ("confirm_rate", "按期确认率", "%", 1),
    ("closed", "办结件数", "件", 0),
    ("close_rate", "按期办结率", "%", 1),
    ("substantiated", "查实环境违法", "件", 0),
    ("overdue_open", "月末逾期未办结", "件", -1),
    ("extensions", "批准延期", "次", -1),
    ("avg_handling_days", "平均办理天数", "天", -1),
    ("satisfaction_rate", "回访满意率", "%", 1),
)


@dataclass(frozen=True)
class MonthlyFigures:
    region_code: str  # the city's code for the whole city
    region_name: str
    is_city: bool
    month: Month
    as_of: dt.datetime
    headline: Headline
    previous: Headline
    last_year: Headline
    by_kind: tuple[Row, ...]
    by_category: tuple[Row, ...]
    by_channel: tuple[Row, ...]
    by_state: tuple[Row, ...]
    by_outcome: tuple[Row, ...]
    confirmation: tuple[Row, ...]
    top_parties: tuple[Ranked, ...]
    top_places: tuple[Ranked, ...]
    districts: tuple[RegionFigures, ...] = field(default=())
    # 退单 (issue 15): cases the handling departments returned to the operators in the month, per department.
    sent_back: tuple[Row, ...] = field(default=())

    def changes(self) -> list[Change]:
        out = []
        for key, label, unit, direction in MAIN_FIGURES:
            # A month without any data compares as "—", not as zero.
            current, previous, last_year = (
                getattr(h, key) if h is self.headline or h.has_data else None
                for h in (self.headline, self.previous, self.last_year)
            )
            parts = self.headline.rate_parts().get(key)
            out.append(
                Change(key, label, unit, current, previous, last_year, direction=direction, parts=parts)
            )
        return out

    def breakdowns(self) -> list[tuple[str, str, tuple[Row, ...]]]:
        """(key, title, rows) of every count table, in report order."""
        return [
            ("kind", "按类型（本月接收）", self.by_kind),
            ("category", "按污染类别（本月接收）", self.by_category),
            ("channel", "按渠道（本月接收）", self.by_channel),
            ("confirmation", "确认结果（本月接收）", self.confirmation),
            ("state", "当前状态（本月接收）", self.by_state),
            ("outcome", "办结方式（本月办结）", self.by_outcome),
            ("sent_back", "退单（本月，按承办部门）", self.sent_back),
        ]

    # ------------------------------------------------------------------------------- JSON snapshot
    def to_json(self) -> dict[str, Any]:
        def headline(h: Headline) -> dict[str, Any]:
            return {name: getattr(h, name) for name in _HEADLINE_FIELDS}

        def rows(items: tuple[Row, ...]) -> list[dict[str, Any]]:
            return [{"key": r.key, "label": r.label, "count": r.count} for r in items]

        def ranked(items: tuple[Ranked, ...]) -> list[dict[str, Any]]:
            return [{"name": r.name, "count": r.count} for r in items]

        return {
            "version": SCHEMA_VERSION,
            "region_code": self.region_code,
            "region_name": self.region_name,
            "is_city": self.is_city,
            "month": self.month.key,
            "as_of": self.as_of.astimezone(TZ).isoformat(),
            "headline": headline(self.headline),
            "previous": headline(self.previous),
            "last_year": headline(self.last_year),
            "by_kind": rows(self.by_kind),
            "by_category": rows(self.by_category),
            "by_channel": rows(self.by_channel),
            "by_state": rows(self.by_state),
            "by_outcome": rows(self.by_outcome),
            "confirmation": rows(self.confirmation),
            "top_parties": ranked(self.top_parties),
            "top_places": ranked(self.top_places),
            "districts": [
                {"code": d.code, "name": d.name, "headline": headline(d.headline)} for d in self.districts
            ],
            "sent_back": rows(self.sent_back),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MonthlyFigures:
        def headline(d: dict[str, Any]) -> Headline:
            if data.get("version", 1) < 2:
                # A snapshot taken before the rates had their own denominators keeps its published rates.
                d = {
                    "confirm_judged": d.get("confirmed", 0),
                    "close_judged": d.get("closed_with_deadline", 0),
                } | d
            return Headline(**{k: v for k, v in d.items() if k in _HEADLINE_FIELDS})

        def rows(items: list[dict[str, Any]]) -> tuple[Row, ...]:
            return tuple(Row(i["key"], i["label"], int(i["count"])) for i in items)

        def ranked(items: list[dict[str, Any]]) -> tuple[Ranked, ...]:
            return tuple(Ranked(i["name"], int(i["count"])) for i in items)

        return cls(
            region_code=data["region_code"],
            region_name=data["region_name"],
            is_city=bool(data["is_city"]),
            month=Month.parse(data["month"]),
            as_of=dt.datetime.fromisoformat(data["as_of"]),
            headline=headline(data["headline"]),
            previous=headline(data["previous"]),
            last_year=headline(data["last_year"]),
            by_kind=rows(data["by_kind"]),
            by_category=rows(data["by_category"]),
            by_channel=rows(data["by_channel"]),
            by_state=rows(data["by_state"]),
            by_outcome=rows(data["by_outcome"]),
            confirmation=rows(data["confirmation"]),
            top_parties=ranked(data["top_parties"]),
            top_places=ranked(data["top_places"]),
            districts=tuple(
                RegionFigures(d["code"], d["name"], headline(d["headline"]))
                for d in data.get("districts", [])
            ),
            sent_back=rows(data.get("sent_back", [])),  # absent from snapshots taken before issue 15
        )


# ------------------------------------------------------------------------------------------ queries
def _cases(region: Region | None) -> QuerySet[Case]:
    """The cases of a district, or of the whole city (``None`` or the city region)."""
    qs = Case.objects.all()
    if region is not None and region.level != Region.Level.CITY:
        qs = qs.filter(region=region)
    return qs


def _cutoff(month: Month, as_of: dt.datetime) -> dt.datetime:
    """The end of the month, or ``as_of`` while the month is still running."""
    return min(month.end, as_of)


def _in(name: str, month: Month) -> Q:
    return Q(**{f"{name}__gte": month.start, f"{name}__lt": month.end})


def _headline_aggregates(month: Month, as_of: dt.datetime) -> dict[str, Any]:
    """Conditional aggregates over a Case queryset (no annotations: everything is inline in one SELECT)."""
    cut = _cutoff(month, as_of)
    window = kpis.Window(month.start, month.end, cut)
    received = _in("received_at", month)
    confirmed = _in("confirmed_at", month)
    closed = _in("closed_at", month)
    open_at_cut = Q(received_at__lt=cut) & (Q(closed_at__isnull=True) | Q(closed_at__gte=cut))
    unconfirmed_at_cut = Q(confirmed_at__isnull=True) | Q(confirmed_at__gte=cut)
    # The cases' latest ratings (followup.Rating.latest_of, one per case: the join never multiplies case
    # rows) given in the month.
    rated = _in("rating__rated_at", month)
    return {
        "received": Count("id", filter=received),
        "confirmed": Count("id", filter=confirmed),
        "confirmed_on_time": Count("id", filter=kpis.CONFIRM_ON_TIME.numerator(window)),
        "confirm_judged": Count("id", filter=kpis.CONFIRM_ON_TIME.denominator(window)),
        "closed": Count("id", filter=closed),
        "closed_with_deadline": Count("id", filter=closed & Q(close_due__isnull=False)),
        "closed_on_time": Count("id", filter=kpis.CLOSE_ON_TIME.numerator(window)),
        "close_judged": Count("id", filter=kpis.CLOSE_ON_TIME.denominator(window)),
        "substantiated": Count("id", filter=closed & substantiated_q()),
        "handled_closed": Count("id", filter=closed & Q(accepted_at__isnull=False)),
        "handling_total": Sum(
            ExpressionWrapper(F("closed_at") - F("accepted_at"), output_field=DurationField()),
            filter=closed & Q(accepted_at__isnull=False),
        ),
        "overdue_unconfirmed": Count("id", filter=open_at_cut & unconfirmed_at_cut & Q(confirm_due__lt=cut)),
        "overdue_unclosed": Count(
            "id",
            filter=open_at_cut
            & Q(confirmed_at__lt=cut, close_due__isnull=False, close_due__lt=cut)
            & Q(accepted_at__lt=cut),
        ),
        "rated": Count("rating", filter=kpis.SATISFACTION.denominator(window)),
        "rated_satisfied": Count("rating", filter=rated & Q(rating__level="satisfied")),
        "rated_basic": Count("rating", filter=rated & Q(rating__level="basic")),
        "rated_unsatisfied": Count("rating", filter=rated & Q(rating__level="unsatisfied")),
    }


def _days(value: dt.timedelta | None) -> float:
    return 0.0 if value is None else value.total_seconds() / 86400.0


def _headline_from(row: dict[str, Any], ext: dict[str, Any]) -> Headline:
    return Headline(
        received=row["received"],
        confirmed=row["confirmed"],
        confirmed_on_time=row["confirmed_on_time"],
        confirm_judged=row["confirm_judged"],
        closed=row["closed"],
        closed_with_deadline=row["closed_with_deadline"],
        closed_on_time=row["closed_on_time"],
        close_judged=row["close_judged"],
        substantiated=row["substantiated"],
        handled_closed=row["handled_closed"],
        handling_days_total=round(_days(row["handling_total"]), 4),
        overdue_unconfirmed=row["overdue_unconfirmed"],
        overdue_unclosed=row["overdue_unclosed"],
        extensions=ext.get("extensions") or 0,
        extended_cases=ext.get("extended_cases") or 0,
        extension_days=ext.get("extension_days") or 0,
        rated=row["rated"],
        rated_satisfied=row["rated_satisfied"],
        rated_basic=row["rated_basic"],
        rated_unsatisfied=row["rated_unsatisfied"],
    )


def _extensions(region: Region | None, months: tuple[Month, ...]) -> QuerySet[Extension]:
    """Approved extensions decided in any of ``months`` (each month's figures are FILTERed out of them)."""
    decided = reduce(or_, (_in("decided_at", m) for m in months))
    qs = Extension.objects.filter(status=Extension.Status.APPROVED).filter(decided)
    if region is not None and region.level != Region.Level.CITY:
        qs = qs.filter(case__region=region)
    return qs


def _extension_aggregates(months: tuple[Month, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, month in enumerate(months):
        decided = _in("decided_at", month)
        out[f"m{i}_extensions"] = Count("id", filter=decided)
        out[f"m{i}_extended_cases"] = Count("case", distinct=True, filter=decided)
        out[f"m{i}_extension_days"] = Sum("days", filter=decided)
    return out


def _case_aggregates(months: tuple[Month, ...], as_of: dt.datetime) -> dict[str, Any]:
    """The headline aggregates of every month in ``months``, prefixed ``m0_``, ``m1_`` …: one pass over the
    cases computes the report's month, the month before and the same month a year before (issue #6)."""
    out: dict[str, Any] = {}
    for i, month in enumerate(months):
        out |= {f"m{i}_{name}": value for name, value in _headline_aggregates(month, as_of).items()}
    return out


def _month_part(row: dict[str, Any], i: int) -> dict[str, Any]:
    prefix = f"m{i}_"
    return {key.removeprefix(prefix): value for key, value in row.items() if key.startswith(prefix)}


def _sum_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Add up grouped aggregate rows (counts, day sums, durations); None is nothing."""
    total: dict[str, Any] = {}
    for row in rows:
        for key, value in row.items():
            if value is None:
                total.setdefault(key, None)
            elif total.get(key) is None:
                total[key] = value
            else:
                total[key] = total[key] + value
    return total


def _headlines(region: Region | None, months: tuple[Month, ...], as_of: dt.datetime) -> list[Headline]:
    """The main figures of ``region`` (a district or the city) for each of ``months``: two queries."""
    row = _cases(region).aggregate(**_case_aggregates(months, as_of))
    ext = _extensions(region, months).aggregate(**_extension_aggregates(months))
    return [_headline_from(_month_part(row, i), _month_part(ext, i)) for i in range(len(months))]


def _headlines_by_region(
    months: tuple[Month, ...], as_of: dt.datetime
) -> tuple[list[Headline], dict[int, list[Headline]]]:
    """The city's main figures for each of ``months`` and every region's beside them, from one grouped pass
    over the cases and one over the extensions: the city's are the sum of its regions' (the districts and
    the cases owned by the city centre)."""
    rows = {
        r["region_id"]: r
        for r in Case.objects.all().values("region_id").annotate(**_case_aggregates(months, as_of)).order_by()
    }
    exts = {
        r["case__region_id"]: r
        for r in _extensions(None, months)
        .values("case__region_id")
        .annotate(**_extension_aggregates(months))
        .order_by()
    }
    empty = dict.fromkeys(_case_aggregates(months, as_of), 0) | {
        f"m{i}_handling_total": None for i in range(len(months))
    }
    city_row, city_ext = _sum_rows(list(rows.values())), _sum_rows(list(exts.values()))
    city = [
        _headline_from(_month_part(city_row or empty, i), _month_part(city_ext, i))
        for i in range(len(months))
    ]
    by_region = {
        pk: [
            _headline_from(_month_part(row, i), _month_part(exts.get(pk, {}), i)) for i in range(len(months))
        ]
        for pk, row in rows.items()
    }
    by_region[0] = [_headline_from(_month_part(empty, i), {}) for i in range(len(months))]
    return city, by_region


def headline_figures(*, region: Region | None, month: Month, as_of: dt.datetime | None = None) -> Headline:
    """The main figures of one district (or the city) and month: two aggregate queries."""
    return _headlines(region, (month,), as_of or timezone.now())[0]


def headline_by_district(
    *, month: Month, as_of: dt.datetime | None = None, districts: list[Region] | None = None
) -> list[RegionFigures]:
    """Every district's main figures side by side: two grouped aggregate queries for all districts
    (and one for the districts themselves unless ``districts`` is given)."""
    _, by_region = _headlines_by_region((month,), as_of or timezone.now())
    if districts is None:
        districts = list(Region.objects.filter(level=Region.Level.DISTRICT).order_by("code"))
    return [RegionFigures(d.code, d.name, by_region.get(d.pk, by_region[0])[0]) for d in districts]


def _counts(qs: QuerySet[Case], field_name: str, choices: Any) -> tuple[Row, ...]:
    found = dict(qs.values(field_name).annotate(n=Count("id")).order_by().values_list(field_name, "n"))
    return tuple(Row(value, str(label), found.get(value, 0)) for value, label in choices.choices)


CONFIRMATION_ROWS: tuple[tuple[str, str], ...] = (
    ("accepted", "受理"),
    ("answered", "直接答复"),
    ("handed_over", "移交其他部门"),
    ("duplicate", "重复举报"),
    ("withdrawn", "举报人撤回"),  # issue 14: withdrawn by the reporter before acceptance
    ("reply_in_review", "答复或移交待审核"),
    ("unconfirmed", "尚未确认"),
)


def _confirmation(qs: QuerySet[Case]) -> tuple[Row, ...]:
    """How the month's cases were confirmed (Art. 7, 8, 14): a partition of the received cases."""
    not_accepted = Q(accepted_at__isnull=True)
    counts = qs.aggregate(
        accepted=Count("id", filter=Q(accepted_at__isnull=False)),
        answered=Count("id", filter=not_accepted & Q(outcome=Outcome.ANSWERED)),
        handed_over=Count("id", filter=not_accepted & Q(outcome=Outcome.HANDED_OVER)),
        duplicate=Count("id", filter=not_accepted & Q(outcome=Outcome.DUPLICATE)),
        withdrawn=Count("id", filter=not_accepted & Q(outcome=Outcome.WITHDRAWN)),
        reply_in_review=Count("id", filter=not_accepted & Q(state=State.IN_REVIEW)),
        unconfirmed=Count("id", filter=Q(state__in=(State.RECEIVED, State.ESCALATED))),
    )
    return tuple(Row(key, label, counts[key]) for key, label in CONFIRMATION_ROWS)


def _sent_back(region: Region | None, month: Month) -> tuple[Row, ...]:
    """退单 in ``month`` per handling department (the department named in the event: it has none since),
    most first: one grouped query over the timeline events."""
    events = CaseEvent.objects.filter(action="send_back").filter(_in("at", month))
    if region is not None and region.level != Region.Level.CITY:
        events = events.filter(case__region=region)
    found = (
        events.values(
            "data__department_id", "data__department", "actor_agency__short_name", "actor_agency__name"
        )
        .annotate(n=Count("id"))
        .order_by("-n", "data__department_id")
    )
    return tuple(
        Row(
            str(r["data__department_id"]),
            f"{r['actor_agency__short_name'] or r['actor_agency__name'] or ''}·{r['data__department']}",
            r["n"],
        )
        for r in found
    )


def _top(qs: QuerySet[Case], field_name: str) -> tuple[Ranked, ...]:
    rows = (
        qs.exclude(**{field_name: ""})
        .values(field_name)
        .annotate(n=Count("id"))
        .order_by("-n", field_name)[:TOP_N]
    )
    return tuple(Ranked(r[field_name], r["n"]) for r in rows)


@replica_reads()
def monthly_figures(
    *, region: Region | None, month: Month, as_of: dt.datetime | None = None
) -> MonthlyFigures:
    """All figures of the monthly report of ``region`` (a district, or None/the city region for the city)."""
    as_of = as_of or timezone.now()
    is_city = region is None or region.level == Region.Level.CITY
    if region is None:
        region = Region.objects.filter(level=Region.Level.CITY).first()
    cases = _cases(region)
    received = cases.filter(_in("received_at", month))
    closed = cases.filter(_in("closed_at", month))
    months = (month, month.previous(), month.last_year())
    districts: tuple[RegionFigures, ...] = ()
    if is_city:
        # One grouped pass gives the city's figures of the three months and the districts' beside them.
        heads, by_region = _headlines_by_region(months, as_of)
        regions = Region.objects.filter(level=Region.Level.DISTRICT).order_by("code")
        districts = tuple(
            RegionFigures(d.code, d.name, by_region.get(d.pk, by_region[0])[0]) for d in regions
        )
    else:
        heads = _headlines(region, months, as_of)
    return MonthlyFigures(
        region_code=region.code if region else "",
        region_name=region.name if region else "",
        is_city=is_city,
        month=month,
        as_of=as_of,
        headline=heads[0],
        previous=heads[1],
        last_year=heads[2],
        by_kind=_counts(received, "kind", Kind),
        by_category=_counts(received, "category", Category),
        by_channel=_counts(received, "channel", Channel),
        by_state=_counts(received, "state", State),
        by_outcome=_counts(closed, "outcome", Outcome),
        confirmation=_confirmation(received),
        top_parties=_top(received, "reported_party"),
        top_places=_top(received, "address"),
        districts=districts,
        sent_back=_sent_back(region, month),
    )


def headline_rows(h: Headline) -> list[tuple[str, float | None, str]]:
    """Every headline number with its Chinese label and unit, in report order (tables, Excel, PDF)."""
    return [
        ("本月接收举报件", h.received, "件"),
        ("本月确认", h.confirmed, "件"),
        ("应确认（本月确认或确认期限届满）", h.confirm_judged, "件"),
        ("其中按期确认", h.confirmed_on_time, "件"),
        ("按期确认率", h.confirm_rate, "%"),
        ("本月办结", h.closed, "件"),
        ("其中有办结期限（已受理）", h.closed_with_deadline, "件"),
        ("应办结（本月办结或办结期限届满的已受理件）", h.close_judged, "件"),
        ("其中按期办结", h.closed_on_time, "件"),
        ("按期办结率", h.close_rate, "%"),
        ("查实存在环境违法问题", h.substantiated, "件"),
        ("平均办理天数（受理至办结）", h.avg_handling_days, "天"),
        ("月末逾期未确认", h.overdue_unconfirmed, "件"),
        ("月末逾期未办结（已受理）", h.overdue_unclosed, "件"),
        ("月末逾期合计", h.overdue_open, "件"),
        ("批准延期", h.extensions, "次"),
        ("延期涉及举报件", h.extended_cases, "件"),
        ("批准延期天数合计", h.extension_days, "天"),
        ("本月回访评价", h.rated, "件"),
        ("其中满意", h.rated_satisfied, "件"),
        ("其中基本满意", h.rated_basic, "件"),
        ("其中不满意", h.rated_unsatisfied, "件"),
        ("回访满意率", h.satisfaction_rate, "%"),
    ]


def combine(items: list[MonthlyFigures], *, name: str, code: str = "") -> MonthlyFigures | None:
    """The sum of several regions' figures (counts add up; rates and averages are recomputed from their
    numerators and denominators). Top lists are not combined. None for an empty list."""
    if not items:
        return None

    def total(getter: Any) -> Headline:
        return reduce(lambda a, b: a.plus(b), (getter(f) for f in items), Headline())

    def rows(getter: Any) -> tuple[Row, ...]:
        first: tuple[Row, ...] = getter(items[0])
        sums: dict[str, int] = {}
        for f in items:
            for r in getter(f):
                sums[r.key] = sums.get(r.key, 0) + r.count
        return tuple(Row(r.key, r.label, sums[r.key]) for r in first)

    return MonthlyFigures(
        region_code=code,
        region_name=name,
        is_city=False,
        month=items[0].month,
        as_of=max(f.as_of for f in items),
        headline=total(lambda f: f.headline),
        previous=total(lambda f: f.previous),
        last_year=total(lambda f: f.last_year),
        by_kind=rows(lambda f: f.by_kind),
        by_category=rows(lambda f: f.by_category),
        by_channel=rows(lambda f: f.by_channel),
        by_state=rows(lambda f: f.by_state),
        by_outcome=rows(lambda f: f.by_outcome),
        confirmation=rows(lambda f: f.confirmation),
        top_parties=(),
        top_places=(),
        sent_back=tuple(r for f in items for r in f.sent_back),  # each department is of one region
    )
