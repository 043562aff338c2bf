"""The staff workbench: queues, search, the case page and one view per workflow action.

Views stay thin (DESIGN §10): they fetch cases only through the scoped selectors, validate input with a
form, call one service and render. Pages work without JavaScript; htmx swaps only the part that changed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.http import require_GET, require_POST

from eco12369.cases import notices, services
from eco12369.cases.deadlines import deadline_view
from eco12369.cases.drafts import reply_draft_discard, reply_draft_get, reply_draft_save
from eco12369.cases.evidence import EvidenceRejected, can_attach_evidence, evidence_add
from eco12369.cases.models import Action, Attachment, Case, Extension, Reply, ReplyDraft, SupervisionOrder
from eco12369.cases.privacy import RevealRefused, reporter_display, reporter_reveal
from eco12369.cases.selectors import case_get_for, cases_visible_to, visible_region
from eco12369.cases.workflow import RULES, TransitionError, allowed_actions, refusal, reply_blocked
from eco12369.errors import answer_status
from eco12369.followup.templating import reply_template_merge, reply_template_prefill
from eco12369.orgs.geo import outlines_file
from eco12369.orgs.models import User
from eco12369.oversight.access import can_view_duplicates
from eco12369.oversight.selectors import duplicate_candidates_count
from eco12369.pages import capped_count, count_label, request_user
from eco12369.wechat.selectors import outbox_of_case
from eco12369.workbench.notes import NoteRefused, mentionable_for, note_add, notes_of

from . import lists
from .dashboard import dashboard_context
from .deadlines import calendar_gaps_for
from .export import export_cases
from .forms import ACTION_FORMS, ActionForm, LoginForm, SearchForm
from .keyset import POSITION_PARAMS, KeysetPage, keyset_page
from .lists import sort_of
from .outbox import can_retry_notices
from .queues import QUEUES_BY_KEY, Queue, default_queue, queue_counts, queues_for, works_on_cases
from .saved_views import SEARCH, views_menu

PAGE_SIZE = 20
FULL_NUMBER = re.compile(r"[A-Z]{1,8}\d{14}")  # prefix, day of receipt (8 digits), daily sequence (6)
LIST_COLUMNS = ("region",)
# Not shown in a list: the reporter's encrypted fields stay in the database, not decrypted per row.
LIST_DEFERRED = ("reporter_name", "reporter_phone", "reporter_openid")


def _is_partial(request: HttpRequest, target: str) -> bool:
    """An htmx request that asks only for the element ``target`` (not a boosted full navigation)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx and not htmx.boosted and htmx.target == target)


# Search results are counted up to this many ("200+"): counting a frequent term's matches up to a thousand
# costs more than the page (bench/run.py). The pages themselves have no cap (keyset.py).
SEARCH_COUNT_CAP = 200
SEARCH_ORDERING = lists.SEARCH_ORDERING
# A search newest first that is not read by time slices (lists.text_page: SQLite, or no words searched for)
# reads its page from the most recent month (then year, then three) when that holds
# the whole page: the same rows as reading every year (the newest rows after the cursor lie in any window
# that holds a page of them), but a frequent term matches tens of thousands of cases over ten years, and
# sorting them all for one page costs more than the page. Falls back to every year when the window is short.
RECENT_WINDOWS = (dt.timedelta(days=31), dt.timedelta(days=366), dt.timedelta(days=3 * 366))


def _rows(page: KeysetPage, now: dt.datetime) -> list[lists.ListRow]:
    return lists.list_rows(page.object_list, now)


# ------------------------------------------------------------------------------------ sign-in
class LoginView(auth_views.LoginView):
    template_name = "workbench/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): a link cannot log anyone out."""


