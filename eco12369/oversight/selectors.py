"""Reads for oversight, always scoped to the user through ``cases_visible_to`` (DESIGN §10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.db.models import Avg, CharField, Count, F, Max, Min, Q, QuerySet, Value, When
from django.utils import timezone

from eco12369.cases.models import OPEN_STATES, Case, State, SupervisionOrder
from eco12369.cases.selectors import cases_visible_to
from eco12369.orgs.models import Agency, Region, User

from . import access
from .assessment import repeat_threshold_in_force
from .duplicate_scoring import DUPLICATE_THRESHOLD
from .models import (
    CaseFingerprint,
    DuplicateCandidate,
    GuidanceNotice,
    GuidanceNoticeRead,
    SpotCheck,
    SpotCheckItem,
    StaffMerit,
)

# ------------------------------------------------------------------------------------ supervision
OVERDUE = "overdue"
DUE_SOON = "due_soon"
ESCALATED = "escalated"
ORDERS = "orders"


def districts() -> QuerySet[Region]:
    return Region.objects.filter(level=Region.Level.DISTRICT).order_by("code")


def supervision_cases(
    *, user: User, kind: str, now: dt.datetime, region_id: int | None = None, state: str | None = None
) -> QuerySet[Case]:
    """Open cases past their current deadline (``overdue``) or in its last 20% (``due_soon``), or waiting
    for the city centre (``escalated``), across the districts the user may see. Served by the
    ``(state, due_at)`` index: every filter is on ``state`` and a range of ``due_at``."""
    qs = cases_visible_to(user=user)
    if kind == OVERDUE:
        qs = qs.filter(state__in=OPEN_STATES, due_at__lt=now)
    elif kind == DUE_SOON:
        qs = qs.filter(state__in=OPEN_STATES, due_at__gte=now, warn_at__lte=now)
    elif kind == ESCALATED:
        qs = qs.filter(state=State.ESCALATED)
    else:
        return qs.none()
    if region_id:
        qs = qs.filter(region_id=region_id)
    if state and state in State.values:
        qs = qs.filter(state=state)
    return qs.order_by("due_at", "id")


ORDER_OPEN = "open"
ORDER_ANSWERED = "answered"
ORDER_OVERDUE = "overdue"
ORDER_STATUS_LABELS = {ORDER_OPEN: "待回复", ORDER_OVERDUE: "逾期未回复", ORDER_ANSWERED: "已回复"}


def supervision_orders(
    *, user: User, today: dt.date, status: str | None = None, region_id: int | None = None
) -> QuerySet[SupervisionOrder]:
    """Supervision orders on the cases the user may see, with ``status`` (open / overdue / answered) and
    ``answered_late`` annotated. A district's staff see the orders they have to answer."""
    qs = SupervisionOrder.objects.filter(case__in=cases_visible_to(user=user)).annotate(
        status=models.Case(
            When(answered_at__isnull=False, then=Value(ORDER_ANSWERED)),
            When(answer_due__lt=today, then=Value(ORDER_OVERDUE)),
            default=Value(ORDER_OPEN),
            output_field=CharField(),
        )
    )
    if status == ORDER_ANSWERED:
        qs = qs.filter(answered_at__isnull=False)
    elif status == ORDER_OVERDUE:
        qs = qs.filter(answered_at__isnull=True, answer_due__lt=today)
    elif status == ORDER_OPEN:
        qs = qs.filter(answered_at__isnull=True, answer_due__gte=today)
    if region_id:
        qs = qs.filter(case__region_id=region_id)
    return qs.select_related("case", "case__region", "case__agency", "issued_by", "answered_by").order_by(
        "answered_at", "answer_due", "id"
    )


# ------------------------------------------------------------------------------------- duplicates
def _candidates_visible(*, user: User, case: Case) -> QuerySet[DuplicateCandidate]:
    return DuplicateCandidate.objects.filter(case=case, candidate__in=cases_visible_to(user=user))


def duplicate_candidates_for(*, user: User, case: Case) -> list[DuplicateCandidate]:
    """The stored candidates of ``case`` the user may see (a district sees only its own earlier cases)."""
    return list(
        _candidates_visible(user=user, case=case)
        .select_related("candidate", "candidate__region", "candidate__agency", "candidate__duplicate_of")
        .order_by("-score", "id")
    )


