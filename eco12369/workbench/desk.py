"""Views of the notification centre and its preferences (thin: the rules are in alerts.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from eco12369.cases.selectors import case_get_for
from eco12369.pages import page_of, request_user

from . import alerts
from .models import NotificationKind, NotificationPreference


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    page = page_of(request, alerts.notifications_of(user=user), per_page=30)
    return render(
        request,
        "workbench/notifications.html",
        {"page": page, "items": list(page.object_list), "unread": alerts.unread_count(user=user)},
    )


@login_required
@require_GET
def notifications_badge(request: HttpRequest) -> HttpResponse:
    """The header's unread count (htmx loads it after the page, so no page pays a query for it)."""
    response = render(
        request, "workbench/_notif_badge.html", {"unread": alerts.unread_count(user=request_user(request))}
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    item = alerts.notifications_of(user=user).filter(pk=pk).first()
    if item is None:
        raise Http404("通知不存在。")
    alerts.mark_read(user=user, pk=pk)
    if item.case is not None and case_get_for(user=user, number=item.case.number) is not None:
        return redirect(
            reverse("workbench:case", args=[item.case.number]) + ("#notes" if item.note_id else "")
        )
    return redirect("workbench:notifications")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    alerts.mark_read(user=request_user(request))
    return redirect("workbench:notifications")


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    pref, _created = NotificationPreference.objects.get_or_create(user=user)
    if request.method == "POST":
        alerts.preferences_save(
            pref, kinds=request.POST.getlist("kinds"), email_digest=request.POST.get("email_digest") == "on"
        )
        messages.success(request, "通知设置已保存。")
        return redirect("workbench:notification_preferences")
    kinds = [(k, label, k not in pref.muted_kinds) for k, label in NotificationKind.choices]
    return render(request, "workbench/notification_preferences.html", {"kinds": kinds, "pref": pref})