def _calendar_context(user: User) -> dict[str, Any]:
    """The warning that a year's official holidays are missing (heads, city centre, administrators)."""
    gaps = calendar_gaps_for(user, timezone.localdate())
    admin = bool(gaps and user.is_system_admin)
    return {
        "calendar_gaps": gaps,
        "calendar_admin_url": reverse("admin:cases_calendaryear_changelist") if admin else "",
    }


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The home dashboard of a user with a case role (issue 15, workbench/dashboard.py); anyone else gets
    the page that says where to go."""
    user = request_user(request)
    if works_on_cases(user):
        context = dashboard_context(user, timezone.now(), measure=request.GET.get("measure", ""))
        return render(request, "workbench/dashboard.html", {**context, **_calendar_context(user)})
    return render(request, "workbench/home.html", _calendar_context(user))


# -------------------------------------------------------------------------------------- queues
@login_required
@require_GET
def queue(request: HttpRequest, key: str | None = None) -> HttpResponse | FileResponse:
    user = request_user(request)
    queues = queues_for(user)
    if not queues:
        return render(request, "workbench/home.html", _calendar_context(user))
    if key is None:
        current: Queue = default_queue(user, queues)
    elif key in QUEUES_BY_KEY and QUEUES_BY_KEY[key] in queues:
        current = QUEUES_BY_KEY[key]
    else:
        raise Http404("没有这个队列。")
    now = timezone.now()
    sort = sort_of(request)
    qs = current.cases(user, now).order_by(*(sort.ordering() if sort else current.ordering))
    if request.GET.get("format") == "xlsx":
        return export_cases(request, qs, user=user, list_name=f"queue:{current.key}", title=current.label)
    counts = queue_counts(user, now, queues)
    page = keyset_page(
        request,
        qs.select_related(*LIST_COLUMNS).defer(*LIST_DEFERRED),
        sort.ordering() if sort else current.ordering,
        PAGE_SIZE,
    )
    context = {
        "queues": [
            {"queue": q, "count": counts[q.key], "label": count_label(counts[q.key]), "active": q is current}
            for q in queues
        ],
        "current": current,
        # How many the list holds (a capped queue: up to the cap and one more) and how that reads.
        "total": counts[current.key],
        "total_label": count_label(counts[current.key]) if current.capped else str(counts[current.key]),
        "page": page,
        "rows": _rows(page, now),
        "columns": lists.header(request, sort),
        "export_query": _export_query(request),
        "now": now,
        **_saved_views_context(request, current.key),
    }
    if _is_partial(request, "queue-panel"):
        return render(request, "workbench/_queue_panel.html", context)
    return render(request, "workbench/queue.html", {**context, **_calendar_context(user)})


def _saved_views_context(request: HttpRequest, list_key: str) -> dict[str, Any]:
    """The 我的视图 menu and what 保存视图 would save: this list as filtered and sorted."""
    params = request.GET.copy()
    for name in POSITION_PARAMS:
        params.pop(name, None)
    return {
        "saved_views": views_menu(request_user(request)),
        "list_key": list_key,
        "list_query": params.urlencode(),
    }


def _export_query(request: HttpRequest) -> str:
    """The list's query string with ``format=xlsx``: the export link of the list as filtered and sorted."""
    params = request.GET.copy()
    for name in POSITION_PARAMS:  # the whole list, not the page
        params.pop(name, None)
    params["format"] = "xlsx"
    return params.urlencode()


