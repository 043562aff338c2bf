"""Public disclosure (信息公开, Art. 13): no login. Only approved monthly reports are published; the
closed cases of the published regions are listed with their public summary only.

Personal data never leaves: the reporter is not part of what is rendered (``selectors.public_case`` builds
the public form field by field and scrubs names and phone numbers from free text), and the reported party
is named only for substantiated violations (``figures.substantiated_exists``).
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .exports import HEADLINE_COLUMNS, headline_columns
from .figures import Month, MonthlyFigures, combine
from .selectors import public_case, public_cases, published_months, published_reports_of

PAGE_SIZE = 20


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "stats/disclosure_index.html", {"months": published_months()})


def _chart_data(summary: MonthlyFigures, districts: list[tuple[Any, MonthlyFigures]]) -> dict[str, Any]:
    return {
        "districts": {
            "names": [f.region_name for _, f in districts],
            "received": [f.headline.received for _, f in districts],
            "closed": [f.headline.closed for _, f in districts],
            "confirm_rate": [f.headline.confirm_rate for _, f in districts],
            "close_rate": [f.headline.close_rate for _, f in districts],
        },
        "category": [{"name": r.label, "value": r.count} for r in summary.by_category],
        "outcome": [{"name": r.label, "value": r.count} for r in summary.by_outcome],
        "kind": [{"name": r.label, "value": r.count} for r in summary.by_kind],
    }


@require_GET
def month(request: HttpRequest, month: str) -> HttpResponse:
    try:
        m = Month.parse(month)
    except ValueError as exc:
        raise Http404("月份格式不正确") from exc
    reports = published_reports_of(m)
    if not reports:
        raise Http404("该月尚无公开的月报")
    city_report = next((r for r in reports if r.is_city), None)
    districts = [(r, r.snapshot()) for r in reports if not r.is_city]
    if city_report is not None:
        summary = city_report.snapshot()
        summary_label = f"{summary.region_name}（全市）"
    else:
        combined = combine([f for _, f in districts], name="已公开各区合计")
        assert combined is not None
        summary, summary_label = combined, combined.region_name

    regions = [r.region for r in reports]
    wanted = request.GET.get("district", "")
    shown_regions = [r for r in regions if r.code == wanted] or regions
    cases = public_cases(month=m, regions=shown_regions)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "month": m,
        "city_report": city_report,
        "summary": summary,
        "summary_label": summary_label,
        "changes": summary.changes(),
        "districts": districts,
        "district_rows": [(r, f, headline_columns(f.headline)) for r, f in districts],
        "headline_columns": HEADLINE_COLUMNS,
        "summary_columns": headline_columns(summary.headline),
        "chart_data": _chart_data(summary, districts),
        "page": page,
        "public_cases": [public_case(c) for c in page.object_list],
        "regions": regions,
        "district": wanted if len(shown_regions) == 1 and wanted else "",
        "other_months": [p for p in published_months() if p.month != m][:12],
    }
    return render(request, "stats/disclosure_month.html", context)
