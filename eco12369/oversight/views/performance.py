"""Staff performance of the agencies the user may see (Art. 18)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from eco12369.cases.models import State
from eco12369.pages import query_without_page, request_user, require

from .. import access, selectors
from ..performance import performance_agencies, performance_rows, performance_staff
from ..periods import period_parse, previous_month
from .common import paged, period_choices


@login_required
@require_GET
def performance(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_view_performance(user))
    period = period_parse(request.GET.get("period"), default=previous_month())
    agencies = list(performance_agencies(viewer=user))
    try:
        agency_id = int(request.GET.get("agency") or 0) or None
    except ValueError:
        agency_id = None
    if agency_id not in {a.pk for a in agencies}:
        agency_id = None if user.is_city_centre else user.agency_id
    page = paged(request, performance_staff(viewer=user, agency_id=agency_id), per_page=50)
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
            "closed_state": State.CLOSED,
            "can_record_merits": access.can_record_merits(user),
        },
    )
