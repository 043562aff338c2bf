"""业务指导通知 (Art. 14): publish, list and read guidance notices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from eco12369.errors import answer_status
from eco12369.pages import query_without_page, request_user, require

from .. import access, selectors
from ..forms import GuidanceNoticeForm
from ..services import OversightError, guidance_notice_mark_read, guidance_notice_publish
from .common import paged


@login_required
@require_GET
def guidance(request: HttpRequest) -> HttpResponse:
    """业务指导通知 (Art. 14): the city centre's notices with how many bureaus read them; a bureau's staff see
    those addressed to their bureau, the unread ones marked."""
    user = request_user(request)
    require(access.can_view_guidance(user))
    page = paged(request, selectors.guidance_notices_visible_to(user=user))
    return render(
        request,
        "oversight/guidance_list.html",
        {
            "page": page,
            "notices": page.object_list,
            "city": user.is_city_centre,
            "can_publish": access.can_publish_guidance(user),
            "query": query_without_page(request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def guidance_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_publish_guidance(user))
    form = GuidanceNoticeForm(request.POST or None)
    refused: OversightError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            notice = guidance_notice_publish(
                actor=user,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                recipients=list(form.cleaned_data["recipients"]),
            )
        except OversightError as exc:
            form.add_error(None, exc.message)
            refused = exc
        else:
            messages.success(request, "业务指导通知已发布。")
            return redirect("oversight:guidance_detail", pk=notice.pk)
    status = answer_status(refused=refused, form=form)
    return render(request, "oversight/guidance_new.html", {"form": form}, status=status)


@login_required
@require_GET
def guidance_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One notice; opening it records the district user's first reading. The city centre sees the receipts."""
    user = request_user(request)
    require(access.can_view_guidance(user))
    notice = selectors.guidance_notice_get_for(user=user, pk=pk)
    if notice is None:
        raise Http404("通知不存在或您无权查看。")
    guidance_notice_mark_read(notice=notice, user=user)
    receipts = selectors.guidance_notice_receipts(notice=notice) if user.is_city_centre else None
    return render(
        request,
        "oversight/guidance_detail.html",
        {"notice": notice, "receipts": receipts, "city": user.is_city_centre},
    )
