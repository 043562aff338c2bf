"""Supervision (Art. 14): overdue and due-soon cases across districts, the city queue, supervision orders."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from eco12369.cases import services as case_services
from eco12369.cases.deadlines import deadline_view
from eco12369.cases.workflow import TransitionError, refusal
from eco12369.pages import query_without_page, request_user, require

from .. import access, selectors
from ..forms import SupervisionAnswerForm, SupervisionFilterForm, SupervisionOrderForm
from .common import case_or_404, paged

TABS = [
    (selectors.OVERDUE, "已超期"),
    (selectors.DUE_SOON, "即将超期"),
    (selectors.ESCALATED, "市级协调队列"),
    (selectors.ORDERS, "督办单"),
]


@login_required
@require_GET
def supervision(request: HttpRequest) -> HttpResponse:
    """Overdue and due-soon cases across districts, the city queue (escalated cases), supervision orders."""
    user = request_user(request)
    require(access.can_view_supervision(user))
    city = user.is_city_centre
    tab = request.GET.get("tab") or (selectors.OVERDUE if city else selectors.ORDERS)
    if tab not in dict(TABS):
        raise Http404("没有这个列表。")
    form = SupervisionFilterForm(request.GET, city=city)
    form.is_valid()
    region_id = form.cleaned_data.get("district") if city else None
    state = form.cleaned_data.get("state") or None
    status = request.GET.get("status") or None
    now = timezone.now()
    today = timezone.localdate(now)

    def cases(kind: str) -> Any:
        return selectors.supervision_cases(user=user, kind=kind, now=now, region_id=region_id, state=state)

    orders_pending = selectors.supervision_orders(user=user, today=today, region_id=region_id).filter(
        answered_at__isnull=True
    )
    counts = {
        selectors.OVERDUE: cases(selectors.OVERDUE).count(),
        selectors.DUE_SOON: cases(selectors.DUE_SOON).count(),
        selectors.ESCALATED: cases(selectors.ESCALATED).count(),
        selectors.ORDERS: orders_pending.count(),
    }
    context: dict[str, Any] = {
        "tabs": [{"key": k, "label": label, "count": counts[k], "active": k == tab} for k, label in TABS],
        "tab": tab,
        "form": form,
        "status": status,
        "status_choices": [("", "全部"), *selectors.ORDER_STATUS_LABELS.items()],
        "query": query_without_page(request),
        "can_issue": access.can_issue_supervision(user),
        "can_answer": access.can_answer_supervision(user),
        "now": now,
    }
    if tab == selectors.ORDERS:
        orders = selectors.supervision_orders(user=user, today=today, status=status, region_id=region_id)
        page = paged(request, orders)
        context["page"] = page
        context["orders"] = [
            {"order": o, "status_label": selectors.ORDER_STATUS_LABELS[o.status]} for o in page.object_list
        ]
    else:
        qs = cases(tab).select_related("region", "agency")
        page = paged(request, qs, known_count=counts[tab])
        context["page"] = page
        context["rows"] = [{"case": c, "deadline": deadline_view(c, now)} for c in page.object_list]
    return render(request, "oversight/supervision.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def supervise(request: HttpRequest, number: str) -> HttpResponse:
    """The city centre issues a supervision order (督办单) on a case."""
    user = request_user(request)
    require(access.can_issue_supervision(user))
    case = case_or_404(user, number)
    form = SupervisionOrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case_services.case_supervise(
                case=case,
                actor=user,
                instruction=form.cleaned_data["instruction"],
                answer_due=form.cleaned_data["answer_due"],
            )
        except TransitionError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"已对举报件 {case.number} 下达督办单。")
            return redirect(f"{reverse('oversight:supervision')}?tab={selectors.ORDERS}")
    refused = refusal(case, user, "supervise")
    return render(
        request,
        "oversight/supervise.html",
        {
            "case": case,
            "form": form,
            "refused": refused,
            "orders": case.supervision_orders.select_related("issued_by"),
        },
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def answer_order(request: HttpRequest, pk: int) -> HttpResponse:
    """The responsible district answers a supervision order."""
    user = request_user(request)
    require(access.can_answer_supervision(user))
    order = selectors.supervision_order_get_for(user=user, pk=pk)
    if order is None:
        raise Http404("督办单不存在或您无权查看。")
    form = SupervisionAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case_services.case_answer_supervision(
                case=order.case, actor=user, order=order, answer=form.cleaned_data["answer"]
            )
        except TransitionError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"已回复举报件 {order.case.number} 的督办单。")
            return redirect(f"{reverse('oversight:supervision')}?tab={selectors.ORDERS}")
    return render(
        request,
        "oversight/answer_order.html",
        {"order": order, "form": form, "refused": refusal(order.case, user, "answer_supervision")},
        status=422 if form.errors else 200,
    )
