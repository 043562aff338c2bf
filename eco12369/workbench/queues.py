"""The work queues of the staff workbench. Each queue is one filter on the user's visible cases that the
indexes on ``Case`` answer directly (``agency, state, due_at``; ``state, due_at``; ``department, state``),
so listing and counting stay one indexed query each, whatever the number of cases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from eco12369.cases import deadlines
from eco12369.cases.models import CONFIRMATION_STATES, OPEN_STATES, Case, State
from eco12369.cases.selectors import cases_visible_to
from eco12369.orgs.models import Role, User
from eco12369.pages import capped_count

CASE_ROLES = frozenset({Role.OPERATOR, Role.HANDLER, Role.REVIEWER, Role.HEAD})


def works_on_cases(user: User) -> bool:
    return bool(user.is_authenticated and user.agency_id is not None and user.role_set & CASE_ROLES)


def handler_only(user: User) -> bool:
    """A handler without a supervising role sees only the work of their own department."""
    return user.has_role(Role.HANDLER) and not (user.role_set & {Role.OPERATOR, Role.REVIEWER, Role.HEAD})


Filter = Callable[[QuerySet[Case], User, dt.datetime], QuerySet[Case]]


def _agency(qs: QuerySet[Case], user: User) -> QuerySet[Case]:
    """The cases the user's agency owns now (none for a user of no agency)."""
    return qs.filter(agency_id=user.agency_id) if user.agency_id is not None else qs.none()


def _own(qs: QuerySet[Case], user: User) -> QuerySet[Case]:
    """Work owned by the user's agency (or, for a handler, assigned to their department)."""
    if handler_only(user):
        return qs.filter(department_id=user.department_id) if user.department_id else qs.none()
    return _agency(qs, user)


def _mine_or_visible(qs: QuerySet[Case], user: User) -> QuerySet[Case]:
    if handler_only(user):
        return qs.filter(department_id=user.department_id) if user.department_id else qs.none()
    return qs


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    roles: frozenset[str]
    select: Filter
    ordering: tuple[str, ...] = ("due_at", "id")
    hint: str = ""
    # Counted only up to pages.COUNT_CAP ("1000+"): the queue grows with the years (closed cases).
    capped: bool = False
    # A queue of the agency's work in these states (``select`` is then "``_own`` in these states"): counted
    # with the others like it in one grouped query (``queue_counts``).
    states: tuple[str, ...] = ()

    def cases(self, user: User, now: dt.datetime) -> QuerySet[Case]:
        return self.select(cases_visible_to(user=user), user, now)

    @property
    def hint_text(self) -> str:
        """The hint, with ``{due_soon}`` replaced by the configured due-soon fraction (DESIGN §4), as "20%"."""
        if "{due_soon}" not in self.hint:
            return self.hint
        fraction = float(deadlines.setting("DUE_SOON_FRACTION"))
        return self.hint.replace("{due_soon}", f"{fraction * 100:.4g}%")


QUEUES: list[Queue] = [
    Queue(
        "confirm",
        "待确认",
        frozenset({Role.OPERATOR, Role.HEAD}),
        lambda qs, u, now: _agency(qs, u).filter(state__in=CONFIRMATION_STATES),
        hint="新接收、需在2个工作日内确认处理的举报件",
        states=CONFIRMATION_STATES,
    ),
    Queue(
        "accepted",
        "待批转",
        frozenset({Role.OPERATOR, Role.HEAD}),
        lambda qs, u, now: _agency(qs, u).filter(state=State.ACCEPTED),
        hint="已受理、尚未批转承办部门的举报件",
        states=(State.ACCEPTED,),
    ),
    Queue(
        "handling",
        "办理中",
        frozenset({Role.OPERATOR, Role.HANDLER, Role.REVIEWER, Role.HEAD}),
        lambda qs, u, now: _own(qs, u).filter(state=State.HANDLING),
        hint="承办部门正在办理的举报件",
        states=(State.HANDLING,),
    ),
    Queue(
        "in_review",
        "待审核",
        frozenset({Role.REVIEWER, Role.OPERATOR, Role.HEAD}),
        lambda qs, u, now: _agency(qs, u).filter(state=State.IN_REVIEW),
        hint="答复意见待分管领导审核",
        states=(State.IN_REVIEW,),
    ),
    Queue(
        "due_soon",
        "即将超期",
        CASE_ROLES,
        lambda qs, u, now: _mine_or_visible(qs, u).filter(
            state__in=OPEN_STATES, warn_at__lte=now, due_at__gt=now
        ),
        hint="剩余时间不足期限{due_soon}的未办结举报件",
    ),
    Queue(
        "overdue",
        "已超期",
        CASE_ROLES,
        lambda qs, u, now: _mine_or_visible(qs, u).filter(state__in=OPEN_STATES, due_at__lt=now),
        hint="已超过当前期限仍未处理完毕的举报件",
    ),
    Queue(
        "closed",
        "已办结",
        CASE_ROLES,
        lambda qs, u, now: _mine_or_visible(qs, u).filter(state=State.CLOSED),
        # Newest first along the (region, received_at) / (received_at) indexes; a sort on closed_at
        # would need an index the Case model does not have.
        ordering=("-received_at", "-id"),
        hint="已办结的举报件",
        capped=True,
    ),
]
QUEUES_BY_KEY = {q.key: q for q in QUEUES}


def queues_for(user: User) -> list[Queue]:
    if not works_on_cases(user):
        return []
    return [q for q in QUEUES if user.role_set & q.roles]


def queue_counts(
    user: User, now: dt.datetime, queues: list[Queue], known: dict[str, int] | None = None
) -> dict[str, int]:
    """How many cases each of ``queues`` holds (``known``: counts made already). The queues of the agency's
    work by state (``Queue.states``) are counted in one grouped query, an index-only scan of the agency's
    open cases (index ``agency, state, due_at, region``), instead of one query each. Not for someone who is
    only a department's handler: their one such queue (handling) is their department's. The others are
    counted one query each (the closed cases up to ``pages.COUNT_CAP``)."""
    counts = dict(known or {})
    grouped = [q for q in queues if q.states and q.key not in counts]
    if len(grouped) > 1 and not handler_only(user):
        states = sorted({state for q in grouped for state in q.states})
        rows = (
            _agency(cases_visible_to(user=user), user)
            .filter(state__in=states)
            .values_list("state")
            .annotate(n=Count("*"))
            .order_by()
        )
        by_state = dict(rows)
        for queue in grouped:
            counts[queue.key] = sum(by_state.get(state, 0) for state in queue.states)
    for queue in queues:
        if queue.key not in counts:
            qs = queue.cases(user, now)
            counts[queue.key] = capped_count(qs) if queue.capped else qs.count()
    return counts


DEFAULT_BY_ROLE = [
    (Role.OPERATOR, "confirm"),
    (Role.REVIEWER, "in_review"),
    (Role.HANDLER, "handling"),
    (Role.HEAD, "overdue"),
]


def default_queue(user: User, queues: list[Queue]) -> Queue:
    """The queue a user opens first: their own next step in the workflow."""
    available = {q.key: q for q in queues}
    for role, key in DEFAULT_BY_ROLE:
        if user.has_role(role) and key in available:
            return available[key]
    return queues[0]
