"""Duplicate candidates of a case and the repeatedly reported parties (Art. 14)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from eco12369.cases import services as case_services
from eco12369.cases.selectors import case_get_for
from eco12369.cases.workflow import TransitionError, refusal
from eco12369.pages import query_without_page, request_user, require

from .. import access, selectors
from ..assessment import repeat_threshold_in_force
from ..duplicate_scoring import DUPLICATE_THRESHOLD
from ..duplicates import duplicates_find
from ..forms import MarkDuplicateForm
from .common import case_or_404, paged


@login_required
@require_http_methods(["GET", "POST"])
def duplicates(request: HttpRequest, number: str) -> HttpResponse:
    """The candidates of a case with their scores; the operator marks the case as a duplicate of one."""
    user = request_user(request)
    require(access.can_view_duplicates(user))
    case = case_or_404(user, number)
    form = MarkDuplicateForm(request.POST or None)
    if request.method == "POST" and request.POST.get("action") == "refresh":
        duplicates_find(case=case)
        messages.success(request, "已重新查找疑似重复举报。")
        return redirect("oversight:duplicates", number=case.number)
    if request.method == "POST" and form.is_valid():
        original = case_get_for(user=user, number=form.cleaned_data["original"].strip())
        if original is None:
            form.add_error("original", "原举报件不存在或您无权查看。")
        else:
            try:
                case_services.case_mark_duplicate(case=case, actor=user, duplicate_of=original)
            except TransitionError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, f"已将 {case.number} 标记为与 {original.number} 重复，并告知举报人原举报件编号。"
                )
                return redirect("oversight:duplicates", number=case.number)
    candidates = selectors.duplicate_candidates_for(user=user, case=case)
    return render(
        request,
        "oversight/duplicates.html",
        {
            "case": case,
            "candidates": candidates,
            "threshold": DUPLICATE_THRESHOLD,
            "form": form,
            "mark_refused": refusal(case, user, "mark_duplicate"),
            "repeat_count": selectors.repeated_party_count_for(case=case),
            "repeat_threshold": repeat_threshold_in_force(),
            "repeat_days": selectors.REPEAT_WINDOW_DAYS,
        },
        status=422 if form.errors else 200,
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
