"""Staff performance of the agencies the user may see (Art. 18)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from eco12369.cases.models import State
from eco12369.pages import query_without_page, request_user, require

from .. import access, selectors
from ..performance import (
    SORT_BY_FIGURE,
    SORT_BY_NAME,
    performance_agencies,
    performance_rows,
    performance_sort,
    performance_staff,
)
from .common import paged, period_choices, request_period

PER_PAGE = 30
COLUMNS = (
    ("name", "姓名"),
    ("agency", "机构"),
    ("", "承办部门"),
    ("confirmed", "确认"),
    ("handled", "办理"),
    ("reviewed", "审核"),
    ("returned_by_me", "审核退回"),
    ("on_time_rate", "按期率"),
    ("replies_returned", "答复被退回"),
    ("", "表彰与惩处"),
)


def _columns(request: HttpRequest, sort: str, descending: bool) -> list[dict[str, str]]:
    """The table's headers: a sortable one links to itself in the other direction (figures: most first)."""
    params = request.GET.copy()
    params.pop("page", None)
    out = []
    for key, label in COLUMNS:
        column = {"label": label, "url": "", "aria_sort": ""}
        if key:
            current = key == sort
            first_descending = key in SORT_BY_FIGURE
            next_descending = (not descending) if current else first_descending
            params["sort"] = f"-{key}" if next_descending else key
            column["url"] = "?" + params.urlencode()
            if current:
                column["aria_sort"] = "descending" if descending else "ascending"
        out.append(column)
    return out


@login_required
@require_GET
def performance(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_view_performance(user))
    period = request_period(request)
    agencies = list(performance_agencies(viewer=user))
    try:
        agency_id = int(request.GET.get("agency") or 0) or None
    except ValueError:
        agency_id = None
    if agency_id not in {a.pk for a in agencies}:
        agency_id = None if user.is_city_centre else user.agency_id
    sort, descending = performance_sort(request.GET.get("sort"))
    staff = performance_staff(viewer=user, agency_id=agency_id)
    if sort in SORT_BY_FIGURE:
        every = performance_rows(staff=list(staff), period=period)
        every.sort(key=SORT_BY_FIGURE[sort], reverse=descending)
        page = paged(request, every, per_page=PER_PAGE)
        rows = list(page.object_list)
    else:
        fields = SORT_BY_NAME[sort]
        page = paged(
            request, staff.order_by(*(f"-{f}" if descending else f for f in fields)), per_page=PER_PAGE
        )
        rows = performance_rows(staff=list(page.object_list), period=period)
    merits = selectors.staff_merits_by_person(person_ids=[row.user.pk for row in rows])
    for row in rows:
        row.merits = merits[row.user.pk]
    return render(
        request,
        "oversight/performance.html",
        {
            "period": period,
            "periods": period_choices(period),
            "agencies": agencies,
            "agency_id": agency_id,
            "rows": rows,
            "page": page,
            "query": query_without_page(request),
            "columns": _columns(request, sort, descending),
            "closed_state": State.CLOSED,
            "can_record_merits": access.can_record_merits(user),
        },
    )
