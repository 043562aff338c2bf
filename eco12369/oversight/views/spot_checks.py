"""Spot checks of closed cases (Art. 14): draw a sample, review its items, read the results."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Avg, Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from eco12369.errors import answer_status
from eco12369.pages import query_without_page, request_user, require

from .. import access, selectors
from ..forms import SpotCheckDrawForm, SpotCheckReviewForm, SupervisionFilterForm
from ..periods import period_parse
from ..services import OversightError, spot_check_draw, spot_check_item_review
from ..spotchecks import CHECK_LABELS
from .common import paged


@login_required
@require_http_methods(["GET", "POST"])
def spot_checks(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_view_spot_checks(user))
    can_draw = access.can_draw_spot_check(user)
    form = SpotCheckDrawForm(request.POST or None) if can_draw else None
    refused: OversightError | None = None
    if request.method == "POST":
        require(can_draw)
        assert form is not None
        if form.is_valid():
            try:
                check = spot_check_draw(
                    actor=user,
                    period=period_parse(form.cleaned_data["month"]),
                    per_district=form.cleaned_data["per_district"],
                    seed=form.cleaned_data["seed"],
                    note=form.cleaned_data["note"],
                )
            except OversightError as exc:
                form.add_error(None, exc.message)
                refused = exc
            else:
                messages.success(request, f"已抽取{check}样本（抽样号 {check.seed}）。")
                return redirect("oversight:spot_check", pk=check.pk)
    page = paged(request, selectors.spot_checks_visible_to(user=user))
    return render(
        request,
        "oversight/spot_checks.html",
        {"page": page, "form": form, "query": query_without_page(request)},
        status=answer_status(refused=refused, form=form),
    )


@login_required
@require_GET
def spot_check(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    require(access.can_view_spot_checks(user))
    check = selectors.spot_check_get(pk=pk)
    if check is None:
        raise Http404("抽查不存在。")
    items = selectors.spot_check_items_for(user=user, spot_check=check)
    if not user.is_city_centre and not items.exists():
        raise Http404("本次抽查没有本区的举报件。")
    form = SupervisionFilterForm(request.GET, city=user.is_city_centre)
    form.is_valid()
    region_id = form.cleaned_data.get("district") if user.is_city_centre else None
    summary = (
        items.order_by()
        .values("region__name", "region__code")
        .annotate(
            n=Count("id"),
            avg=Avg("score"),
            reviewed=Count("id", filter=Q(reviewed_at__isnull=False)),
            on_time=Count("id", filter=Q(on_time=True)),
            reply_complete=Count("id", filter=Q(reply_complete=True)),
            evidence=Count("id", filter=Q(evidence=True)),
            informed=Count("id", filter=Q(reporter_informed=True)),
        )
        .order_by("region__code")
    )
    if region_id:
        items = items.filter(region_id=region_id)
    page = paged(request, items, per_page=50)
    can_review = access.can_review_spot_check(user)
    rows = [
        {
            "item": item,
            "checks": [
                (CHECK_LABELS[name], getattr(item, name), item.auto.get(name)) for name in CHECK_LABELS
            ],
            "form": SpotCheckReviewForm(initial=SpotCheckReviewForm.initial_for(item), prefix=f"i{item.pk}")
            if can_review
            else None,
        }
        for item in page.object_list
    ]
    return render(
        request,
        "oversight/spot_check.html",
        {
            "check": check,
            "summary": summary,
            "rows": rows,
            "page": page,
            "form": form,
            "can_review": can_review,
            "check_labels": CHECK_LABELS.values(),
            "query": query_without_page(request),
        },
    )


@login_required
@require_http_methods(["POST"])
def spot_check_item(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    require(access.can_review_spot_check(user))
    item = selectors.spot_check_item_get_for(user=user, pk=pk)
    if item is None:
        raise Http404("抽查结果不存在。")
    form = SpotCheckReviewForm(request.POST, prefix=f"i{item.pk}")
    target = reverse("oversight:spot_check", kwargs={"pk": item.spot_check_id}) + f"#item-{item.pk}"
    if not form.is_valid():
        messages.error(request, "请检查填写的内容。")
        return redirect(target)
    try:
        spot_check_item_review(item=item, actor=user, values=form.values(), note=form.cleaned_data["note"])
    except OversightError as exc:
        messages.error(request, f"{item.case.number}：{exc.message}")
    else:
        messages.success(request, f"已保存 {item.case.number} 的抽查结果。")
    return redirect(target)
