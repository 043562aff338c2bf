"""What the oversight pages share: paging, a case the user may see, the period asked for and its chooser.

The oversight views (a module per feature) stay thin (DESIGN §10): check the permission (``access``), fetch
through scoped selectors (cases only through ``case_get_for`` / ``cases_visible_to``), validate a form, call
one service, render.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.paginator import Page
from django.http import Http404, HttpRequest

from eco12369.cases.models import Case
from eco12369.cases.selectors import case_get_for
from eco12369.orgs.models import User
from eco12369.pages import page_of

from ..periods import PERIOD_INVALID, Period, period_of, period_parse, previous_month, recent_months
from ..services import OversightError

PAGE_SIZE = 20


def paged(request: HttpRequest, qs: Any, per_page: int = PAGE_SIZE, known_count: int | None = None) -> Page:
    return page_of(request, qs, per_page, known_count=known_count)


def case_or_404(user: User, number: str) -> Case:
    case = case_get_for(user=user, number=number)
    if case is None:
        raise Http404("举报件不存在或您无权查看。")
    return case


def request_period(request: HttpRequest) -> Period:
    """The period of the request's ``?period=`` (the previous month when there is none); one that names no
    period within the platform's years (a typo, 9999-12-31..9999-12-31) is refused with a 400 that says
    what a period is."""
    value = request.GET.get("period", "").strip()
    if not value:
        return previous_month()
    period = period_of(value)
    if period is None:
        raise OversightError(PERIOD_INVALID, status=HTTPStatus.BAD_REQUEST)
    return period


def period_choices(current: Period) -> list[dict[str, Any]]:
    months = recent_months(13)
    quarters = sorted({f"{p.first.year}-Q{(p.first.month - 1) // 3 + 1}" for p in months}, reverse=True)
    years = sorted({str(p.first.year) for p in months}, reverse=True)
    options = [period_parse(key) for key in [p.key for p in months] + quarters + years]
    if current.key not in {p.key for p in options}:
        options.insert(0, current)
    return [{"key": p.key, "label": p.label, "selected": p.key == current.key} for p in options]