# -------------------------------------------------------------------------------------- search
@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse | FileResponse:
    user = request_user(request)
    if not works_on_cases(user):
        raise Http404("没有可查询的举报件。")
    form = SearchForm(request.GET or None, user=user)
    now = timezone.now()
    visible = qs = cases_visible_to(user=user)
    scope = visible_region(user=user)
    text_search = False
    if form.is_bound and form.is_valid():
        qs = lists.cases_filtered(qs, form.cleaned_data, now, full_number=FULL_NUMBER, region=scope)
        text_search = bool(
            form.cleaned_data.get("q", "").strip() or form.cleaned_data.get("reported_party", "").strip()
        )
    elif form.is_bound:
        qs = qs.none()
    sort = sort_of(request)
    # An export of filters that do not pass (a date outside the platform's years) is the page with the
    # form's messages, not an empty workbook.
    if request.GET.get("format") == "xlsx" and not form.errors:
        ordered = qs.order_by(*(sort.ordering() if sort else SEARCH_ORDERING))
        return export_cases(request, ordered, user=user, list_name="search", title="举报件查询结果")
    first = not (request.GET.get("after") or request.GET.get("before"))
    ordering = sort.ordering() if sort else SEARCH_ORDERING
    sliced: lists.TextPage | None = None
    if text_search and tuple(ordering) == SEARCH_ORDERING:
        # PostgreSQL: a word searched newest first, by a walk or slice by slice (lists.text_page).
        sliced = lists.text_page(
            request,
            visible,
            form.cleaned_data,
            now,
            region=scope,
            page_size=PAGE_SIZE,
            cap=SEARCH_COUNT_CAP,
            full_number=FULL_NUMBER,
        )
    windows: list[tuple[Q, int | None]] = []
    if sliced is not None:
        total = sliced.total
        total_text = sliced.total_text
    else:
        total = capped_count(qs, SEARCH_COUNT_CAP)
        total_text = f"共 {count_label(total, SEARCH_COUNT_CAP)} 件"
        if sort is None:
            # The first page of an exact count needs only that many rows from a window.
            need = min(total, PAGE_SIZE + 1) if first and total <= SEARCH_COUNT_CAP else None
            windows = [(Q(received_at__gte=now - window), need) for window in RECENT_WINDOWS]
    page = keyset_page(
        request,
        qs.select_related(*LIST_COLUMNS).defer(*LIST_DEFERRED),
        ordering,
        PAGE_SIZE,
        windows=windows,
        found=sliced.ids if sliced is not None else None,
    )
    context = {
        "form": form,
        "page": page,
        "total": total,  # up to SEARCH_COUNT_CAP and one more; None: estimated (total_text)
        "total_text": total_text,
        "rows": _rows(page, now),
        "columns": lists.header(request, sort),
        "sort": sort,
        "export_query": _export_query(request),
        **_saved_views_context(request, SEARCH),
    }
    if _is_partial(request, "search-area"):
        return render(request, "workbench/_search_area.html", context)
    return render(request, "workbench/search.html", context)


# ------------------------------------------------------------------------------------ case page
@login_required
@require_GET
def districts_geojson(request: HttpRequest) -> FileResponse:
    """The district outlines that ship with the project, for the case page's map (no online tiles)."""
    if not works_on_cases(request_user(request)):
        raise Http404("没有可查看的地图。")
    response = FileResponse(outlines_file().open("rb"), content_type="application/geo+json")
    response["Cache-Control"] = "private, max-age=86400"
    return response


def _case_or_404(request: HttpRequest, number: str) -> Case:
    case = case_get_for(user=request_user(request), number=number)
    if case is None:
        raise Http404("举报件不存在或您无权查看。")
    return case


WAITING_FOR = {
    "received": "等待责任机构的平台操作人员确认处理（2个工作日内）。",
    "escalated": "等待市举报受理中心协调处理。",
    "accepted": "等待平台操作人员批转承办部门。",
    "handling": "承办部门正在办理，办结后提交答复意见。",
    "in_review": "答复意见等待分管领导审核。",
    "closed": "本件已办结。",
}

EVENT_DATA_LABELS = {
    "department": "承办部门",
    "to": "改派至",
    "handover_agency": "移交机构",
    "duplicate_of": "重复于",
    "days": "天数",
    "answer_due": "回复期限",
    "agency": "责任机构",
    "scope": "受理范围",
    "public_summary": "公开摘要",
}


def _event_rows(case: Case) -> list[dict[str, Any]]:
    rows = []
    for event in case.events.select_related("actor", "actor_agency"):
        details = [
            f"{label}：{event.data[key]}"
            for key, label in EVENT_DATA_LABELS.items()
            if isinstance(event.data, dict) and event.data.get(key) not in (None, "")
        ]
        if event.action == Action.DECIDE_EXTENSION and isinstance(event.data, dict):
            details.append("批准" if event.data.get("approved") else "不予批准")
        rows.append({"event": event, "label": event.get_action_display(), "details": details})
    return rows


def reply_preview(case: Case, values: dict[str, Any]) -> dict[str, str]:
    """Exactly what the reporter will receive of a handling reply with these parts once it is approved:
    the WeChat closing notice and the H5 page's 答复意见 (``Reply.public_text``, DESIGN §4)."""
    reply = Reply(kind=Reply.Kind.HANDLING, **{n: str(values.get(n) or "") for n in Reply.FIVE_PARTS})
    text = reply.public_text()
    return {"wechat": notices.closed(case, text), "h5": text}


