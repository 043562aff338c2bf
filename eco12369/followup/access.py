"""Who may do what in the follow-up features.

| page                                   | city centre                 | district bureau               |
|----------------------------------------|-----------------------------|-------------------------------|
| review list of unsatisfied ratings     | operator, reviewer, head    | –                             |
| reopen to the district / dismiss       | operator, head              | –                             |
| reply templates: manage                | operator, reviewer, head    | operator, reviewer, head (own)|
|   (the city centre's are city-wide defaults)                                                   |
| reply templates: use (submit reply)    | handlers of the case        | handlers of the case          |

Handlers, system administrators and auditors manage none of it (separation of duties, Art. 15, 17).
"""

from __future__ import annotations

from eco12369.orgs.models import Agency, Role, User

OVERSEERS = frozenset({Role.OPERATOR, Role.REVIEWER, Role.HEAD})
DECIDERS = frozenset({Role.OPERATOR, Role.HEAD})


def _staff(user: object) -> bool:
    return bool(
        isinstance(user, User) and user.is_authenticated and user.is_active and user.agency_id is not None
    )


def _handles_cases(user: User) -> bool:
    agency = user.agency
    return agency is not None and agency.kind in (Agency.Kind.CITY_CENTRE, Agency.Kind.DISTRICT_BUREAU)


def can_view_reviews(user: User) -> bool:
    return _staff(user) and user.is_city_centre and bool(user.role_set & OVERSEERS)


def can_decide_reviews(user: User) -> bool:
    return _staff(user) and user.is_city_centre and bool(user.role_set & DECIDERS)


def can_manage_templates(user: User) -> bool:
    return _staff(user) and _handles_cases(user) and bool(user.role_set & OVERSEERS)
