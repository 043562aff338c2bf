"""The reporter's H5 pages. Views stay thin: check input, call one service or selector, render."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from eco12369.wechat.services import outbox_mark_shown_on_h5

from . import oauth
from .forms import DESCRIPTION_MAX, ReportForm
from .oauth import reporter_openid, reporter_required
from .photos import MAX_PHOTOS
from .selectors import (
    public_status,
    reporter_case_get,
    reporter_case_messages,
    reporter_cases,
    reporter_waiting_messages,
    staged_photo_get,
    staged_photos_of,
)
from .services import ReportData, photos_stage, report_submit, submission_open, submission_token_new

PAGE_SIZE = 20


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/not_found.html", status=404)


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return redirect("portal:report")


@require_GET
def guide(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/guide.html", {"nav": "guide"})


@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    try:
        done = oauth.complete(request, code=request.GET.get("code", ""), state=request.GET.get("state", ""))
    except oauth.OAuthError as exc:
        failed = render(request, "portal/oauth_error.html", {"message": exc.message}, status=400)
        if exc.pending is not None:
            oauth.state_store(failed, exc.pending)
        return failed
    response = HttpResponseRedirect(done.target)
    oauth.state_store(response, done.pending)
    oauth.identity_set(response, done.openid)
    return response


@reporter_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    openid = reporter_openid(request)
    staged = []
    if request.method == "POST":
        submission = submission_open(openid=openid, token=request.POST.get("token", ""))
        data = request.POST.copy()
        data["token"] = submission.token
        staged = staged_photos_of(openid=openid, token=submission.token)
        form = ReportForm(data, request.FILES, staged_keys=[item.key for item in staged])
        if form.is_valid():
            cd = form.cleaned_data
            case, created = report_submit(
                submission=submission,
                data=ReportData(
                    kind=cd["kind"],
                    category=cd["category"],
                    district=cd["district"],
                    reported_party=cd["reported_party"].strip(),
                    address=cd["address"].strip(),
                    latitude=cd["latitude"],
                    longitude=cd["longitude"],
                    occurred_at=cd["occurred_at"],
                    description=cd["description"],
                    anonymous=cd["anonymous"],
                    reporter_name=cd["reporter_name"],
                    reporter_phone=cd["reporter_phone"],
                ),
                photos=form.checked_photos,
                discard=form.removed_staged,
            )
            done = reverse("portal:report_done", args=[case.number])
            return HttpResponseRedirect(done if created else done + "?again=1")
        # Nothing is lost: typed values come back in the form, checked photos are kept for the next try.
        staged = photos_stage(submission=submission, photos=form.checked_photos, discard=form.removed_staged)
    else:
        form = ReportForm(initial={"token": submission_token_new()})
    return render(
        request,
        "portal/report.html",
        {
            "form": form,
            "staged": staged,
            "nav": "report",
            "max_photos": MAX_PHOTOS,
            "description_max": DESCRIPTION_MAX,
            "waiting": reporter_waiting_messages(openid=openid)[:5],
        },
    )


@reporter_required
@require_GET
def report_done(request: HttpRequest, number: str) -> HttpResponse:
    case = reporter_case_get(openid=reporter_openid(request), number=number)
    if case is None:
        return _not_found(request)
    return render(
        request,
        "portal/done.html",
        {
            "case": case,
            "again": request.GET.get("again") == "1",
            "status": public_status(case),
            "nav": "report",
        },
    )


@reporter_required
@require_GET
def staged_photo(request: HttpRequest, key: str) -> HttpResponseBase:
    """A photo kept for a form being corrected, shown only to the reporter who uploaded it."""
    photo = staged_photo_get(openid=reporter_openid(request), key=key)
    if photo is None:
        return _not_found(request)
    response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
    response["Cache-Control"] = "private, max-age=600"
    return response


@reporter_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    openid = reporter_openid(request)
    lookup = request.GET.get("number", "").strip()
    lookup_error = ""
    if lookup:
        found = reporter_case_get(openid=openid, number=lookup)
        if found is not None:
            return redirect("portal:mine_detail", number=found.number)
        lookup_error = "未找到该编号的举报。请核对编号；这里只能查询您本人通过本公众号提交的举报。"
    page = Paginator(reporter_cases(openid=openid), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(case, public_status(case)) for case in page.object_list]
    waiting = list(reporter_waiting_messages(openid=openid))
    if waiting:
        # DESIGN §9: a message no WeChat channel could carry is delivered by being shown here.
        outbox_mark_shown_on_h5(openid=openid)
    return render(
        request,
        "portal/mine.html",
        {
            "page": page,
            "rows": rows,
            "lookup": lookup,
            "lookup_error": lookup_error,
            "waiting": waiting,
            "nav": "mine",
        },
    )


@reporter_required
@require_GET
def mine_detail(request: HttpRequest, number: str) -> HttpResponse:
    openid = reporter_openid(request)
    case = reporter_case_get(openid=openid, number=number)
    if case is None:
        return _not_found(request)
    return render(
        request,
        "portal/mine_detail.html",
        {
            "case": case,
            "status": public_status(case),
            "messages_for_case": list(reporter_case_messages(openid=openid, case=case)),
            "photo_count": case.attachments.count(),
            "nav": "mine",
        },
    )
