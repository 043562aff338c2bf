"""Duplicate candidates of a case and the repeatedly reported parties (Art. 14)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from eco12369.cases.workflow import refusal
from eco12369.pages import query_without_page, request_user, require

from .. import access, selectors
from ..assessment import repeat_threshold_in_force
from ..duplicate_scoring import DUPLICATE_THRESHOLD, WINDOW_DAYS
from ..duplicates import duplicates_find
from .common import case_or_404, paged


@login_required
@require_http_methods(["GET", "POST"])
def duplicates(request: HttpRequest, number: str) -> HttpResponse:
    """The candidates of a case with their scores. Marking the case a duplicate of one is the case's action
    (workbench): each candidate links to it with the number filled in. POST (action=refresh) looks again."""
    user = request_user(request)
    require(access.can_view_duplicates(user))
    case = case_or_404(user, number)
    if request.method == "POST":
        if request.POST.get("action") != "refresh":
            return HttpResponseBadRequest("未知的操作。")
        duplicates_find(case=case)
        messages.success(request, "已重新查找疑似重复举报。")
        return redirect("oversight:duplicates", number=case.number)
    candidates = selectors.duplicate_candidates_for(user=user, case=case)
    return render(
        request,
        "oversight/duplicates.html",
        {
            "case": case,
            "candidates": candidates,
            "threshold": DUPLICATE_THRESHOLD,
            "window_days": WINDOW_DAYS,
            "mark_refused": refusal(case, user, "mark_duplicate"),
            "repeat_count": selectors.repeated_party_count_for(case=case),
            "repeat_threshold": repeat_threshold_in_force(),
            "repeat_days": selectors.REPEAT_WINDOW_DAYS,
        },
    )


REPEAT_LINKS_SHOWN = 50


@login_required
@require_GET
def repeats(request: HttpRequest) -> HttpResponse:
    """Reported parties with at least the scheme's number of reports in 30 days, and the reports of a matter
    whose case was closed in the 12 months before (Art. 14: repeated reports)."""
    user = request_user(request)
    require(access.can_view_duplicates(user))
    now = timezone.now()
    threshold = repeat_threshold_in_force()
    page = paged(request, selectors.repeated_parties(user=user, now=now, threshold=threshold))
    keys = [row["party_key"] for row in page.object_list]
    cases = selectors.repeated_parties_cases(user=user, party_keys=keys, now=now)
    rows = [{**row, "cases": cases.get(row["party_key"], [])} for row in page.object_list]
    return render(
        request,
        "oversight/repeats.html",
        {
            "page": page,
            "rows": rows,
            "threshold": threshold,
            "days": selectors.REPEAT_WINDOW_DAYS,
            "query": query_without_page(request),
            "repeat_links": list(selectors.repeat_reports(user=user, now=now)[:REPEAT_LINKS_SHOWN]),
            "repeat_by_district": selectors.repeat_reports_by_district(user=user, now=now),
        },
    )
