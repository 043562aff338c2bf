"""The audit trail viewer: for the auditor role only (separation of duties)."""

from __future__ import annotations

import io
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from openpyxl import Workbook

from eco12369.orgs.models import User
from eco12369.sheets import sheet_row

from .access import can_view_audit_log
from .display import rows
from .forms import AuditFilterForm
from .models import AuditAction, AuditEntry
from .services import audit_record, audit_verify


def _auditor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not can_view_audit_log(user):
        raise PermissionDenied("只有安全审计员可以查看审计日志。")
    return user


EXPORT_MAX_ROWS = 50_000


def _filtered(form: AuditFilterForm) -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.select_related("actor").order_by("-id")
    if not form.is_valid():
        return qs
    data = form.cleaned_data
    if data["action"]:
        qs = qs.filter(action=data["action"])
    if data["actor"]:
        qs = qs.filter(actor_label__icontains=data["actor"].strip())
    if data["object"]:
        qs = qs.filter(object_id=data["object"].strip())
    if data["start"]:
        qs = qs.filter(at__date__gte=data["start"])
    if data["end"]:
        qs = qs.filter(at__date__lte=data["end"])
    return qs


@login_required
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    user = _auditor(request)
    # Record the view first, so the page (count and rows) includes it consistently.
    audit_record(
        action=AuditAction.AUDIT_VIEW,
        actor=user,
        detail={"filters": dict(request.GET.items())},
        request=request,
    )
    form = AuditFilterForm(request.GET or None)
    page = Paginator(_filtered(form), 50).get_page(request.GET.get("page"))
    verify = audit_verify() if request.GET.get("verify") else None
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("verify", None)
    return render(
        request,
        "audit/list.html",
        {
            "form": form,
            "page": page,
            "rows": rows(page.object_list),
            "verify": verify,
            "query": params.urlencode(),
        },
    )


@login_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered entries as an Excel workbook (newest first, at most ``EXPORT_MAX_ROWS``); every text
    cell is written through ``sheets`` so none can become a formula."""
    user = _auditor(request)
    form = AuditFilterForm(request.GET or None)
    entries = list(_filtered(form)[:EXPORT_MAX_ROWS])
    audit_record(
        action=AuditAction.AUDIT_EXPORT,
        actor=user,
        detail={"filters": dict(request.GET.items()), "rows": len(entries)},
        request=request,
    )
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "审计日志"
    sheet_row(ws, 1, ["编号", "时间", "账号", "事件", "对象类型", "对象", "来源地址", "详情"])
    for i, row in enumerate(rows(entries), start=2):
        e = row.entry
        at = timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S")
        values = [e.id, at, e.actor_label, row.action, row.object_kind, row.object_name, e.ip]
        sheet_row(ws, i, [*values, "；".join(row.details)])
    for column, width in zip("ABCDEFGH", (8, 20, 16, 18, 10, 24, 16, 60), strict=True):
        ws.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f"attachment; filename=\"audit-{stamp}.xlsx\"; filename*=UTF-8''{quote(f'审计日志-{stamp}.xlsx')}"
    )
    response["Cache-Control"] = "no-store"
    return response
