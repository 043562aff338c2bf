"""Who is warned that a year's official holidays are missing (the deadlines themselves are cases.deadlines)."""

from __future__ import annotations

import datetime as dt

from eco12369.cases import deadlines
from eco12369.orgs.models import User


def calendar_gaps_for(user: User, today: dt.date) -> list[int]:
    """The years (this one and the next) whose official holidays are not known, for the one who can act on
    it: the administrator, who enters the year's notice in the override table (DESIGN §4: the platform
    warns). Everyone else sees "暂定" on the deadlines it touches (issue 12, D11). Empty, with no query."""
    if not user.is_system_admin:
        return []
    return deadlines.unknown_years(today.year, today.year + 1)