REPEAT_AFTER_CLOSING_DAYS = 365


def repeat_reports(*, user: User, now: dt.datetime | None = None) -> QuerySet[DuplicateCandidate]:
    """重复举报 after closing (Art. 14): reports of the last 12 months that the finder linked, as likely the
    same matter, to a case closed at most 12 months before; both cases visible to the user, newest first."""
    since = (now or timezone.now()) - dt.timedelta(days=REPEAT_AFTER_CLOSING_DAYS)
    visible = cases_visible_to(user=user)
    return (
        DuplicateCandidate.objects.filter(
            kind=DuplicateCandidate.Kind.REPEAT,
            score__gte=DUPLICATE_THRESHOLD,
            case__received_at__gte=since,
            case__in=visible,
            candidate__in=visible,
        )
        .select_related("case", "case__region", "candidate", "candidate__region")
        .order_by("-case__received_at", "-id")
    )


def repeat_reports_by_district(*, user: User, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """How many repeat reports each district had in the last 12 months (counted for supervision)."""
    return list(
        repeat_reports(user=user, now=now)
        .order_by()
        .values("case__region__name")
        .annotate(n=Count("case_id", distinct=True))
        .order_by("-n", "case__region__name")
    )


def duplicate_candidates_count(*, user: User, case: Case) -> int:
    """How many of them there are (the case page links them only when there is one)."""
    return _candidates_visible(user=user, case=case).count()


REPEAT_WINDOW_DAYS = 30


def repeated_parties(
    *,
    user: User,
    now: dt.datetime | None = None,
    days: int = REPEAT_WINDOW_DAYS,
    threshold: int | None = None,
) -> QuerySet[Any]:
    """Reported parties (normalised names) with at least ``threshold`` reports received in the last ``days``
    days, among the cases the user may see: one grouped query on the fingerprint index. ``threshold``
    defaults to the assessment scheme's (``repeat_threshold_in_force``). A reporter who
    followed an open case at intake instead of filing it again (``followup.Follow``, issue #7) reported its
    party again: such follows in the window count as reports (``follows``)."""
    now = now or timezone.now()
    if threshold is None:
        threshold = repeat_threshold_in_force()
    since = now - dt.timedelta(days=days)
    window = Q(received_at__gte=since, received_at__lte=now)
    followed = Q(case__follows__created_at__gte=since, case__follows__created_at__lte=now)
    return (
        CaseFingerprint.objects.filter(window | followed)
        .exclude(party_key="")
        .filter(case__in=cases_visible_to(user=user))
        .values("party_key")
        .annotate(
            received=Count("case_id", distinct=True, filter=window),
            follows=Count("case__follows", distinct=True, filter=followed),
            reports=F("received") + F("follows"),
            open_reports=Count("case_id", distinct=True, filter=window & Q(case__state__in=OPEN_STATES)),
            districts=Count("case__region_id", distinct=True),
            first_at=Min("received_at"),
            last_at=Max("received_at"),
            name=Max("case__reported_party"),
        )
        .filter(reports__gte=threshold)
        .order_by("-reports", "-last_at", "party_key")
    )


def repeated_parties_cases(
    *, user: User, party_keys: list[str], now: dt.datetime, days: int = REPEAT_WINDOW_DAYS
) -> dict[str, list[Case]]:
    """The cases behind one page of ``repeated_parties`` (one query)."""
    since = now - dt.timedelta(days=days)
    out: dict[str, list[Case]] = {key: [] for key in party_keys}
    cases = (
        cases_visible_to(user=user)
        .filter(fingerprint__party_key__in=party_keys, received_at__gte=since, received_at__lte=now)
        .select_related("region", "fingerprint")
        .order_by("received_at", "id")
    )
    for case in cases:
        out[case.fingerprint.party_key].append(case)  # type: ignore[attr-defined]
    return out


def repeated_party_count_for(*, case: Case, days: int = REPEAT_WINDOW_DAYS) -> int:
    """How many reports name the same party as ``case`` in the ``days`` before it (itself included); follows
    of such cases at intake (``followup.Follow``) count as reports too."""
    fingerprint = CaseFingerprint.objects.filter(case_id=case.pk).values_list("party_key", flat=True).first()
    if not fingerprint:
        return 0
    since = case.received_at - dt.timedelta(days=days)
    received = CaseFingerprint.objects.filter(
        party_key=fingerprint, received_at__gte=since, received_at__lte=case.received_at
    ).count()
    follows = CaseFingerprint.objects.filter(
        party_key=fingerprint,
        case__follows__created_at__gte=since,
        case__follows__created_at__lte=case.received_at,
    ).count()
    return received + follows


# ------------------------------------------------------------------------------------ spot checks
def spot_checks_visible_to(*, user: User) -> QuerySet[SpotCheck]:
    """Every sample for the city centre; for a district the samples with its cases, counted for it."""
    items = Q()
    if not user.is_city_centre:
        assert user.agency is not None
        items = Q(items__region_id=user.agency.region_id)
    qs = SpotCheck.objects.select_related("drawn_by").annotate(
        items_count=Count("items", filter=items),
        reviewed_count=Count("items", filter=items & Q(items__reviewed_at__isnull=False)),
        average=Avg("items__score", filter=items),
    )
    if not user.is_city_centre:
        qs = qs.filter(items_count__gt=0)
    return qs.order_by("-month")


def spot_check_get(*, pk: int) -> SpotCheck | None:
    return SpotCheck.objects.select_related("drawn_by").filter(pk=pk).first()


def spot_check_items_for(*, user: User, spot_check: SpotCheck) -> QuerySet[SpotCheckItem]:
    """The sample's items the user may see: all for the city centre, the own district's for a district."""
    qs = SpotCheckItem.objects.filter(spot_check=spot_check, case__in=cases_visible_to(user=user))
    return qs.select_related("case", "region", "reviewed_by").order_by("region__code", "case__number")


def spot_check_item_get_for(*, user: User, pk: int) -> SpotCheckItem | None:
    return (
        SpotCheckItem.objects.filter(pk=pk, case__in=cases_visible_to(user=user))
        .select_related("case", "region", "spot_check")
        .first()
    )


# ------------------------------------------------------------------------------------ guidance notices
def guidance_notices_visible_to(*, user: User) -> QuerySet[GuidanceNotice]:
    """Every notice for the city centre, with how many bureaus it went to and how many read it; a
    district bureau's staff: the notices addressed to their bureau, each marked ``is_read`` by this user.
    Nobody else: none."""
    if not access.can_view_guidance(user):
        return GuidanceNotice.objects.none()
    qs = GuidanceNotice.objects.select_related("published_by").order_by("-published_at", "-id")
    if user.is_city_centre:
        return qs.annotate(
            recipient_count=Count("recipients", distinct=True),
            read_count=Count("reads__agency", distinct=True),
        )
    reads = GuidanceNoticeRead.objects.filter(notice=models.OuterRef("pk"), user=user)
    return qs.filter(recipients=user.agency_id).annotate(is_read=models.Exists(reads))


def guidance_notice_get_for(*, user: User, pk: int) -> GuidanceNotice | None:
    return guidance_notices_visible_to(user=user).filter(pk=pk).first()


def guidance_notice_receipts(*, notice: GuidanceNotice) -> list[Agency]:
    """The addressed bureaus, each with ``first_read_at`` (None: nobody of the bureau has read it yet) and
    ``reader_count``; unread bureaus first."""
    in_notice = Q(guidance_reads__notice=notice)
    agencies = (
        notice.recipients.select_related("region")
        .annotate(
            first_read_at=Min("guidance_reads__read_at", filter=in_notice),
            reader_count=Count("guidance_reads", filter=in_notice),
        )
        .order_by("region__code", "name")
    )
    rows = list(agencies)
    return sorted(rows, key=lambda a: a.first_read_at is not None)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------ 表彰与惩处
def staff_merits_by_person(*, person_ids: list[int]) -> dict[int, list[StaffMerit]]:
    """The records of a page of staff (the performance page, already scoped), newest first, one query."""
    merits: dict[int, list[StaffMerit]] = {pk: [] for pk in person_ids}
    records = StaffMerit.objects.filter(person_id__in=person_ids).select_related("recorded_by")
    for merit in records.order_by("-recorded_at", "-id"):
        merits[merit.person_id].append(merit)
    return merits


def staff_merits_of(*, user: User) -> QuerySet[StaffMerit]:
    """The user's own records (我的表彰与惩处)."""
    return (
        StaffMerit.objects.filter(person=user).select_related("recorded_by").order_by("-recorded_at", "-id")
    )
