"""The list pages' own requests (issue 15): saved views (我的视图: save, open, rename, share, delete) and the
preview pane beside a list. Thin: ``saved_views`` holds the rules, the scoped selectors the cases."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from eco12369.cases.deadlines import deadline_view
from eco12369.cases.selectors import case_get_for
from eco12369.pages import request_user

from .models import SavedView
from .queues import works_on_cases
from .saved_views import (
    SEARCH,
    ViewRefused,
    view_change,
    view_delete,
    view_get_for,
    view_save,
    view_url,
)


def _back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    """Back to the list the form was sent from (a path of this site only), else ``fallback``."""
    target = request.POST.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = fallback
    return HttpResponseRedirect(target, status=303)


def _list_url(list_key: str) -> str:
    return reverse("workbench:search") if list_key == SEARCH else reverse("workbench:queue")


def _view_or_404(request: HttpRequest, pk: int) -> SavedView:
    view = view_get_for(user=request_user(request), pk=pk)
    if view is None:
        raise Http404("视图不存在或您无权查看。")
    return view


@login_required
@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not works_on_cases(user):
        raise Http404("没有可保存的列表。")
    list_key = request.POST.get("list", "")
    try:
        view = view_save(
            user=user,
            list_key=list_key,
            name=request.POST.get("name", ""),
            query=request.POST.get("query", ""),
            shared=request.POST.get("shared") == "1",
            request=request,
        )
    except ViewRefused as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        messages.error(request, exc.message)
        return _back(request, _list_url(list_key))
    messages.success(request, f"视图“{view.name}”已保存{'，本机构人员可见' if view.shared else ''}。")
    return HttpResponseRedirect(view_url(view), status=303)


@login_required
@require_GET
def saved_view_open(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(view_url(_view_or_404(request, pk)))


@login_required
@require_POST
def saved_view_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename (``name``), share (``shared=1``/``0``) or delete (``delete``) one of the user's views."""
    user = request_user(request)
    view = _view_or_404(request, pk)
    fallback = view_url(view)
    try:
        if "delete" in request.POST:
            view_delete(user=user, view=view, request=request)
            messages.success(request, f"视图“{view.name}”已删除。")
            return _back(request, _list_url(view.list_key))
        shared = request.POST.get("shared")
        view = view_change(
            user=user,
            view=view,
            name=request.POST["name"] if "name" in request.POST else None,
            shared=None if shared is None else shared == "1",
            request=request,
        )
    except ViewRefused as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
        return _back(request, fallback)
    messages.success(request, f"视图“{view.name}”已{'共享给本机构' if view.shared else '修改，仅本人可见'}。")
    return _back(request, fallback)


@login_required
@require_GET
def case_preview(request: HttpRequest, number: str) -> HttpResponse:
    """The summary of a case beside the list (htmx): what the case is, where it stands, its deadline and its
    last steps. Scoped like the case page (another district's number is a 404) and without the reporter:
    no name, phone or openid, masked or not, so there is nothing here to reveal or to audit."""
    user = request_user(request)
    case = case_get_for(user=user, number=number)
    if case is None or not works_on_cases(user):
        raise Http404("举报件不存在或您无权查看。")
    events = list(case.events.select_related("actor").order_by("-at", "-id")[:3])
    response = render(
        request,
        "workbench/_case_preview.html",
        {"case": case, "deadline": deadline_view(case, timezone.now()), "events": events},
    )
    response["Cache-Control"] = "private, no-store"
    return response
