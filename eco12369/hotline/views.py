"""Thin views of the phone channel and of the forwarded-cases import: validate with a form, call one service,
render. The call form works without JavaScript; htmx adds the live category guess and the "already
reported?" candidates, the map (ECharts) adds a point."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from eco12369.cases.classify import guess_category
from eco12369.cases.models import Category
from eco12369.errors import answer_status
from eco12369.followup.selectors import case_to_follow_get
from eco12369.followup.suggestions import follow_token_valid, intake_suggestions
from eco12369.orgs.geo import outlines_file
from eco12369.orgs.models import User
from eco12369.pages import request_user

from . import access, services
from .forms import CallForm, CandidateForm, ImportForm, RepliesExportForm
from .forwarded import replies_workbook, template_workbook
from .models import ImportBatch
from .services import HotlineError
from .tasks import forwarded_import_task

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PREVIEW_ROWS = 500  # the preview lists every row with an error and the first rows of the rest


def _operator_only(check: Callable[[User], bool]) -> Callable[..., Any]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request_user(request)):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _staff_key(user: User) -> str:
    """The key the follow tokens of the candidates are signed for (an operator, never a reporter's openid)."""
    return f"staff:{user.pk}"


# ------------------------------------------------------------------------------------------ calls
@_operator_only(access.can_record_calls)
@require_http_methods(["GET", "POST"])
def call(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    home = access.home_district(user)
    form = CallForm(request.POST or None, request.FILES or None, home=home)
    refused: HotlineError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            case = services.call_record(actor=user, call=form.call())
        except HotlineError as exc:
            refused = exc
        else:
            return HttpResponseRedirect(reverse("hotline:call_done", args=[case.number]))
    return render(
        request,
        "hotline/call.html",
        {"form": form, "error": refused.message if refused else "", "home": home, "nav": "hotline"},
        status=answer_status(refused=refused, form=form),
    )


@_operator_only(access.can_record_calls)
@require_POST
def call_attach(request: HttpRequest) -> HttpResponse:
    """One click on a candidate: the call becomes a repeat report of that open case (no new case)."""
    user = request_user(request)
    number, _sep, token = request.POST.get("attach", "").partition("|")
    number = number.strip().upper()
    case = case_to_follow_get(number=number) if number else None
    form = CallForm(request.POST, request.FILES or None, home=access.home_district(user))
    form.fields["description"].required = False
    try:
        if case is None or not follow_token_valid(token=token, openid=_staff_key(user), number=number):
            raise HotlineError(
                "该候选已失效，请重新输入被举报对象或地址后再选择。", status=HTTPStatus.CONFLICT
            )
        if not form.is_valid():
            raise HotlineError("请先改正表单中的错误。")
        _follow, created = services.call_attach(actor=user, case=case, call=form.call())
    except HotlineError as exc:
        context = {"form": form, "error": exc.message, "nav": "hotline"}
        return render(request, "hotline/call.html", context, status=answer_status(refused=exc))
    target = reverse("hotline:call_followed", args=[case.number])
    return HttpResponseRedirect(f"{target}?again={'0' if created else '1'}")


@_operator_only(access.can_record_calls)
@require_GET
def call_done(request: HttpRequest, number: str) -> HttpResponse:
    """What the operator reads back to the caller: the case number and its query code (and where the case
    went). A district operator's call routed to another district is shown too, for a few hours: the
    operator just created it, and the caller needs the number."""
    case = services.call_recorded_get(actor=request_user(request), number=number)
    if case is None:
        raise Http404
    return render(request, "hotline/call_done.html", {"case": case, "nav": "hotline"})


@_operator_only(access.can_record_calls)
@require_GET
def call_followed(request: HttpRequest, number: str) -> HttpResponse:
    case = services.call_followed_get(actor=request_user(request), number=number.upper())
    if case is None:
        raise Http404
    return render(
        request,
        "hotline/call_followed.html",
        {"case": case, "again": request.GET.get("again") == "1", "nav": "hotline"},
    )


@_operator_only(access.can_record_calls)
@require_GET
def call_candidates(request: HttpRequest) -> HttpResponse:
    """“Already reported?”: open cases about the same party or near the place typed so far (htmx fragment)."""
    form = CandidateForm(request.GET)
    found = []
    if form.is_valid():
        data = form.cleaned_data
        if any(data.get(k) for k in ("reported_party", "address", "latitude")):
            found = intake_suggestions(
                openid=_staff_key(request_user(request)),
                district=data.get("district"),
                address=data.get("address") or "",
                reported_party=data.get("reported_party") or "",
                latitude=data.get("latitude"),
                longitude=data.get("longitude"),
                accepted_only=False,  # staff: a repeat call may be about a case still being confirmed
            )
    return render(request, "hotline/_candidates.html", {"candidates": found})


@_operator_only(access.can_record_calls)
@require_GET
def call_category(request: HttpRequest) -> HttpResponse:
    """The category field again, with the category guessed from the description (unless the operator chose
    one: ``category_touched``)."""
    touched = request.GET.get("category_touched") in ("1", "True", "true", "on")
    current = request.GET.get("category", "")
    guessed = guess_category(request.GET.get("description", ""))
    chosen = current if touched and current in Category.values else guessed
    return render(
        request,
        "hotline/_category.html",
        {"choices": Category.choices, "chosen": chosen, "touched": touched, "guessed": guessed},
    )


@_operator_only(access.can_record_calls)
@require_GET
def districts_geojson(request: HttpRequest) -> FileResponse:
    """The district outlines the routing uses, for the form's map."""
    response = FileResponse(outlines_file().open("rb"), content_type="application/geo+json")
    response["Cache-Control"] = "private, max-age=86400"
    return response


# ------------------------------------------------------------------------------------------ imports
@_operator_only(access.can_import_forwarded)
@require_http_methods(["GET", "POST"])
def imports(request: HttpRequest) -> HttpResponse:
    """Upload → preview (each row's errors; nothing is written but the file, kept until confirmed)."""
    user = request_user(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "nav": "hotline", "export_form": RepliesExportForm()}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch, rows = services.import_preview(
                actor=user, source=form.cleaned_data["source"], name=upload.name or "", data=upload.read()
            )
        except HotlineError as exc:
            context["error"] = exc.message
            return render(request, "hotline/imports.html", context, status=answer_status(refused=exc))
        shown = [r for r in rows if not r.ok] + [r for r in rows if r.ok][
            : max(0, PREVIEW_ROWS - batch.failed)
        ]
        shown.sort(key=lambda r: r.line)
        return render(
            request,
            "hotline/import_preview.html",
            {"batch": batch, "rows": shown, "hidden": len(rows) - len(shown), "nav": "hotline"},
        )
    context["batches"] = ImportBatch.objects.filter(uploaded_by=user)[:10]
    return render(request, "hotline/imports.html", context, status=answer_status(form=form))


@_operator_only(access.can_import_forwarded)
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    batch = ImportBatch.objects.filter(pk=pk, uploaded_by=user).first()
    if batch is None:
        raise Http404
    try:
        services.import_confirm(actor=user, batch=batch)
    except HotlineError:
        pass  # confirmed twice (a double click): show its progress
    else:
        forwarded_import_task(batch.pk)
    return HttpResponseRedirect(reverse("hotline:import_progress", args=[batch.pk]))


@_operator_only(access.can_import_forwarded)
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    batch = ImportBatch.objects.filter(pk=pk, uploaded_by=request_user(request)).first()
    if batch is None:
        raise Http404
    template = "hotline/_progress.html" if getattr(request, "htmx", None) else "hotline/import_progress.html"
    return render(request, template, {"batch": batch, "nav": "hotline"})


@_operator_only(access.can_import_forwarded)
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(template_workbook(), content_type=XLSX)
    response["Content-Disposition"] = (
        "attachment; filename*=UTF-8''%E8%BD%AC%E5%8A%9E%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx"
    )
    return response


@_operator_only(access.can_import_forwarded)
@require_GET
def replies_export(request: HttpRequest) -> HttpResponse:
    """Our replies to the forwarded cases of a period, in the import template (for the forwarding platform)."""
    form = RepliesExportForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "hotline/imports.html",
            {"form": ImportForm(), "export_form": form, "nav": "hotline"},
            status=answer_status(form=form),
        )
    data = form.cleaned_data
    since = timezone.make_aware(dt.datetime.combine(data["since"], dt.time.min))
    until = timezone.make_aware(dt.datetime.combine(data["until"], dt.time.min)) + dt.timedelta(days=1)
    user = request_user(request)
    cases = services.forwarded_replies(actor=user, source=data["source"], since=since, until=until)
    body = replies_workbook(cases)
    services.replies_exported(actor=user, source=data["source"], since=since, until=until)
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = (
        f"attachment; filename=replies-{data['source']}-{data['since']:%Y%m%d}-{data['until']:%Y%m%d}.xlsx"
    )
    return response
