"""Staff pages of the follow-up features: the city centre's review list of unsatisfied ratings and each
bureau's reply templates (the satisfaction rate's weight is one of the assessment weights, set on
oversight's weights page). Views stay thin: check access, validate, call one service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from eco12369.cases.workflow import TransitionError
from eco12369.errors import answer_status
from eco12369.orgs.models import User
from eco12369.oversight import access as oversight_access
from eco12369.pages import capped_count, count_label, page_of, request_user, require

from . import access, selectors
from .forms import DismissForm, ReopenForm, ReplyTemplateForm
from .models import Rating, ReplyTemplate
from .services import (
    FollowupError,
    reply_template_delete,
    reply_template_save,
    review_dismiss,
    review_reopen,
)
from .templating import PLACEHOLDERS

PAGE_SIZE = 20


# ------------------------------------------------------------------------------------------ reviews
def _reviews_page(
    request: HttpRequest,
    user: User,
    status: str,
    *,
    failed: Rating | None = None,
    failed_form: ReopenForm | DismissForm | None = None,
    http_status: int = 200,
) -> HttpResponse:
    """The review list; after a refused decision, with that rating's form (the typed text kept) and why.

    Both tabs are paged with a capped count (``eco12369.pages``): the decided list grows for ever, and the
    pending tab reuses its tab count for the pager (one count query for both)."""
    pending_count = capped_count(selectors.reviews_for(user=user))
    page = page_of(
        request,
        selectors.reviews_for(user=user, status=status),
        PAGE_SIZE,
        known_count=pending_count if status == selectors.REVIEW_PENDING else None,
        capped=True,
    )
    return render(
        request,
        "followup/reviews.html",
        {
            "page": page,
            "status": status,
            "pending_count": pending_count,
            "pending_label": count_label(pending_count),
            "can_decide": access.can_decide_reviews(user),
            "can_edit_weights": oversight_access.can_edit_assessment_weights(user),
            "reopen_form": ReopenForm(),
            "dismiss_form": DismissForm(),
            "failed": failed,
            "failed_form": failed_form,
            "failed_action": "reopen" if isinstance(failed_form, ReopenForm) else "dismiss",
            "query": f"status={status}",
        },
        status=http_status,
    )


@login_required
@require_GET
def reviews(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_view_reviews(user))
    status = request.GET.get("status") or selectors.REVIEW_PENDING
    if status not in (selectors.REVIEW_PENDING, selectors.REVIEW_DONE):
        status = selectors.REVIEW_PENDING
    return _reviews_page(request, user, status)


def _review_or_404(request: HttpRequest, pk: int) -> tuple[User, Rating]:
    user = request_user(request)
    require(access.can_view_reviews(user))
    rating = selectors.review_get_for(user=user, pk=pk)
    if rating is None:
        raise Http404("没有这条评价。")
    return user, rating


def _refused(
    request: HttpRequest,
    user: User,
    rating: Rating,
    form: ReopenForm | DismissForm,
    refused: FollowupError | TransitionError | None = None,
) -> HttpResponse:
    """A refused decision: the list again with the rating's form as typed and the reason (not a redirect,
    which would lose the text), with the refusal's status (422 for the form's own errors)."""
    if refused is not None:
        form.add_error(None, refused.message)
    status = answer_status(refused=refused, form=form)
    return _reviews_page(
        request, user, selectors.REVIEW_PENDING, failed=rating, failed_form=form, http_status=status
    )


@login_required
@require_POST
def review_reopen_view(request: HttpRequest, pk: int) -> HttpResponse:
    user, rating = _review_or_404(request, pk)
    require(access.can_decide_reviews(user))
    form = ReopenForm(request.POST)
    if not form.is_valid():
        return _refused(request, user, rating, form)
    try:
        case = review_reopen(rating=rating, actor=user, reason=form.cleaned_data["reason"])
    except (FollowupError, TransitionError) as exc:
        return _refused(request, user, rating, form, exc)
    messages.success(request, f"{case.number} 已重新交{case.agency.name}办理。")
    return redirect("followup:reviews")


@login_required
@require_POST
def review_dismiss_view(request: HttpRequest, pk: int) -> HttpResponse:
    user, rating = _review_or_404(request, pk)
    require(access.can_decide_reviews(user))
    form = DismissForm(request.POST)
    if not form.is_valid():
        return _refused(request, user, rating, form)
    try:
        done = review_dismiss(rating=rating, actor=user, note=form.cleaned_data["note"])
    except FollowupError as exc:
        return _refused(request, user, rating, form, exc)
    messages.success(request, f"{done.case.number}：已作出不予重办的复核决定。")
    return redirect("followup:reviews")


# ---------------------------------------------------------------------------------- reply templates
@login_required
@require_GET
def templates_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_manage_templates(user))
    page = page_of(request, selectors.reply_templates_manageable_by(user=user), 50)
    return render(
        request,
        "followup/templates.html",
        {"page": page, "placeholders": PLACEHOLDERS, "query": ""},
    )


def _template_form_page(request: HttpRequest, user: User, template: ReplyTemplate | None) -> HttpResponse:
    refused: FollowupError | None = None
    if request.method == "POST":
        form = ReplyTemplateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = reply_template_save(
                    actor=user,
                    template=template,
                    name=data["name"],
                    kind=data["kind"],
                    category=data["category"],
                    parts=form.parts(),
                    active=bool(data["active"]),
                )
            except FollowupError as exc:
                refused = exc
                for line in exc.message.splitlines():
                    form.add_error(None, line)
            else:
                messages.success(request, f"答复模板“{saved.name}”已保存。")
                return redirect("followup:templates")
    else:
        form = ReplyTemplateForm(initial=ReplyTemplateForm.initial_for(template) if template else None)
    return render(
        request,
        "followup/template_form.html",
        {"form": form, "template": template, "placeholders": PLACEHOLDERS},
        status=answer_status(refused=refused, form=form),
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_manage_templates(user))
    return _template_form_page(request, user, None)


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    require(access.can_manage_templates(user))
    template = selectors.reply_template_manageable_get(user=user, pk=pk)
    if template is None:
        raise Http404("答复模板不存在或不属于本机构。")
    return _template_form_page(request, user, template)


@login_required
@require_POST
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    require(access.can_manage_templates(user))
    template = selectors.reply_template_manageable_get(user=user, pk=pk)
    if template is None:
        raise Http404("答复模板不存在或不属于本机构。")
    try:
        reply_template_delete(actor=user, template=template)
    except FollowupError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "答复模板已删除。")
    return redirect("followup:templates")
