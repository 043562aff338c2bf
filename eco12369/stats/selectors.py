"""Reads of monthly reports and of the public disclosure, scoped to the reader."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from eco12369.cases.models import Case, Outcome, Reply
from eco12369.cases.public import public_summary, reporter_secrets, scrub
from eco12369.orgs.models import Agency, Region, Role, User

from .figures import Month, substantiated_exists
from .models import MonthlyReport

# ------------------------------------------------------------------------------------------- staff


def can_read_reports(user: User) -> bool:
    """Staff with a case-handling role; the system administrator and the auditor see no case content."""
    if not user.is_authenticated or not user.is_active or user.agency_id is None:
        return False
    return bool(user.role_set - {Role.ADMIN, Role.AUDITOR})


def monthly_reports_visible_to(*, user: User) -> QuerySet[MonthlyReport]:
    """A district bureau reads its own district's reports, whatever their status; the city centre reads its
    own (the city's) and a district's only once submitted to it (Art. 13: 向市级“平台”上报): drafts,
    pending and approved-not-yet-submitted reports are the district's own. Anyone else reads none."""
    qs = MonthlyReport.objects.select_related("region", "generated_by", "approved_by")
    if not can_read_reports(user):
        return qs.none()
    agency = user.agency
    assert agency is not None
    if agency.kind == Agency.Kind.CITY_CENTRE:
        return qs.filter(Q(region_id=agency.region_id) | Q(status=MonthlyReport.Status.SUBMITTED))
    if agency.kind == Agency.Kind.DISTRICT_BUREAU:
        return qs.filter(region_id=agency.region_id)
    return qs.none()


def monthly_report_get_for(*, user: User, region_code: str, month: Month) -> MonthlyReport | None:
    return (
        monthly_reports_visible_to(user=user).filter(region__code=region_code, month=month.first_day).first()
    )


def can_see_city_overview(user: User) -> bool:
    return can_read_reports(user) and user.is_city_centre


# ------------------------------------------------------------------------------------------ public
def published_reports() -> QuerySet[MonthlyReport]:
    """Only approved (and then submitted) monthly reports are public (Art. 13)."""
    return MonthlyReport.objects.filter(status__in=MonthlyReport.PUBLISHED_STATUSES).select_related("region")


@dataclass(frozen=True)
class PublishedMonth:
    month: Month
    districts: int
    city: bool


def published_months() -> list[PublishedMonth]:
    rows = (
        published_reports()
        .values("month")
        .annotate(
            districts=Count("id", filter=Q(region__level=Region.Level.DISTRICT)),
            city=Count("id", filter=Q(region__level=Region.Level.CITY)),
        )
        .order_by("-month")
    )
    return [PublishedMonth(Month.of(r["month"]), r["districts"], bool(r["city"])) for r in rows]


def published_reports_of(month: Month) -> list[MonthlyReport]:
    return list(published_reports().filter(month=month.first_day).order_by("region__code"))


@dataclass(frozen=True)
class PublicCase:
    """What the public sees of a closed case. Built field by field: nothing else of the case leaves."""

    number: str
    district: str
    category: str
    kind: str
    outcome: str
    received_on: str
    closed_on: str
    summary: str
    substantiated: bool
    reported_party: str
    address: str
    violations: str
    decision: str


def public_cases(*, month: Month, regions: list[Region]) -> QuerySet[Case]:
    """Cases closed in ``month`` in the published ``regions``, annotated for the public view.

    A city report covers the cases that have no district (region = the city); districts cover their own."""
    approved = Reply.objects.filter(
        case=OuterRef("pk"), kind=Reply.Kind.HANDLING, status=Reply.Status.APPROVED
    )
    return (
        Case.objects.filter(closed_at__gte=month.start, closed_at__lt=month.end, region__in=regions)
        .select_related("region")
        .annotate(
            has_violations=substantiated_exists(),
            public_violations=Subquery(approved.values("violations")[:1]),
            public_decision=Subquery(approved.values("decision")[:1]),
        )
        .only(
            "number",
            "region__name",
            "category",
            "kind",
            "outcome",
            "received_at",
            "closed_at",
            "public_summary",
            "reported_party",
            "address",
            "reporter_name",
            "reporter_phone",
        )
        .order_by("-closed_at", "-id")
    )


def public_case(case: Case) -> PublicCase:
    """The public form of one case of ``public_cases``; the reporter is never part of it."""
    from django.utils import timezone

    secrets = reporter_secrets(case)
    substantiated = case.outcome == Outcome.HANDLED and bool(getattr(case, "has_violations", False))
    return PublicCase(
        number=case.number,
        district=case.region.name,
        category=case.get_category_display(),
        kind=case.get_kind_display(),
        outcome=case.get_outcome_display(),
        received_on=f"{timezone.localtime(case.received_at):%Y-%m-%d}",
        closed_on=f"{timezone.localtime(case.closed_at):%Y-%m-%d}" if case.closed_at else "",
        summary=public_summary(case),
        substantiated=substantiated,
        reported_party=scrub(case.reported_party, secrets=secrets) if substantiated else "",
        address=scrub(case.address, secrets=secrets) if substantiated else "",
        violations=scrub(getattr(case, "public_violations", "") or "", secrets=secrets)
        if substantiated
        else "",
        decision=scrub(getattr(case, "public_decision", "") or "", secrets=secrets) if substantiated else "",
    )
