"""The audit trail viewer: for the auditor role only (separation of duties)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from eco12369.orgs.models import User

from .access import can_view_audit_log
from .models import AuditEntry
from .services import audit_record, audit_verify

ACTION_LABELS = {
    "login": "登录",
    "logout": "退出",
    "login_failed": "登录失败",
    "otp_enrolled": "绑定动态口令",
    "otp_verified": "动态口令验证",
    "otp_failed": "动态口令错误",
    "reveal": "查看举报人信息",
    "reveal_refused": "查看举报人信息被拒绝",
    "export": "导出",
    "role_change": "角色变更",
    "api_key_create": "签发接口密钥",
    "api_key_revoke": "吊销接口密钥",
    "audit_view": "查看审计日志",
    "user_create": "创建账号",
    "admin_change": "系统管理变更",
    "case.receive": "接收举报",
    "retention_erase": "删除到期的举报人信息",
}


def _auditor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not can_view_audit_log(user):
        raise PermissionDenied("只有安全审计员可以查看审计日志。")
    return user


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    user = _auditor(request)
    # Record the view first, so the page (count and rows) includes it consistently.
    audit_record(
        action="audit_view", actor=user, detail={"filters": dict(request.GET.items())}, request=request
    )
    qs = AuditEntry.objects.select_related("actor").order_by("-id")
    action = request.GET.get("action", "").strip()
    actor = request.GET.get("actor", "").strip()
    start, end = _date(request.GET.get("start")), _date(request.GET.get("end"))
    if action:
        qs = qs.filter(action__startswith=action)
    if actor:
        qs = qs.filter(actor_label__icontains=actor)
    if start:
        qs = qs.filter(at__date__gte=start)
    if end:
        qs = qs.filter(at__date__lte=end)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    verify = audit_verify() if request.GET.get("verify") else None
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "audit/list.html",
        {
            "page": page,
            "labels": ACTION_LABELS,
            "verify": verify,
            "query": params.urlencode(),
            "filters": request.GET,
        },
    )