def case_context(
    request: HttpRequest,
    case: Case,
    bound: ActionForm | None = None,
    error: str = "",
    evidence_error: str = "",
) -> dict[str, Any]:
    user = request_user(request)
    now = timezone.now()
    actions: list[dict[str, Any]] = []
    chosen = request.GET.get("action") if bound is None else None
    for rule in allowed_actions(case, user):
        form_class = ACTION_FORMS.get(rule.action)
        if form_class is None:
            continue
        initial: dict[str, str] | None
        if rule.action == chosen:
            # A link to one action (the oversight pages' 督办, 回复 and 标记为重复): that form opens, with the
            # link's values of its fields filled in (validated only when submitted, like anything typed).
            initial = {name: request.GET[name] for name in form_class.base_fields if name in request.GET}
        elif rule.action == "submit_reply" and bound is None:
            # A reply template chosen on the submit-reply form pre-fills its five parts (followup, issue #7).
            initial = reply_template_prefill(
                user=user, case=case, template_id=request.GET.get("reply_template")
            )
        else:
            initial = None
        draft = reply_draft_get(case=case, author=user) if rule.action == "submit_reply" else None
        if rule.action == "submit_reply" and initial is None and draft is not None:
            # The editor opens on the author's autosaved draft (issue 12, D7).
            initial = {name: getattr(draft, name) for name in ReplyDraft.FIELDS}
        form = (
            bound
            if bound is not None and bound.prefix_name == rule.action
            else form_class(case=case, user=user, initial=initial)
        )
        actions.append(
            {
                "rule": rule,
                "form": form,
                "url": reverse(f"workbench:case_{rule.action}", args=[case.number]),
                "open": (bound is not None and bound.prefix_name == rule.action)
                or rule.action == chosen
                or initial is not None,
                "label": form.title or rule.label,
                "draft": draft,
                "preview": reply_preview(case, initial or {}) if rule.action == "submit_reply" else None,
            }
        )
    if actions and not any(a["open"] for a in actions):
        actions[0]["open"] = True
    replies = list(case.replies.select_related("drafted_by", "reviewed_by"))
    attachments = list(case.attachments.select_related("uploaded_by"))
    duplicates_count = duplicate_candidates_count(user=user, case=case) if can_view_duplicates(user) else 0
    return {
        "case": case,
        "reporter": reporter_display(user=user, case=case),
        "deadline": deadline_view(case, now),
        # A video's poster is shown on the video (``poster``), not again on its own.
        "attachments": [
            a
            for a in attachments
            if a.kind == Attachment.Kind.PHOTO and a.pk not in {b.poster_id for b in attachments}
        ],
        "evidence": [a for a in attachments if a.kind == Attachment.Kind.EVIDENCE],
        "can_attach_evidence": can_attach_evidence(case=case, user=user),
        "evidence_error": evidence_error,
        "events": _event_rows(case),
        "replies": [
            {
                "reply": r,
                "parts": _reply_parts(r),
                # Art. 16: why a reply waiting for review cannot be approved (sensitive words), for everyone.
                "blocked": reply_blocked(r) if r.status == Reply.Status.SUBMITTED else None,
            }
            for r in replies
        ],
        "extensions": list(case.extensions.select_related("requested_by", "decided_by")),
        "orders": list(case.supervision_orders.select_related("issued_by", "answered_by")),
        # 内部备注: staff only (never on the reporter's pages, Open311 or the public disclosure).
        "notes": list(notes_of(case=case)),
        # DESIGN §9: what the reporter was told and whether it arrived (never the openid).
        "notices": outbox_of_case(case=case),
        "can_retry_notices": can_retry_notices(user),
        # The duplicate candidates (oversight) for the roles that may use them.
        # (issue 12, D8: only when there are candidates, with their count)
        "duplicates_count": duplicates_count,
        "duplicates_url": reverse("oversight:duplicates", args=[case.number]) if duplicates_count else "",
        "actions": actions,
        "waiting_for": WAITING_FOR.get(case.state, ""),
        "action_error": error,
        "error_action": bound.prefix_name if bound is not None else "",
        # The error is shown once: in its action's form when that form is on the page, else at the top.
        "error_in_form": bound is not None and any(a["rule"].action == bound.prefix_name for a in actions),
        "now": now,
    }


