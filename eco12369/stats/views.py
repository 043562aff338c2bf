"""Staff pages of the monthly reports (月报, Art. 13). Views stay thin: the report is fetched through the
scoped selector, input is validated with a form, one service runs, and the page is rendered.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record
from eco12369.orgs.models import Region, Role, User
from eco12369.pages import request_user

from . import services
from .cache import headline_figures_cached
from .exports import ExportUnavailable, excel_bytes, pdf_bytes, pdf_problem, report_context, title_of
from .figures import Month
from .forms import AnalysisForm, ApproveForm, GenerateForm, ReturnForm, ended_months
from .models import MonthlyReport
from .selectors import (
    can_read_reports,
    can_see_city_overview,
    monthly_report_get_for,
    monthly_reports_visible_to,
)


def _month_or_404(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise Http404("月份格式不正确") from exc


def _report_or_404(user: User, code: str, month: str) -> MonthlyReport:
    report = monthly_report_get_for(user=user, region_code=code, month=_month_or_404(month))
    if report is None:
        raise Http404("没有该月报，或您无权查看")
    return report


def _detail_url(report: MonthlyReport) -> str:
    return reverse("stats:report", args=[report.region.code, report.month_obj.key])


@login_required
@require_GET
def monthly_list(request: HttpRequest) -> HttpResponse:
    """A district sees its own reports and generates new ones; the city centre sees one month of every
    district side by side, with the city total, and reports the city."""
    user = request_user(request)
    if not can_read_reports(user):
        raise PermissionDenied("您的角色不能查看月报。")
    own_region = services.reports_for(user)
    context: dict[str, Any] = {
        "generate_form": GenerateForm(initial={"month": ended_months(1)[0].key}),
        "can_generate": own_region is not None and user.has_role(Role.OPERATOR),
        "own_region": own_region,
    }
    if can_see_city_overview(user):
        try:
            month = (
                Month.parse(request.GET.get("month", "")) if request.GET.get("month") else ended_months(1)[0]
            )
        except ValueError:
            month = ended_months(1)[0]
        now = timezone.now()
        if request.GET.get("part") == "city_total":
            # The live city total (htmx, after the page): a few seconds the first time for a month, then
            # from the cache (stats.cache) until the data changes.
            context |= {
                "month": month,
                "city_total": headline_figures_cached(region=None, month=month, now=now),
                "city": Region.objects.filter(level=Region.Level.CITY).first(),
                "city_report": monthly_reports_visible_to(user=user)
                .filter(month=month.first_day, region__level=Region.Level.CITY)
                .first(),
            }
            return render(request, "stats/_city_total_row.html", context)
        # The districts' side: the figures each district submitted (the report's snapshot, frozen since
        # approval), nothing for a district that has not submitted (its drafts are its own).
        visible = monthly_reports_visible_to(user=user).filter(month=month.first_day)
        reports = {r.region_id: r for r in visible}
        all_regions = list(Region.objects.order_by("code"))
        city = next((r for r in all_regions if r.level == Region.Level.CITY), None)
        rows = []
        for region in all_regions:
            if region.level != Region.Level.DISTRICT:
                continue
            report = reports.get(region.pk)
            rows.append((region, report.snapshot().headline if report else None, report))
        context |= {
            "month": month,
            "months": ended_months(),
            "rows": rows,
            "city": city,
            # Computed here only without JavaScript (?total=1); the page otherwise loads it with htmx.
            "city_total": headline_figures_cached(region=None, month=month, now=now)
            if request.GET.get("total")
            else None,
            "city_report": reports.get(city.pk) if city else None,
            "as_of": now,
            "submitted_count": sum(1 for _, _, r in rows if r is not None),
        }
        return render(request, "stats/city_overview.html", context)
    page = Paginator(monthly_reports_visible_to(user=user).order_by("-month"), 24).get_page(
        request.GET.get("page")
    )
    context["page"] = page
    return render(request, "stats/monthly_list.html", context)


@login_required
@require_POST
def generate(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    region = services.reports_for(user)
    form = GenerateForm(request.POST)
    if region is None:
        raise PermissionDenied("您所在的机构不编制月报。")
    if not form.is_valid():
        messages.error(request, "；".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("stats:monthly_list")
    month: Month = form.cleaned_data["month"]
    try:
        report = services.monthly_report_generate(actor=user, region=region, month=month)
    except services.ReportError as exc:
        messages.error(request, exc.message)
        return redirect("stats:monthly_list")
    messages.success(request, f"已生成{region.name}{month.label}月报数据。")
    return redirect(_detail_url(report))


@login_required
@require_GET
def report_detail(request: HttpRequest, code: str, month: str) -> HttpResponse:
    user = request_user(request)
    report = _report_or_404(user, code, month)
    context = report_context(report) | {
        "actions": services.allowed_actions(user=user, report=report),
        "events": report.events.select_related("actor").order_by("at", "id"),
        "analysis_form": AnalysisForm(initial={"analysis": report.analysis}),
        "return_form": ReturnForm(),
        "approve_form": ApproveForm(),
        "pdf_problem": pdf_problem(),
        "public_url": reverse("disclosure:month", args=[report.month_obj.key]) if report.is_published else "",
    }
    return render(request, "stats/report_detail.html", context)


ACTION_DONE = {
    "regenerate": "已按最新数据重新生成。",
    "edit_analysis": "分析说明已保存。",
    "send_for_approval": "已提交负责人审批。",
    "return": "已退回操作人员修改。",
    "approve": "月报已批准，并在信息公开页面公开。",
    "submit": "月报已报送市举报受理中心。",
}


@login_required
@require_POST
def report_action(request: HttpRequest, code: str, month: str, action: str) -> HttpResponse:
    user = request_user(request)
    report = _report_or_404(user, code, month)
    try:
        if action == "regenerate":
            report = services.monthly_report_generate(
                actor=user, region=report.region, month=report.month_obj
            )
        elif action in ("edit_analysis", "send_for_approval"):
            form = AnalysisForm(request.POST)
            if "analysis" in request.POST:
                if not form.is_valid():
                    raise services.ReportError("分析说明过长（最多10000字）。")
                report = services.monthly_report_edit_analysis(
                    actor=user, report=report, analysis=form.cleaned_data["analysis"]
                )
            if action == "send_for_approval":
                report = services.monthly_report_send_for_approval(actor=user, report=report)
        elif action == "return":
            return_form = ReturnForm(request.POST)
            if not return_form.is_valid():
                raise services.ReportError("请填写退回意见。")
            report = services.monthly_report_return(
                actor=user, report=report, note=return_form.cleaned_data["note"]
            )
        elif action == "approve":
            approve_form = ApproveForm(request.POST)
            note = approve_form.cleaned_data["note"] if approve_form.is_valid() else ""
            report = services.monthly_report_approve(actor=user, report=report, note=note)
        elif action == "submit":
            report = services.monthly_report_submit(actor=user, report=report)
        else:
            raise Http404("未知的操作")
    except services.ReportError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ACTION_DONE[action])
    return HttpResponseRedirect(_detail_url(report))


def _audit_export(request: HttpRequest, report: MonthlyReport, fmt: str) -> None:
    """Every export is written to the audit trail (issue #5)."""
    audit_record(
        action=AuditAction.EXPORT,
        actor=request_user(request),
        object_type="monthly_report",
        object_id=f"{report.region.code}/{report.month_obj.key}",
        detail={"format": fmt, "title": title_of(report)},
        request=request,
    )


def _download(data: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename) or ""
    return response


@login_required
@require_GET
def export_excel(request: HttpRequest, code: str, month: str) -> HttpResponse:
    report = _report_or_404(request_user(request), code, month)
    data = excel_bytes(report)
    _audit_export(request, report, "xlsx")
    return _download(
        data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{title_of(report)}.xlsx"
    )


@login_required
@require_GET
def export_pdf(request: HttpRequest, code: str, month: str) -> HttpResponse:
    report = _report_or_404(request_user(request), code, month)
    try:
        data = pdf_bytes(report)
    except ExportUnavailable as exc:
        return render(
            request,
            "stats/export_unavailable.html",
            {"report": report, "message": exc.message},
            status=exc.status,
        )
    _audit_export(request, report, "pdf")
    response = _download(data, "application/pdf", f"{title_of(report)}.pdf")
    _download_done(request, response)
    return response


DOWNLOAD_TOKEN = re.compile(r"\d{1,24}")


def _download_done(request: HttpRequest, response: HttpResponse) -> None:
    """Tell the page's progress line (stats/progress.js) that the file it waits for has arrived."""
    token = request.GET.get("download_token", "")
    if DOWNLOAD_TOKEN.fullmatch(token):
        response.set_cookie("download_token", token, max_age=120, samesite="Lax", secure=request.is_secure())
