"""Who may use the hotline pages: the operators of the bodies that confirm cases (the city centre and the
district bureaus) record calls; the city centre's operators import the cases other platforms forward."""

from __future__ import annotations

from eco12369.orgs.models import Agency, Region, Role, User


def can_record_calls(user: User) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and user.agency_id is not None
        and user.agency is not None
        and user.agency.handles_cases
        and user.has_role(Role.OPERATOR)
    )


def can_import_forwarded(user: User) -> bool:
    return can_record_calls(user) and user.is_city_centre


def home_district(user: User) -> Region | None:
    """The district a district operator records calls for (None: the city centre, every district)."""
    if user.is_city_centre or user.agency is None or user.agency.kind != Agency.Kind.DISTRICT_BUREAU:
        return None
    return user.agency.region
