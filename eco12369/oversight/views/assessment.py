"""The districts' assessment ranking (Art. 14), its workbook and the weights of the scheme in force."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record
from eco12369.errors import answer_status
from eco12369.pages import request_user, require

from .. import access
from ..assessment import INDICATORS, assessment_rows, assessment_workbook
from ..forms import AssessmentWeightsForm
from ..services import OversightError, assessment_scheme_current, assessment_scheme_update
from .common import period_choices, request_period


@login_required
@require_GET
def assessment(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_view_assessment(user))
    period = request_period(request)
    scheme = assessment_scheme_current()
    rows = assessment_rows(period=period, scheme=scheme)
    return render(
        request,
        "oversight/assessment.html",
        {
            "period": period,
            "periods": period_choices(period),
            "rows": rows,
            "indicators": INDICATORS,
            "indicator_keys": [key for key, _ in INDICATORS],
            "weights": scheme.weights(),
            "scheme": scheme,
            "can_edit_weights": access.can_edit_assessment_weights(user),
            "own_region_id": None if user.is_city_centre else user.agency.region_id if user.agency else None,
        },
    )


@login_required
@require_GET
def assessment_export(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_view_assessment(user))
    period = request_period(request)
    scheme = assessment_scheme_current()
    content = assessment_workbook(
        rows=assessment_rows(period=period, scheme=scheme), period=period, scheme=scheme
    )
    audit_record(
        action=AuditAction.EXPORT,
        actor=user,
        object_type="assessment",
        object_id=period.key,
        detail={"format": "xlsx", "title": f"{period.label}区级考核排名"},
        request=request,
    )
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    chinese = quote(f"{period.label}区级考核排名.xlsx")
    response["Content-Disposition"] = (
        f"attachment; filename=\"assessment-{period.key}.xlsx\"; filename*=UTF-8''{chinese}"
    )
    return response


@login_required
@require_http_methods(["GET", "POST"])
def assessment_weights(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_edit_assessment_weights(user))
    current = assessment_scheme_current()
    form = AssessmentWeightsForm(request.POST or None, instance=current)
    refused: OversightError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            assessment_scheme_update(
                actor=user,
                weights={name.removeprefix("w_"): form.cleaned_data[name] for name in current.WEIGHT_FIELDS},
                repeat_threshold=form.cleaned_data["repeat_threshold"],
            )
        except OversightError as exc:
            form.add_error(None, exc.message)
            refused = exc
        else:
            messages.success(request, "考核权重已保存。")
            return redirect("oversight:assessment")
    return render(
        request,
        "oversight/assessment_weights.html",
        {"form": form, "scheme": current},
        status=answer_status(refused=refused, form=form),
    )
