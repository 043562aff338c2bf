"""District assessment (考核, Art. 14): seven indicators per district and period, each a rate from 0 to 100
where higher is better, combined with the weights of ``AssessmentScheme``; districts ranked by the total.

Every figure comes from a grouped aggregate query (one over cases, one over spot-check items, one over
supervision orders, one over fingerprints for repeated reports): four queries whatever the number of
cases. An indicator with nothing to measure in a district (no spot check that month, no supervision
order) is left out of that district's total and the other weights count proportionally.

Indicators: every definition (numerator, denominator, the period and district a case counts in) is in
``stats.kpis``, the one place the monthly report and the disclosure take theirs from too. The case-based
ones (按期确认率, 按期办结率, 未延期率, 回访满意率) are counted with that module's ``Q`` filters in the
cases' query; 抽查得分, 督办按期回复率 and 非重复举报率 are counted here, as ``stats.kpis`` describes them.
A reporter who followed an open case at intake instead of filing it again (``followup.Follow``, issue #7)
reported its party again: follows made in P count as reports of the followed case's party.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from django.db.models import Avg, Count, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from eco12369.cases.models import Case, SupervisionOrder
from eco12369.dbrouting import replica_reads
from eco12369.orgs.models import Region
from eco12369.stats import kpis

from .models import AssessmentScheme, CaseFingerprint, SpotCheckItem
from .periods import Period
from .services import assessment_scheme_current

INDICATORS: list[tuple[str, str]] = [(k.key, k.label) for k in kpis.KPIS]
INDICATOR_LABELS = dict(INDICATORS)


@dataclass
class Indicator:
    score: float | None  # 0..100, None: nothing to measure
    numerator: float = 0
    denominator: float = 0
    detail: str = ""


@dataclass
class AssessmentRow:
    region: Region
    indicators: dict[str, Indicator] = field(default_factory=dict)
    total: float | None = None
    rank: int | None = None
    received: int = 0


@replica_reads()
def assessment_rows(
    *, period: Period, scheme: AssessmentScheme, now: dt.datetime | None = None
) -> list[AssessmentRow]:
    now = now or timezone.now()
    start, end = period.start_at, period.end_at
    judged_until = min(end, now)
    today = timezone.localdate(now)
    regions = list(Region.objects.filter(level=Region.Level.DISTRICT).order_by("code"))
    # Every row holds every indicator, in the order of INDICATORS (the page and the export rely on it).
    rows = {
        r.pk: AssessmentRow(region=r, indicators={k: Indicator(None) for k, _ in INDICATORS}) for r in regions
    }

    window = kpis.Window(start, end, judged_until)
    received = window.has("received_at")
    counted = [kpis.CONFIRM_ON_TIME, kpis.CLOSE_ON_TIME, kpis.NOT_EXTENDED, kpis.SATISFACTION]
    aggregates: dict[str, Any] = {"received": Count("id", filter=received)}
    for kpi in counted:
        aggregates |= kpi.aggregates(window, prefix=f"{kpi.key}_")
    involved = received
    for kpi in counted:
        involved |= kpi.denominator(window)
    case_figures = (
        Case.objects.filter(region_id__in=rows).filter(involved).values("region_id").annotate(**aggregates)
    )
    for fig in case_figures:
        row = rows[fig["region_id"]]
        row.received = fig["received"]
        for kpi in counted:
            num, den = fig[f"{kpi.key}_num"], fig[f"{kpi.key}_den"]
            if kpi is kpis.SATISFACTION and not den:
                continue  # no rating: nothing to measure (the weight goes to the others)
            detail = ""
            if kpi is kpis.NOT_EXTENDED:
                detail = f"延期{den - num}件"
            elif kpi is kpis.SATISFACTION:
                detail = f"不满意{den - num}件"
            row.indicators[kpi.key] = Indicator(kpis.rate(num, den), num, den, detail)

    spot = (
        SpotCheckItem.objects.filter(
            spot_check__month__gte=period.first, spot_check__month__lt=period.end, score__isnull=False
        )
        .values("region_id")
        .annotate(avg=Avg("score"), n=Count("id"))
    )
    for fig in spot:
        if fig["region_id"] in rows:
            rows[fig["region_id"]].indicators["spot_check"] = Indicator(
                round(fig["avg"], 1), round(fig["avg"], 1), fig["n"], f"抽查{fig['n']}件"
            )

    orders = (
        SupervisionOrder.objects.filter(answer_due__gte=period.first, answer_due__lt=period.end)
        .filter(Q(answered_at__isnull=False) | Q(answer_due__lt=today))
        .annotate(answered_day=TruncDate("answered_at"))
        .values("case__region_id")
        .annotate(due=Count("id"), on_time=Count("id", filter=Q(answered_day__lte=F("answer_due"))))
    )
    for fig in orders:
        if fig["case__region_id"] in rows:
            rows[fig["case__region_id"]].indicators["supervision"] = Indicator(
                kpis.rate(fig["on_time"], fig["due"]), fig["on_time"], fig["due"]
            )

    in_period = Q(received_at__gte=start, received_at__lt=end)
    followed = Q(case__follows__created_at__gte=start, case__follows__created_at__lt=end)
    repeated = (
        CaseFingerprint.objects.filter(case__region_id__in=rows)
        .filter(in_period | followed)
        .exclude(party_key="")
        .values("case__region_id", "party_key")
        .annotate(
            n=Count("case_id", distinct=True, filter=in_period),
            follows=Count("case__follows", distinct=True, filter=followed),
        )
        .annotate(reports=F("n") + F("follows"))
        .filter(reports__gte=repeat_threshold_in_force(scheme))
    )
    repeat_cases: dict[int, int] = {}
    repeat_parties: dict[int, int] = {}
    repeat_follows: dict[int, int] = {}
    for fig in repeated:
        region_id = fig["case__region_id"]
        repeat_cases[region_id] = repeat_cases.get(region_id, 0) + fig["n"]
        repeat_parties[region_id] = repeat_parties.get(region_id, 0) + 1
        repeat_follows[region_id] = repeat_follows.get(region_id, 0) + fig["follows"]
    for region_id, row in rows.items():
        if row.received:
            clean = row.received - repeat_cases.get(region_id, 0)
            row.indicators["repeat"] = Indicator(
                kpis.rate(clean, row.received),
                clean,
                row.received,
                f"重复举报对象{repeat_parties.get(region_id, 0)}个、{repeat_cases.get(region_id, 0)}件"
                + (f"（另有关注{repeat_follows[region_id]}次）" if repeat_follows.get(region_id) else ""),
            )

    weights = scheme.weights()
    for row in rows.values():
        measured = [(weights[k], ind.score) for k, ind in row.indicators.items() if ind.score is not None]
        weight = sum(w for w, _ in measured)
        if weight:
            row.total = round(sum(w * s for w, s in measured if s is not None) / weight, 2)
    ranked = sorted(rows.values(), key=lambda r: (r.total is None, -(r.total or 0), r.region.code))
    previous: float | None = None
    for position, row in enumerate(ranked, start=1):
        if row.total is None:
            break
        row.rank = ranked[position - 2].rank if position > 1 and row.total == previous else position
        previous = row.total
    return ranked


def repeat_threshold_in_force(scheme: AssessmentScheme | None = None) -> int:
    """How many reports of one party make it a repeatedly reported party (重复举报): the
    ``repeat_threshold`` of ``scheme``, by default of the scheme in force (set on the weights page). The
    assessment, the repeats list and the duplicates page all read it here."""
    return (scheme if scheme is not None else assessment_scheme_current()).repeat_threshold


def assessment_workbook(*, rows: list[AssessmentRow], period: Period, scheme: AssessmentScheme) -> bytes:
    """The ranking as an Excel workbook (Chinese headers): the ranking, the figures behind it, the weights."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from eco12369.sheets import sheet_row  # lazy: openpyxl, loaded only for an export

    wb = Workbook()
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DCE8F7")

    def sheet(ws: Any, title: str, headers: list[str], data: list[list[Any]], widths: list[int]) -> None:
        ws.title = title
        for cell in sheet_row(ws, 1, headers):
            cell.font = header_font
            cell.fill = header_fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for number, line in enumerate(data, start=2):
            sheet_row(ws, number, line)
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"

    labels = [label for _, label in INDICATORS]
    sheet(
        wb.active,
        "考核排名",
        ["排名", "区", "综合得分", *labels],
        [
            [row.rank, row.region.name, row.total, *(row.indicators[k].score for k, _ in INDICATORS)]
            for row in rows
        ],
        [8, 12, 12, *([14] * len(labels))],
    )
    detail_headers = ["区", "接收件数"]
    for _, label in INDICATORS:
        detail_headers += [f"{label}·分子", f"{label}·分母", f"{label}·说明"]
    sheet(
        wb.create_sheet(),
        "计算明细",
        detail_headers,
        [
            [
                row.region.name,
                row.received,
                *(
                    value
                    for key, _ in INDICATORS
                    for value in (
                        row.indicators[key].numerator,
                        row.indicators[key].denominator,
                        row.indicators[key].detail,
                    )
                ),
            ]
            for row in rows
        ],
        [12, 10, *([12] * (len(detail_headers) - 2))],
    )
    weights = scheme.weights()
    sheet(
        wb.create_sheet(),
        "考核权重",
        ["考核期", "指标", "权重"],
        [[period.label, label, weights[key]] for key, label in INDICATORS]
        + [[period.label, "重复举报认定次数", scheme.repeat_threshold]],
        [20, 20, 10],
    )
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
