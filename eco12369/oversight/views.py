"""Oversight pages of the city centre and the districts (Art. 14, 18).

Views stay thin (DESIGN §10): check the permission (``access``), fetch through scoped selectors (cases only
through ``case_get_for`` / ``cases_visible_to``), validate a form, call one service, render.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page
from django.db.models import Avg, Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from eco12369.audit.services import audit_record
from eco12369.cases import services as case_services
from eco12369.cases.models import Case, State
from eco12369.cases.selectors import case_get_for
from eco12369.cases.workflow import TransitionError, refusal
from eco12369.orgs.models import User
from eco12369.pages import page_of, query_without_page, request_user, require
from eco12369.workbench.deadlines import deadline_view

from . import access, selectors
from .assessment import (
    INDICATORS,
    assessment_rows,
    assessment_workbook,
    repeat_threshold_in_force,
)
from .duplicates import DUPLICATE_THRESHOLD, duplicates_find
from .forms import (
    AssessmentWeightsForm,
    GuidanceNoticeForm,
    MarkDuplicateForm,
    SpotCheckDrawForm,
    SpotCheckReviewForm,
    StaffMeritForm,
    SupervisionAnswerForm,
    SupervisionFilterForm,
    SupervisionOrderForm,
)
from .performance import performance_agencies, performance_rows, performance_staff
from .periods import Period, period_parse, previous_month, recent_months
from .services import (
    OversightError,
    assessment_scheme_current,
    assessment_scheme_update,
    guidance_notice_mark_read,
    guidance_notice_publish,
    spot_check_draw,
    spot_check_item_review,
    staff_merit_record,
)
from .spotchecks import CHECK_LABELS

PAGE_SIZE = 20


def _page(request: HttpRequest, qs: Any, per_page: int = PAGE_SIZE, known_count: int | None = None) -> Page:
    return page_of(request, qs, per_page, known_count=known_count)


def _case_or_404(user: User, number: str) -> Case:
    case = case_get_for(user=user, number=number)
    if case is None:
        raise Http404("举报件不存在或您无权查看。")
    return case


def _period_choices(current: Period) -> list[dict[str, Any]]:
    months = recent_months(13)
    quarters = sorted({f"{p.first.year}-Q{(p.first.month - 1) // 3 + 1}" for p in months}, reverse=True)
    years = sorted({str(p.first.year) for p in months}, reverse=True)
    options = [period_parse(key) for key in [p.key for p in months] + quarters + years]
    if current.key not in {p.key for p in options}:
        options.insert(0, current)
    return [{"key": p.key, "label": p.label, "selected": p.key == current.key} for p in options]


# ------------------------------------------------------------------------------------ supervision
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
        page = _page(request, orders)
        context["page"] = page
        context["orders"] = [
            {"order": o, "status_label": selectors.ORDER_STATUS_LABELS[o.status]} for o in page.object_list
        ]
    else:
        qs = cases(tab).select_related("region", "agency")
        page = _page(request, qs, known_count=counts[tab])
        context["page"] = page
        context["rows"] = [{"case": c, "deadline": deadline_view(c, now)} for c in page.object_list]
    return render(request, "oversight/supervision.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def supervise(request: HttpRequest, number: str) -> HttpResponse:
    """The city centre issues a supervision order (督办单) on a case."""
    user = request_user(request)
    require(access.can_issue_supervision(user))
    case = _case_or_404(user, number)
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


# ------------------------------------------------------------------------------------- duplicates
@login_required
@require_http_methods(["GET", "POST"])
def duplicates(request: HttpRequest, number: str) -> HttpResponse:
    """The candidates of a case with their scores; the operator marks the case as a duplicate of one."""
    user = request_user(request)
    require(access.can_view_duplicates(user))
    case = _case_or_404(user, number)
    form = MarkDuplicateForm(request.POST or None)
    if request.method == "POST" and request.POST.get("action") == "refresh":
        duplicates_find(case=case)
        messages.success(request, "已重新查找疑似重复举报。")
        return redirect("oversight:duplicates", number=case.number)
    if request.method == "POST" and form.is_valid():
        original = case_get_for(user=user, number=form.cleaned_data["original"].strip())
        if original is None:
            form.add_error("original", "原举报件不存在或您无权查看。")
        else:
            try:
                case_services.case_mark_duplicate(case=case, actor=user, duplicate_of=original)
            except TransitionError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, f"已将 {case.number} 标记为与 {original.number} 重复，并告知举报人原举报件编号。"
                )
                return redirect("oversight:duplicates", number=case.number)
    candidates = selectors.duplicate_candidates_for(user=user, case=case)
    return render(
        request,
        "oversight/duplicates.html",
        {
            "case": case,
            "candidates": candidates,
            "threshold": DUPLICATE_THRESHOLD,
            "form": form,
            "mark_refused": refusal(case, user, "mark_duplicate"),
            "repeat_count": selectors.repeated_party_count_for(case=case),
            "repeat_threshold": repeat_threshold_in_force(),
            "repeat_days": selectors.REPEAT_WINDOW_DAYS,
        },
        status=422 if form.errors else 200,
    )


@login_required
@require_GET
def repeats(request: HttpRequest) -> HttpResponse:
    """Reported parties with at least the scheme's number of reports in 30 days (Art. 14: repeated
    reports)."""
    user = request_user(request)
    require(access.can_view_duplicates(user))
    now = timezone.now()
    threshold = repeat_threshold_in_force()
    page = _page(request, selectors.repeated_parties(user=user, now=now, threshold=threshold))
    keys = [row["party_key"] for row in page.object_list]
    cases = selectors.repeated_parties_cases(user=user, party_keys=keys, now=now)
    rows = [{**row, "cases": cases.get(row["party_key"], [])} for row in page.object_list]
    return render(
        request,
        "oversight/repeats.html",
        {
            "page": page,
            "rows": rows,
            "threshold": threshold,
            "days": selectors.REPEAT_WINDOW_DAYS,
            "query": query_without_page(request),
        },
    )


# ------------------------------------------------------------------------------------ spot checks
@login_required
@require_http_methods(["GET", "POST"])
def spot_checks(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_view_spot_checks(user))
    can_draw = access.can_draw_spot_check(user)
    form = SpotCheckDrawForm(request.POST or None) if can_draw else None
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
            else:
                messages.success(request, f"已抽取{check}样本（随机种子 {check.seed}）。")
                return redirect("oversight:spot_check", pk=check.pk)
    page = _page(request, selectors.spot_checks_visible_to(user=user))
    return render(
        request,
        "oversight/spot_checks.html",
        {"page": page, "form": form, "query": query_without_page(request)},
        status=422 if form is not None and form.errors else 200,
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
    page = _page(request, items, per_page=50)
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


# ------------------------------------------------------------------------------------- assessment
def _assessment_period(request: HttpRequest) -> Period:
    return period_parse(request.GET.get("period"), default=previous_month())


@login_required
@require_GET
def assessment(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_view_assessment(user))
    period = _assessment_period(request)
    scheme = assessment_scheme_current()
    rows = assessment_rows(period=period, scheme=scheme)
    return render(
        request,
        "oversight/assessment.html",
        {
            "period": period,
            "periods": _period_choices(period),
            "rows": rows,
            "indicators": INDICATORS,
            "weights": scheme.weights(),
            "scheme": scheme,
            "can_edit_weights": access.can_edit_assessment_weights(user),
            "own_region_id": None if user.is_city_centre else user.agency.region_id if user.agency else None,
        },
    )


@login_required
@require_GET
def assessment_export(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_view_assessment(user))
    period = _assessment_period(request)
    scheme = assessment_scheme_current()
    content = assessment_workbook(
        rows=assessment_rows(period=period, scheme=scheme), period=period, scheme=scheme
    )
    audit_record(
        action="export",
        actor=user,
        object_type="assessment",
        object_id=period.key,
        detail={"format": "xlsx", "title": f"{period.label}区级考核排名"},
        request=request,
    )
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    chinese = quote(f"{period.label}区级考核排名.xlsx")
    response["Content-Disposition"] = (
        f"attachment; filename=\"assessment-{period.key}.xlsx\"; filename*=UTF-8''{chinese}"
    )
    return response


@login_required
@require_http_methods(["GET", "POST"])
def assessment_weights(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_edit_assessment_weights(user))
    current = assessment_scheme_current()
    form = AssessmentWeightsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            assessment_scheme_update(
                actor=user,
                weights={name.removeprefix("w_"): form.cleaned_data[name] for name in current.WEIGHT_FIELDS},
                repeat_threshold=form.cleaned_data["repeat_threshold"],
            )
        except OversightError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "考核权重已保存。")
            return redirect("oversight:assessment")
    return render(
        request,
        "oversight/assessment_weights.html",
        {"form": form, "scheme": current},
        status=422 if form.errors else 200,
    )


# ------------------------------------------------------------------------------------ performance
@login_required
@require_GET
def performance(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(access.can_view_performance(user))
    period = period_parse(request.GET.get("period"), default=previous_month())
    agencies = list(performance_agencies(viewer=user))
    try:
        agency_id = int(request.GET.get("agency") or 0) or None
    except ValueError:
        agency_id = None
    if agency_id not in {a.pk for a in agencies}:
        agency_id = None if user.is_city_centre else user.agency_id
    page = _page(request, performance_staff(viewer=user, agency_id=agency_id), per_page=50)
    rows = performance_rows(staff=list(page.object_list), period=period)
    merits = selectors.staff_merits_by_person(person_ids=[row.user.pk for row in rows])
    for row in rows:
        row.merits = merits[row.user.pk]
    return render(
        request,
        "oversight/performance.html",
        {
            "period": period,
            "periods": _period_choices(period),
            "agencies": agencies,
            "agency_id": agency_id,
            "rows": rows,
            "page": page,
            "query": query_without_page(request),
            "closed_state": State.CLOSED,
            "can_record_merits": access.can_record_merits(user),
        },
    )


# ------------------------------------------------------------------------------------ guidance notices
@login_required
@require_GET
def guidance(request: HttpRequest) -> HttpResponse:
    """业务指导通知 (Art. 14): the city centre's notices with how many bureaus read them; a bureau's staff see
    those addressed to their bureau, the unread ones marked."""
    user = request_user(request)
    require(access.can_view_guidance(user))
    page = _page(request, selectors.guidance_notices_visible_to(user=user))
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
        else:
            messages.success(request, "业务指导通知已发布。")
            return redirect("oversight:guidance_detail", pk=notice.pk)
    return render(request, "oversight/guidance_new.html", {"form": form}, status=422 if form.errors else 200)


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


# ------------------------------------------------------------------------------------ 表彰与惩处
@login_required
@require_http_methods(["GET", "POST"])
def staff_merit_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a commendation or a penalty/criticism of one person of the performance page (Art. 18)."""
    user = request_user(request)
    require(access.can_view_performance(user) and access.can_record_merits(user))
    person = performance_staff(viewer=user).filter(pk=pk).first()
    if person is None:
        raise Http404("工作人员不存在或您无权查看。")
    require(access.can_record_merit(user, person))
    period = period_parse(request.GET.get("period"), default=previous_month())
    periods = [(p["key"], p["label"]) for p in _period_choices(period)]
    form = StaffMeritForm(request.POST or None, periods=periods, initial={"period": period.key})
    if request.method == "POST" and form.is_valid():
        try:
            staff_merit_record(
                actor=user,
                person=person,
                kind=form.cleaned_data["kind"],
                reason=form.cleaned_data["reason"],
                period=form.cleaned_data["period"],
            )
        except OversightError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"已记录{person}的表彰与惩处。")
            target = reverse("oversight:performance")
            return redirect(f"{target}?period={form.cleaned_data['period']}&agency={person.agency_id}")
    return render(
        request,
        "oversight/staff_merit_new.html",
        {"form": form, "person": person, "period": period},
        status=422 if form.errors else 200,
    )


@login_required
@require_GET
def my_merits(request: HttpRequest) -> HttpResponse:
    """我的表彰与惩处: the signed-in person's own records."""
    user = request_user(request)
    require(access.can_view_own_merits(user))
    page = _page(request, selectors.staff_merits_of(user=user))
    return render(
        request,
        "oversight/my_merits.html",
        {"page": page, "merits": page.object_list, "query": query_without_page(request)},
    )