def _reply_parts(reply: Reply) -> list[tuple[str, str]]:
    if reply.kind != Reply.Kind.HANDLING:
        parts = [("答复意见", reply.text)]
    else:
        parts = [
            (str(getattr(Reply._meta.get_field(name), "verbose_name", name)), getattr(reply, name))
            for name in Reply.FIVE_PARTS
        ]
    # Art. 13: published in the monthly disclosure once approved; not sent to the reporter.
    if reply.public_summary:
        parts.append(("公开摘要（拟公开，不发送给举报人）", reply.public_summary))
    return parts


def _render_case(
    request: HttpRequest,
    case: Case,
    bound: ActionForm | None = None,
    error: str = "",
    status: int = 200,
    evidence_error: str = "",
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    context = {**case_context(request, case, bound, error, evidence_error), **(extra or {})}
    template = "workbench/_case_main.html" if _is_partial(request, "case-main") else "workbench/case.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _render_case(request, _case_or_404(request, number))


@login_required
@require_POST
def case_note_add(request: HttpRequest, number: str) -> HttpResponse:
    """An internal note (内部备注), with @mentions that notify the people named (notes.note_add)."""
    case = _case_or_404(request, number)
    body = request.POST.get("body", "")
    try:
        note_add(user=request_user(request), case=case, body=body, request=request)
    except NoteRefused as exc:
        extra = {"note_error": exc.message, "note_body": body}
        return _render_case(request, case, status=answer_status(refused=exc), extra=extra)
    messages.success(request, "内部备注已保存。")
    return redirect(reverse("workbench:case", args=[case.number]) + "#notes")


@login_required
@require_GET
def case_mentionable(request: HttpRequest, number: str) -> JsonResponse:
    """The @mention autocomplete: the people who may see the case, matching ``q`` (username or name)."""
    case = _case_or_404(request, number)
    people = mentionable_for(user=request_user(request), case=case, query=request.GET.get("q", ""))
    return JsonResponse(
        {"people": [{"username": p.username, "name": p.name, "agency": p.agency} for p in people]}
    )


# What the case page plays (``<audio>``, ``<video>``): chat voice transcoded to MP3, chat video (MP4).
PLAYABLE_TYPES = {"audio/mpeg", "video/mp4"}


@login_required
@require_GET
def case_photo(request: HttpRequest, number: str, pk: int) -> FileResponse:
    """Photos live under MEDIA_ROOT, outside the web root; only users who may see the case get them."""
    case = _case_or_404(request, number)
    attachment = case.attachments.filter(pk=pk).first()
    if attachment is None or not attachment.file:
        raise Http404("照片不存在。")
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("照片文件缺失。") from exc
    # Inline only what the case page shows: raster images, and the voice (MP3) and video (MP4) it plays.
    inline = (
        attachment.content_type.startswith("image/") and attachment.content_type != "image/svg+xml"
    ) or attachment.content_type in PLAYABLE_TYPES
    response = FileResponse(
        handle,
        content_type=attachment.content_type if inline else "application/octet-stream",
        as_attachment=not inline,
        filename=attachment.original_name or f"photo-{attachment.pk}",
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    return response


@login_required
@require_POST
def case_reply_draft(request: HttpRequest, number: str) -> HttpResponse:
    """The reply editor's autosave (htmx, as the handler types): the draft is stored on the server and the
    preview of what the reporter will receive comes back."""
    user = request_user(request)
    case = _case_or_404(request, number)
    prefix = ACTION_FORMS[Action.SUBMIT_REPLY].prefix_name
    values = {name: request.POST.get(f"{prefix}-{name}", "") for name in ReplyDraft.FIELDS}
    try:
        draft = reply_draft_save(case=case, author=user, values=values)
    except TransitionError:
        # Not (or no longer) this user's reply to write, e.g. a last autosave that arrives after the reply
        # was submitted: nothing is saved and the page is left as it is.
        return HttpResponse(status=204)
    return render(
        request,
        "workbench/_reply_preview.html",
        {"preview": reply_preview(case, values), "draft": draft, "case": case},
    )


@login_required
@require_POST
def case_evidence(request: HttpRequest, number: str) -> HttpResponse:
    """Upload evidence of the handling (cases.evidence checks the file by its content and its size)."""
    user = request_user(request)
    case = _case_or_404(request, number)
    try:
        evidence_add(case=case, actor=user, upload=request.FILES.get("file"))
    except EvidenceRejected as exc:
        return _render_case(request, case, status=answer_status(refused=exc), evidence_error=exc.message)
    messages.success(request, "取证材料已上传。")
    return HttpResponseRedirect(reverse("workbench:case", args=[number]) + "#evidence", status=303)


@login_required
@require_POST
def case_reporter_reveal(request: HttpRequest, number: str) -> HttpResponse:
    """Art. 17: the reporter's name and phone in clear, for one response, with a reason written to the
    audit trail (``privacy.reporter_reveal`` checks the right). htmx swaps the reporter card only; without
    JavaScript the whole case page comes back with the card revealed."""
    user = request_user(request)
    case = _case_or_404(request, number)
    try:
        reporter = reporter_reveal(
            user=user, case=case, reason=request.POST.get("reason", ""), request=request
        )
        error, status = "", answer_status()
    except RevealRefused as exc:
        reporter, error = reporter_display(user=user, case=case), exc.message
        status = answer_status(refused=exc)
    context: dict[str, Any] = {"case": case, "reporter": reporter, "reveal_error": error}
    if _is_partial(request, "reporter-card"):
        template = "workbench/_reporter_card.html"
    else:
        template = "workbench/case.html"
        context = {**case_context(request, case), **context}
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"  # the clear values must not stay in a cache
    return response


# -------------------------------------------------------------------------------------- actions
@method_decorator(login_required, name="dispatch")
class CaseActionView(View):
    """POST /cases/<number>/<action>/: validate the form, call the service, show the case again.

    A refusal (wrong role, wrong state, another agency's case) or a ``TransitionError`` from the service
    shows its Chinese message and changes nothing."""

    action: ClassVar[Action]
    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest, number: str) -> HttpResponse:
        return redirect("workbench:case", number=number)

    def post(self, request: HttpRequest, number: str) -> HttpResponse:
        user = request_user(request)
        case = _case_or_404(request, number)
        form = ACTION_FORMS[self.action](request.POST, case=case, user=user)
        reason = refusal(case, user, self.action)
        if reason is not None:
            return _render_case(request, case, form, reason, status=403)
        if not form.is_valid():
            return _render_case(request, case, form, "请检查填写的内容。", status=answer_status(form=form))
        try:
            self.perform(form.cleaned_data, case, user)
        except TransitionError as exc:
            fresh = case_get_for(user=user, number=number) or case
            return _render_case(request, fresh, form, exc.message, status=answer_status(refused=exc))
        messages.success(request, f"“{RULES[self.action].label}”已完成。")
        if case_get_for(user=user, number=number) is None:
            # The case left this user's sight (e.g. re-routed to another district): back to the queues.
            target = reverse("workbench:queue")
            if getattr(request, "htmx", None):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            return HttpResponseRedirect(target, status=303)
        return HttpResponseRedirect(reverse("workbench:case", args=[number]), status=303)

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        raise NotImplementedError


class AcceptView(CaseActionView):
    action = Action.ACCEPT

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        return services.case_accept(
            case=case,
            actor=user,
            kind=data["kind"] or None,
            category=data["category"] or None,
            note=data["note"],
            scope_confirmed=data["scope_confirmed"],
        )


class AnswerView(CaseActionView):
    action = Action.ANSWER

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        return services.case_answer(
            case=case,
            actor=user,
            text=data["text"],
            kind=data["kind"] or None,
            category=data["category"] or None,
        )


class HandOverView(CaseActionView):
    action = Action.HAND_OVER

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        return services.case_hand_over(
            case=case, actor=user, handover_agency=data["handover_agency"], text=data["text"]
        )


class EscalateView(CaseActionView):
    action = Action.ESCALATE

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        return services.case_escalate(case=case, actor=user, reason=data["reason"])


class SendBackView(CaseActionView):
    action = Action.SEND_BACK

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        return services.case_send_back(case=case, actor=user, reason=data["reason"])


class RerouteView(CaseActionView):
    action = Action.REROUTE

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        return services.case_reroute(
            case=case, actor=user, target_agency=data["target_agency"], reason=data["reason"]
        )


class MarkDuplicateView(CaseActionView):
    action = Action.MARK_DUPLICATE

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        return services.case_mark_duplicate(case=case, actor=user, duplicate_of=data["duplicate_of"])


class AssignView(CaseActionView):
    action = Action.ASSIGN

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        return services.case_assign(case=case, actor=user, department=data["department"], note=data["note"])


class SubmitReplyView(CaseActionView):
    action = Action.SUBMIT_REPLY

    def post(self, request: HttpRequest, number: str) -> HttpResponse:
        if "fill_template" not in request.POST:
            return super().post(request, number)
        # "填入模板" (followup, issue #7) submits nothing: the form comes back with what the handler typed,
        # and the chosen template fills only the parts still empty.
        user = request_user(request)
        case = _case_or_404(request, number)
        form_class = ACTION_FORMS[self.action]
        reason = refusal(case, user, self.action)
        if reason is not None:
            return _render_case(request, case, form_class(case=case, user=user), reason, status=403)
        typed = {name: request.POST.get(f"{self.action}-{name}", "") for name in form_class.base_fields}
        template_id = request.POST.get("reply_template")
        filled = reply_template_prefill(user=user, case=case, template_id=template_id) or {}
        initial = reply_template_merge(typed=typed, filled=filled)
        return _render_case(request, case, form_class(case=case, user=user, initial=initial))

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        case = services.case_submit_reply(
            case=case,
            actor=user,
            party_facts=data["party_facts"],
            inspection=data["inspection"],
            violations=data["violations"],
            decision=data["decision"],
            communication=data["communication"],
            public_summary=data["public_summary"],
        )
        reply_draft_discard(case=case, author=user)  # submitted: the autosaved draft has done its work
        return case


class ApproveView(CaseActionView):
    action = Action.APPROVE

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        return services.case_approve(
            case=case, actor=user, note=data["note"], public_summary=data["public_summary"]
        )


class ReturnView(CaseActionView):
    action = Action.RETURN

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        return services.case_return(case=case, actor=user, note=data["note"])


class RequestExtensionView(CaseActionView):
    action = Action.REQUEST_EXTENSION

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        return services.case_request_extension(
            case=case, actor=user, days=data["days"], reason=data["reason"]
        )


class DecideExtensionView(CaseActionView):
    action = Action.DECIDE_EXTENSION

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        extension: Extension = data["extension"]
        return services.case_decide_extension(
            case=case, actor=user, extension=extension, approved=data["approved"], note=data["note"]
        )


class SuperviseView(CaseActionView):
    action = Action.SUPERVISE

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        return services.case_supervise(
            case=case, actor=user, instruction=data["instruction"], answer_due=data["answer_due"]
        )


class AnswerSupervisionView(CaseActionView):
    action = Action.ANSWER_SUPERVISION

    def perform(self, data: dict[str, Any], case: Case, user: User) -> Case:
        order: SupervisionOrder = data["order"]
        return services.case_answer_supervision(case=case, actor=user, order=order, answer=data["answer"])


ACTION_VIEWS: dict[Action, type[CaseActionView]] = {
    view.action: view
    for view in (
        AcceptView,
        AnswerView,
        HandOverView,
        EscalateView,
        RerouteView,
        MarkDuplicateView,
        AssignView,
        SendBackView,
        SubmitReplyView,
        ApproveView,
        ReturnView,
        RequestExtensionView,
        DecideExtensionView,
        SuperviseView,
        AnswerSupervisionView,
    )
}
