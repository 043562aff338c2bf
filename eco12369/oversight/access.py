"""Who may see and do what in oversight (Art. 14, 18). Every page checks one of these; the lists they show
are further scoped by ``cases_visible_to`` (city centre: all districts; a district bureau: its own).

| page                         | city centre                    | district bureau                    |
|------------------------------|--------------------------------|------------------------------------|
| supervision lists            | operator, reviewer, head       | operator, reviewer, head (own)     |
| issue a supervision order    | operator, head                 | –                                  |
| answer a supervision order   | –                              | operator, head (own district)      |
| duplicate candidates, mark   | operator, reviewer, head       | operator, reviewer, head (own)     |
| repeated reports             | operator, reviewer, head       | operator, reviewer, head (own)     |
| spot checks: draw, review    | operator, head / + reviewer    | –                                  |
| spot checks: results         | operator, reviewer, head       | operator, reviewer, head (own)     |
| assessment ranking, export   | operator, reviewer, head       | reviewer, head                     |
| assessment weights           | head                           | –                                  |
| staff performance            | reviewer, head (all agencies)  | head (own agency)                  |
| guidance notices: publish    | operator, head                 | –                                  |
| 表彰与惩处: record            | head (anyone)                  | head (own agency's staff)          |
| 表彰与惩处: read              | as staff performance; everyone their own records                    |
| guidance notices: read       | operator, reviewer, head (all) | all case roles (addressed to them) |

Handlers, system administrators and auditors see none of it (separation of duties, Art. 15, 17).
"""

from __future__ import annotations

from eco12369.orgs.models import Agency, Role, User

OVERSEERS = frozenset({Role.OPERATOR, Role.REVIEWER, Role.HEAD})


def _staff(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.agency_id is not None)


def _handles_cases(user: User) -> bool:
    agency = user.agency
    return agency is not None and agency.kind in (Agency.Kind.CITY_CENTRE, Agency.Kind.DISTRICT_BUREAU)


def _has(user: User, *roles: str) -> bool:
    return bool(user.role_set & frozenset(roles))


def is_city(user: User) -> bool:
    return _staff(user) and user.is_city_centre


def can_view_supervision(user: User) -> bool:
    return _staff(user) and _handles_cases(user) and _has(user, *OVERSEERS)


def can_issue_supervision(user: User) -> bool:
    return is_city(user) and _has(user, Role.OPERATOR, Role.HEAD)


def can_answer_supervision(user: User) -> bool:
    return (
        _staff(user)
        and _handles_cases(user)
        and not user.is_city_centre
        and _has(user, Role.OPERATOR, Role.HEAD)
    )


def can_view_duplicates(user: User) -> bool:
    return _staff(user) and _handles_cases(user) and _has(user, *OVERSEERS)


def can_view_spot_checks(user: User) -> bool:
    return _staff(user) and _handles_cases(user) and _has(user, *OVERSEERS)


def can_draw_spot_check(user: User) -> bool:
    return is_city(user) and _has(user, Role.OPERATOR, Role.HEAD)


def can_review_spot_check(user: User) -> bool:
    return is_city(user) and _has(user, *OVERSEERS)


def can_view_assessment(user: User) -> bool:
    if not (_staff(user) and _handles_cases(user)):
        return False
    if user.is_city_centre:
        return _has(user, *OVERSEERS)
    return _has(user, Role.REVIEWER, Role.HEAD)


def can_edit_assessment_weights(user: User) -> bool:
    return is_city(user) and _has(user, Role.HEAD)


def can_view_performance(user: User) -> bool:
    if not (_staff(user) and _handles_cases(user)):
        return False
    if user.is_city_centre:
        return _has(user, Role.REVIEWER, Role.HEAD)
    return _has(user, Role.HEAD)


GUIDANCE_READERS = frozenset({Role.OPERATOR, Role.HANDLER, Role.REVIEWER, Role.HEAD})


def can_publish_guidance(user: User) -> bool:
    return is_city(user) and _has(user, Role.OPERATOR, Role.HEAD)


def can_view_guidance(user: User) -> bool:
    """The city centre's overseers (every notice, with read receipts); a district bureau's staff (the
    notices addressed to their bureau)."""
    if not (_staff(user) and _handles_cases(user)):
        return False
    if user.is_city_centre:
        return _has(user, *OVERSEERS)
    return _has(user, *GUIDANCE_READERS)


def can_record_merits(user: User) -> bool:
    """Whether the user may record for anyone at all (the performance page's links)."""
    return _staff(user) and _handles_cases(user) and _has(user, Role.HEAD)


def can_record_merit(actor: User, person: User) -> bool:
    """表彰和惩处 (Art. 18): the city centre's head for anyone, a bureau's head for the bureau's staff."""
    if not can_record_merits(actor) or person.agency_id is None:
        return False
    return actor.is_city_centre or person.agency_id == actor.agency_id


def can_view_own_merits(user: User) -> bool:
    return _staff(user)
