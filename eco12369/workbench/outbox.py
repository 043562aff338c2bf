"""Notices to reporters as staff see them (DESIGN §9: failures are visible to staff): the list of failed
and long-waiting notices, and sending a failed one again. The reporter stays masked: no openid is shown
(or loaded); the text only to staff who may see the case.

Who: the city centre (every district) and a district bureau (its own cases), as operator, reviewer or
head; the system administrator sees every row without its case number or text (delivery is theirs to
fix, case content is not: separation of duties, DESIGN §1). Sending again: operators, heads and the administrator.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from eco12369.notifications.services import outbox_retry
from eco12369.orgs.models import Role, User
from eco12369.pages import page_of, request_user, require
from eco12369.wechat.selectors import WAITING_ALERT, outbox_problems_visible_to

from .queues import works_on_cases

PAGE_SIZE = 30
CASE_ROLES = frozenset({Role.OPERATOR, Role.REVIEWER, Role.HEAD})


def can_view_notices(user: User) -> bool:
    return user.is_system_admin or bool(works_on_cases(user) and user.role_set & CASE_ROLES)


def can_retry_notices(user: User) -> bool:
    return user.is_system_admin or bool(works_on_cases(user) and user.role_set & {Role.OPERATOR, Role.HEAD})


@login_required
@require_GET
def notices(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(can_view_notices(user))
    page = page_of(request, outbox_problems_visible_to(user=user, now=timezone.now()), PAGE_SIZE)
    return render(
        request,
        "workbench/notices.html",
        {
            "page": page,
            "show_text": not user.is_system_admin,
            "can_retry": can_retry_notices(user),
            "waiting_hours": int(WAITING_ALERT.total_seconds() // 3600),
            "query": "",
        },
    )


@login_required
@require_POST
def notice_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a failed notice again; only a row the user may see in the list (404 otherwise)."""
    user = request_user(request)
    require(can_retry_notices(user))
    row = outbox_problems_visible_to(user=user, now=timezone.now()).filter(pk=pk).first()
    if row is None:
        raise Http404("该告知记录不存在或您无权查看。")
    if outbox_retry(message_id=row.pk, actor=user):
        messages.success(request, "已重新发送，发送结果稍后可在本页或举报件页查看。")
    else:
        messages.error(request, "该告知不是“发送失败”状态，无需重新发送。")
    if request.POST.get("back") == "case" and row.case is not None and not user.is_system_admin:
        return redirect("workbench:case", number=row.case.number)
    return redirect("workbench:notices")
