"""Supervision (Art. 14): overdue and due-soon cases across districts, the city queue, supervision orders."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from eco12369.cases.deadlines import deadline_view
from eco12369.pages import query_without_page, request_user, require

from .. import access, selectors
from ..forms import SupervisionFilterForm
from .common import paged

TABS = [
    (selectors.OVERDUE, "已超期"),
    (selectors.DUE_SOON, "即将超期"),
    (selectors.ESCALATED, "市级协调队列"),
    (selectors.ORDERS, "督办单"),
]


@login_required
@require_GET
def supervision(request: HttpRequest) -> HttpResponse:
    """Overdue and due-soon cases across districts, the city queue (escalated cases), supervision orders.
    Issuing and answering an order are the case's actions (workbench): the rows link to them."""
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
