"""表彰与惩处 (Art. 18): record a commendation or penalty, and read one's own."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from eco12369.errors import answer_status
from eco12369.pages import query_without_page, request_user, require

from .. import access, selectors
from ..forms import StaffMeritForm
from ..performance import performance_staff
from ..services import OversightError, staff_merit_record
from .common import paged, period_choices, request_period


@login_required
@require_http_methods(["GET", "POST"])
def staff_merit_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a commendation or a penalty/criticism of one person of the performance page (Art. 18)."""
    user = request_user(request)
    require(access.can_view_performance(user) and access.can_record_merits(user))
    person = performance_staff(viewer=user).filter(pk=pk).first()
    if person is None:
        raise Http404("工作人员不存在或您无权查看。")
    require(access.can_record_merit(user, person))
    period = request_period(request)
    periods = [(p["key"], p["label"]) for p in period_choices(period)]
    form = StaffMeritForm(request.POST or None, periods=periods, initial={"period": period.key})
    refused: OversightError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            staff_merit_record(
                actor=user,
                person=person,
                kind=form.cleaned_data["kind"],
                reason=form.cleaned_data["reason"],
                period=form.cleaned_data["period"],
            )
        except OversightError as exc:
            form.add_error(None, exc.message)
            refused = exc
        else:
            messages.success(request, f"已记录{person}的表彰与惩处。")
            target = reverse("oversight:performance")
            return redirect(f"{target}?period={form.cleaned_data['period']}&agency={person.agency_id}")
    return render(
        request,
        "oversight/staff_merit_new.html",
        {"form": form, "person": person, "period": period},
        status=answer_status(refused=refused, form=form),
    )


@login_required
@require_GET
def my_merits(request: HttpRequest) -> HttpResponse:
    """我的表彰与惩处: the signed-in person's own records."""
    user = request_user(request)
    require(access.can_view_own_merits(user))
    page = paged(request, selectors.staff_merits_of(user=user))
    return render(
        request,
        "oversight/my_merits.html",
        {"page": page, "merits": page.object_list, "query": query_without_page(request)},
    )
