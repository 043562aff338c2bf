"""How a case's current deadline looks in the lists: a colour and the time left, in Chinese."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from eco12369.cases import deadlines
from eco12369.cases.models import Case, State
from eco12369.orgs.models import Role, User

OK = "ok"
SOON = "soon"
OVERDUE = "overdue"
NONE = "none"


@dataclass(frozen=True)
class DeadlineView:
    status: str  # ok / soon / overdue / none
    text: str  # 剩余3天5小时 / 已超期2天 / ""
    due_at: dt.datetime | None
    # Computed in a year whose official holidays are not known yet (DESIGN §4): the date may still move.
    provisional: bool = False

    @property
    def label(self) -> str:
        return {OK: "正常", SOON: "即将超期", OVERDUE: "已超期"}.get(self.status, "")


def _span(seconds: float, *, coarse: bool) -> str:
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        if coarse or not hours:
            return f"{days}天"
        return f"{days}天{hours}小时"
    if hours:
        if coarse or not minutes:
            return f"{hours}小时"
        return f"{hours}小时{minutes}分钟"
    if minutes:
        return f"{minutes}分钟"
    return "不足1分钟"


def time_left(due_at: dt.datetime, now: dt.datetime) -> str:
    """剩余3天5小时, 剩余5小时20分钟, 已超期2天, 已超期3小时."""
    delta = (due_at - now).total_seconds()
    if delta >= 0:
        return "剩余" + _span(delta, coarse=False)
    return "已超期" + _span(-delta, coarse=True)


def deadline_view(case: Case, now: dt.datetime) -> DeadlineView:
    if case.state == State.CLOSED or case.due_at is None:
        return DeadlineView(NONE, "", case.due_at)
    if now > case.due_at:
        status = OVERDUE
    elif case.warn_at is not None and now >= case.warn_at:
        status = SOON
    else:
        status = OK
    return DeadlineView(status, time_left(case.due_at, now), case.due_at, case.deadline_provisional)


def calendar_gaps_for(user: User, today: dt.date) -> list[int]:
    """The years (this one and the next) whose official holidays are not known, for the users who must see
    it on their first page: heads, the city centre and administrators (DESIGN §4: the platform warns; the
    administrator enters the year's notice in the override table). Empty for anyone else, with no query."""
    if not (user.has_role(Role.HEAD) or user.is_system_admin or user.is_city_centre):
        return []
    return deadlines.unknown_years(today.year, today.year + 1)
