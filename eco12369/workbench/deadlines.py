"""Who is warned that a year's official holidays are missing (the deadlines themselves are cases.deadlines)."""

from __future__ import annotations

import datetime as dt

from eco12369.cases import deadlines
from eco12369.orgs.models import Role, User


def calendar_gaps_for(user: User, today: dt.date) -> list[int]:
    """The years (this one and the next) whose official holidays are not known, for the users who must see
    it on their first page: heads, the city centre and administrators (DESIGN §4: the platform warns; the
    administrator enters the year's notice in the override table). Empty for anyone else, with no query."""
    if not (user.has_role(Role.HEAD) or user.is_system_admin or user.is_city_centre):
        return []
    return deadlines.unknown_years(today.year, today.year + 1)
