"""Reads of cases, always scoped to what the user may see (DESIGN §5, §10)."""

from __future__ import annotations

from django.db.models import QuerySet

from eco12369.orgs.models import Agency, Role, User

from .models import Case


def cases_visible_to(*, user: User) -> QuerySet[Case]:
    """City centre staff see every case; a district bureau's staff see the cases of their district; the
    system administrator and the auditor see no case content (separation of duties); anyone else none."""
    qs = Case.objects.all()
    if not user.is_authenticated or not user.is_active or user.agency_id is None:
        return qs.none()
    if not (user.role_set - {Role.ADMIN, Role.AUDITOR}):
        return qs.none()
    agency = user.agency
    assert agency is not None
    if agency.kind == Agency.Kind.CITY_CENTRE:
        return qs
    if agency.kind == Agency.Kind.DISTRICT_BUREAU:
        return qs.filter(region_id=agency.region_id)
    return qs.none()


def case_get_for(*, user: User, number: str) -> Case | None:
    """One case by number, only if ``user`` may see it (the access check is in the same query)."""
    return (
        cases_visible_to(user=user)
        .select_related("region", "agency", "department", "handover_agency", "duplicate_of")
        .filter(number=number)
        .first()
    )
