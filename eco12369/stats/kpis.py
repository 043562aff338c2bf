"""The definitions (口径) of every KPI shown by the assessment (考核, Art. 14), the monthly report and the
public disclosure (月报、信息公开, Art. 13) and the city overview: each rate is defined here once, as a
numerator and a denominator over cases, and the pages, the exports and the assessment all take it from
here (``oversight.assessment`` imports this module; ``stats`` never imports ``oversight``).

A rate covers a *window*: a district (the case's ``region``; the city is the sum of its regions) and a
period ``[start, end)`` (a calendar month in Asia/Shanghai for the report; a month, quarter or year for
the assessment), judged as of ``cut`` = min(end, now), so a running period counts only what is already
decided.

Timeliness (按期) is judged once per case, in the period where it is *decided*: at the earlier of the act
(confirmation, closing) and its deadline. A case acted on by its deadline counts in the period of the act
as on time; a case still not acted on when its deadline passes counts, as late, in the period of the
deadline, whatever happens afterwards (a late closing next month does not count again, nor does it
rewrite the month already reported). So every case counts exactly once, a late case can never vanish from
the figures, and a month that has ended keeps its figures. This is the reading of Art. 12 (办结 within 60
days of acceptance, extended by at most 30 days) and Art. 14 (the assessment looks for matters 未及时办理):
an overdue open case is a failure of its deadline's month, not nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, F, Q

SATISFIED_LEVELS = ("satisfied", "basic")


@dataclass(frozen=True)
class Window:
    """The period ``[start, end)`` judged as of ``cut`` (= min(end, now))."""

    start: dt.datetime
    end: dt.datetime
    cut: dt.datetime

    @classmethod
    def of(cls, start: dt.datetime, end: dt.datetime, as_of: dt.datetime) -> Window:
        return cls(start, end, min(end, as_of))

    def has(self, name: str) -> Q:
        """``name`` falls in the period."""
        return Q(**{f"{name}__gte": self.start, f"{name}__lt": self.end})

    def passed(self, name: str) -> Q:
        """The deadline ``name`` fell in the period and has passed by ``cut``."""
        return Q(**{f"{name}__gte": self.start, f"{name}__lt": self.cut})


def _on_time(act: str, due: str) -> Callable[[Window], Q]:
    def numerator(w: Window) -> Q:
        return w.has(act) & Q(**{f"{due}__isnull": False, f"{act}__lte": F(due)})

    return numerator


def _decided(act: str, due: str) -> Callable[[Window], Q]:
    def denominator(w: Window) -> Q:
        late = w.passed(due) & (Q(**{f"{act}__isnull": True}) | Q(**{f"{act}__gt": F(due)}))
        return _on_time(act, due)(w) | late

    return denominator


@dataclass(frozen=True)
class Kpi:
    """One rate: what it counts (numerator over denominator, as Chinese text for the pages and as ``Q``
    filters over ``Case`` for the queries), and the article it measures."""

    key: str
    label: str
    numerator_text: str
    denominator_text: str
    article: str
    numerator_of: Callable[[Window], Q] | None = None  # None: counted elsewhere (see the text)
    denominator_of: Callable[[Window], Q] | None = None
    counts: str = "id"  # what Count() counts on the Case queryset ("rating": the case's latest rating)

    def numerator(self, window: Window) -> Q:
        """The cases counted above the line, as a filter on ``Case``."""
        assert self.numerator_of is not None, self.key
        return self.numerator_of(window)

    def denominator(self, window: Window) -> Q:
        """The cases counted below the line, as a filter on ``Case``."""
        assert self.denominator_of is not None, self.key
        return self.denominator_of(window)

    @property
    def definition(self) -> str:
        """The footnote / hover text: “按期办结率 = 分子 ÷ 分母（第十二条）”."""
        return f"{self.label} = {self.numerator_text} ÷ {self.denominator_text}（{self.article}）"

    def aggregates(self, window: Window, prefix: str = "") -> dict[str, Count]:
        """``{prefix}num`` and ``{prefix}den``: conditional counts for ``aggregate()``/``annotate()``."""
        return {
            f"{prefix}num": Count(self.counts, filter=self.numerator(window)),
            f"{prefix}den": Count(self.counts, filter=self.denominator(window)),
        }


def rate(numerator: float, denominator: float) -> float | None:
    """A percentage with one decimal, or None when there is nothing to measure (shown as “—”)."""
    return round(100.0 * numerator / denominator, 1) if denominator else None


CONFIRM_ON_TIME = Kpi(
    "confirm_on_time",
    "按期确认率",
    "期内在确认期限内确认的举报件",
    "期内确认或确认期限届满的举报件（逾期未确认的计入期限届满之期，每件只计一次）",
    "第七条",
    _on_time("confirmed_at", "confirm_due"),
    _decided("confirmed_at", "confirm_due"),
)
CLOSE_ON_TIME = Kpi(
    "close_on_time",
    "按期办结率",
    "期内在办结期限内办结的已受理举报件",
    "期内办结或办结期限届满的已受理举报件（逾期未办结的计入期限届满之期，逾期后办结的不再重复计入）",
    "第十二条",
    _on_time("closed_at", "close_due"),
    _decided("closed_at", "close_due"),
)
NOT_EXTENDED = Kpi(
    "extension",
    "未延期率",
    "期内受理且未经批准延期的举报件",
    "期内受理的举报件",
    "第十二条",
    lambda w: w.has("accepted_at") & Q(extension_days=0),
    lambda w: w.has("accepted_at"),
)
SATISFACTION = Kpi(
    "satisfaction",
    "回访满意率",
    "期内回访评价为“满意”“基本满意”的举报件",
    "期内给出回访评价的举报件（再次办结后重新评价的，只计最近一次评价）",
    "第十四条",
    lambda w: w.has("rating__rated_at") & Q(rating__level__in=SATISFIED_LEVELS),
    lambda w: w.has("rating__rated_at"),
    counts="rating",
)
SPOT_CHECK = Kpi(
    "spot_check",
    "抽查得分",
    "期内各月抽查件的得分之和",
    "期内各月已评分的抽查件数（即平均分）",
    "第十四条",
)
SUPERVISION = Kpi(
    "supervision",
    "督办按期回复率",
    "期内到期的督办单中在回复期限内回复的",
    "期内到期（已回复或回复期限已过）的督办单",
    "第十四条",
)
NOT_REPEATED = Kpi(
    "repeat",
    "非重复举报率",
    "期内接收的举报件中不涉及重复举报对象的（同一对象期内被举报达到认定次数的为重复举报对象；"
    "举报人提交前关注已有举报件的，计为对该对象的一次举报）",
    "期内接收的举报件",
    "第十四条",
)

KPIS: tuple[Kpi, ...] = (
    CONFIRM_ON_TIME,
    CLOSE_ON_TIME,
    NOT_EXTENDED,
    SPOT_CHECK,
    SUPERVISION,
    NOT_REPEATED,
    SATISFACTION,
)
BY_KEY: dict[str, Kpi] = {k.key: k for k in KPIS}
# The monthly report's names for the same rates (its ``Headline`` properties).
REPORT_KEYS: dict[str, Kpi] = {
    "confirm_rate": CONFIRM_ON_TIME,
    "close_rate": CLOSE_ON_TIME,
    "satisfaction_rate": SATISFACTION,
}


def definition(key: str) -> str:
    """The definition text of a KPI by its assessment key or its report key (“” for anything else)."""
    kpi = BY_KEY.get(key) or REPORT_KEYS.get(key)
    return kpi.definition if kpi is not None else ""
