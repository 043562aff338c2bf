"""The reporter's H5 pages. Views stay thin: check input, call one service or selector, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from eco12369.cases.models import CONFIRMATION_STATES, Case
from eco12369.cases.photos import MAX_REPORT_PHOTOS as MAX_PHOTOS
from eco12369.cases.public import public_status, public_summary
from eco12369.cases.services import case_supplement, case_withdraw
from eco12369.cases.workflow import TransitionError
from eco12369.errors import answer_status
from eco12369.followup.forms import RatingForm
from eco12369.followup.models import Rating
from eco12369.followup.selectors import (
    case_to_follow_get,
    follow_of,
    followed_case_get,
    rating_of,
    rating_refusal,
    rating_until,
)
from eco12369.followup.services import FollowupError, case_follow, rating_submit
from eco12369.followup.suggestions import follow_token_valid, intake_suggestions
from eco12369.notifications.services import outbox_mark_shown_on_h5

from . import oauth
from .forms import DESCRIPTION_MAX, ReportForm, SimilarForm, SupplementForm, WithdrawForm
from .notify import notify_prompt
from .oauth import reporter_openid, reporter_required
from .selectors import (
    reporter_case_get,
    reporter_case_messages_shown,
    reporter_list,
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
        status=answer_status(form=form),  # a refused form says so (issue #5: bad input gets a 4xx)
    )


@reporter_required
@require_GET
def report_done(request: HttpRequest, number: str) -> HttpResponse:
    openid = reporter_openid(request)
    case = reporter_case_get(openid=openid, number=number)
    if case is None:
        return _not_found(request)
    return render(
        request,
        "portal/done.html",
        {
            "case": case,
            "again": request.GET.get("again") == "1",
            "status": public_status(case),
            "notify": notify_prompt(request=request, openid=openid),
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
    page = Paginator(reporter_list(openid=openid), PAGE_SIZE).get_page(request.GET.get("page"))
    # A followed case (issue #7) shows only its public summary: its description and answer are its
    # reporter's.
    rows = [
        (case, public_status(case), case.reporter_openid == openid, public_summary(case))
        for case in page.object_list
    ]
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
            "notify": notify_prompt(request=request, openid=openid),
            "nav": "mine",
        },
    )


def _mine_detail_page(
    request: HttpRequest,
    openid: str,
    case: Case,
    *,
    rating_form: RatingForm | None = None,
    rating_error: str = "",
    supplement_form: SupplementForm | None = None,
    withdraw_form: WithdrawForm | None = None,
    after_error: str = "",
    status: int = 200,
) -> HttpResponse:
    rating = rating_of(case)
    refusal = rating_refusal(case) if rating is None else None
    return render(
        request,
        "portal/mine_detail.html",
        {
            "case": case,
            "status": public_status(case),
            # Art. 14: a duplicate is answered with the case it was merged into (its public status only).
            "original_status": public_status(case.duplicate_of) if case.duplicate_of is not None else None,
            "messages_for_case": reporter_case_messages_shown(
                openid=openid, case=case, replies=getattr(case, "approved_replies", [])
            ),
            "photo_count": case.attachments.count(),
            "nav": "mine",
            "rating": rating,
            "can_rate": rating is None and refusal is None,
            "rating_closed_reason": refusal if case.state == "closed" and rating is None else "",
            "rating_until": rating_until(case),
            "rating_form": rating_form or RatingForm(),
            "rating_error": rating_error,
            "just_rated": request.GET.get("rated") == "1",
            # Issue 14: until acceptance the reporter may add material or withdraw the report.
            "can_change": case.state in CONFIRMATION_STATES,
            "supplement_form": supplement_form or SupplementForm(),
            "withdraw_form": withdraw_form or WithdrawForm(),
            "after_error": after_error,
            "supplements": [e for e in case.events.all() if e.action == "supplement"],
            "just_supplemented": request.GET.get("supplemented") == "1",
        },
        status=status,
    )


@reporter_required
@require_GET
def mine_detail(request: HttpRequest, number: str) -> HttpResponse:
    openid = reporter_openid(request)
    case = reporter_case_get(openid=openid, number=number)
    if case is not None:
        return _mine_detail_page(request, openid, case)
    followed = followed_case_get(openid=openid, number=number)
    if followed is None:
        return _not_found(request)
    # Issue #7: a case the reporter follows. Only its public summary and status, and what the platform
    # told this reporter about it: never its reporter, description, photos or answer.
    return render(
        request,
        "portal/followed_detail.html",
        {
            "case": followed,
            "status": public_status(followed),
            "summary": public_summary(followed),
            "follow": follow_of(openid=openid, case=followed),
            "messages_for_case": reporter_case_messages_shown(openid=openid, case=followed, replies=[]),
            "just_followed": request.GET.get("followed") in ("1", "again"),
            "followed_again": request.GET.get("followed") == "again",
            "nav": "mine",
        },
    )


@reporter_required
@require_POST
def mine_rate(request: HttpRequest, number: str) -> HttpResponse:
    """回访: the reporter rates the answer of their own closed case (issue #7)."""
    openid = reporter_openid(request)
    case = reporter_case_get(openid=openid, number=number)
    if case is None:
        return _not_found(request)
    form = RatingForm(request.POST)
    if not form.is_valid():
        error = str(next(iter(form.errors.values()))[0])
        status = answer_status(form=form)
        return _mine_detail_page(request, openid, case, rating_form=form, rating_error=error, status=status)
    try:
        rating_submit(
            case=case,
            openid=openid,
            level=form.cleaned_data["level"],
            comment=form.cleaned_data["comment"],
            channel=Rating.Channel.WECHAT_H5,
        )
    except FollowupError as exc:
        status = answer_status(refused=exc)
        return _mine_detail_page(
            request, openid, case, rating_form=form, rating_error=exc.message, status=status
        )
    return HttpResponseRedirect(reverse("portal:mine_detail", args=[case.number]) + "?rated=1#rating")


def _after_submitting(
    request: HttpRequest,
    number: str,
    form: SupplementForm | WithdrawForm,
    form_key: str,
    perform: Callable[[Case, str, dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    """The reporter's own actions before acceptance (issue 14): the form's errors (422) or the workflow's
    refusal (its own status) on the case page with what was typed, else back to the case page."""
    openid = reporter_openid(request)
    case = reporter_case_get(openid=openid, number=number)
    if case is None:
        return _not_found(request)
    shown: dict[str, Any] = {form_key: form}  # the form kept with what was typed
    if not form.is_valid():
        error = " ".join(str(m) for errors in form.errors.values() for m in errors)
        status = answer_status(form=form)
        return _mine_detail_page(request, openid, case, **shown, after_error=error, status=status)
    try:
        perform(case, openid, form.cleaned_data)
    except TransitionError as exc:
        status = answer_status(refused=exc)
        return _mine_detail_page(request, openid, case, **shown, after_error=exc.message, status=status)
    return HttpResponseRedirect(reverse("portal:mine_detail", args=[case.number]) + done)


@reporter_required
@require_POST
def mine_supplement(request: HttpRequest, number: str) -> HttpResponse:
    """补充材料 (issue 14): text or photos added to the reporter's own report until it is accepted."""
    form = SupplementForm(request.POST, request.FILES)
    return _after_submitting(
        request,
        number,
        form,
        "supplement_form",
        lambda case, openid, data: case_supplement(
            case=case, openid=openid, text=data["text"], photos=form.stored_photos
        ),
        "?supplemented=1#after",
    )


@reporter_required
@require_POST
def mine_withdraw(request: HttpRequest, number: str) -> HttpResponse:
    """撤回 (issue 14): the reporter withdraws their own report before it is accepted, with a reason."""
    return _after_submitting(
        request,
        number,
        WithdrawForm(request.POST),
        "withdraw_form",
        lambda case, openid, data: case_withdraw(case=case, openid=openid, reason=data["reason"]),
        "",
    )


# ----------------------------------------------------------------------- already reported? (issue #7)
@reporter_required
@require_GET
def report_similar(request: HttpRequest) -> HttpResponse:
    """Open cases near the place given so far, or about the same party: an HTML fragment for the form's
    script, or JSON (``?format=json``). Public facts only (see ``followup.suggestions``)."""
    openid = reporter_openid(request)
    form = SimilarForm(request.GET)
    found = intake_suggestions(openid=openid, **form.place()) if form.has_place() else []
    if request.GET.get("format") == "json":
        return JsonResponse({"cases": [item.as_json() for item in found]})
    return render(request, "portal/_similar.html", {"suggestions": found})


@reporter_required
@require_POST
def report_follow(request: HttpRequest) -> HttpResponse:
    """Follow a suggested open case instead of filing the same matter again (a repeat report of it)."""
    openid = reporter_openid(request)
    # The suggestion's button sends ``follow=<number>|<token>``; ``number`` and ``token`` also work.
    number, _sep, token = request.POST.get("follow", "").partition("|")
    number = (number or request.POST.get("number", "")).strip().upper()
    token = token or request.POST.get("token", "")
    case = case_to_follow_get(number=number) if number else None
    if case is None or not follow_token_valid(token=token, openid=openid, number=number):
        message = "关注链接已失效，请返回举报页面重新填写地点后再试。"
        return render(request, "portal/follow_error.html", {"message": message, "nav": "report"}, status=400)
    try:
        _follow, created = case_follow(case=case, openid=openid, note=request.POST.get("note", ""))
    except FollowupError as exc:
        context = {"message": exc.message, "nav": "report"}
        return render(request, "portal/follow_error.html", context, status=answer_status(refused=exc))
    target = reverse("portal:mine_detail", args=[case.number])
    return HttpResponseRedirect(f"{target}?followed={'1' if created else 'again'}")
