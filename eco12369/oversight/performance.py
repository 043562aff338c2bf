"""Staff performance (Art. 18): what each person did in a period, from the case timeline.

* 确认: accept, answer, hand over or mark as duplicate (the decisions on a new case, Art. 7), on time when
  made by the case's confirmation deadline;
* 办理: replies submitted by a handler (Art. 9, 10), on time when submitted by the closing deadline;
* 审核: replies approved or returned by a reviewer (Art. 11);
* 被退回: the person's replies a reviewer returned in the period.

Two grouped queries (timeline events by actor, returned replies by author) for one page of staff.
The head of a bureau sees the bureau's staff; the city centre's reviewers and heads see any agency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from eco12369.cases.models import CaseEvent, Reply
from eco12369.dbrouting import replica_reads
from eco12369.orgs.models import Agency, Role, User
from eco12369.stats import kpis

from .periods import Period

CONFIRM_ACTIONS = ("accept", "answer", "hand_over", "mark_duplicate")
CASE_ROLES = (Role.OPERATOR, Role.HANDLER, Role.REVIEWER, Role.HEAD)
HANDLE_ACTIONS = ("submit_reply",)
REVIEW_ACTIONS = ("approve", "return")


@dataclass
class StaffRow:
    user: User
    confirmed: int = 0
    confirmed_on_time: int = 0
    handled: int = 0
    handled_on_time: int = 0
    reviewed: int = 0
    approved: int = 0
    returned_by_me: int = 0
    replies_returned: int = 0
    merits: list[Any] = field(default_factory=list)  # 表彰与惩处 (``StaffMerit``), set by the page

    @property
    def timed(self) -> int:
        return self.confirmed + self.handled

    @property
    def on_time_rate(self) -> float | None:
        return kpis.rate(self.confirmed_on_time + self.handled_on_time, self.timed)


def performance_agencies(*, viewer: User) -> QuerySet[Agency]:
    """The agencies whose staff ``viewer`` may assess."""
    kinds = (Agency.Kind.CITY_CENTRE, Agency.Kind.DISTRICT_BUREAU)
    if viewer.is_city_centre:
        return Agency.objects.filter(kind__in=kinds).order_by("region__code", "kind", "name")
    if viewer.agency_id is None:
        return Agency.objects.none()
    return Agency.objects.filter(pk=viewer.agency_id)


def performance_staff(*, viewer: User, agency_id: int | None = None) -> QuerySet[User]:
    agencies = performance_agencies(viewer=viewer)
    if agency_id:
        agencies = agencies.filter(pk=agency_id)
    # Only staff who work on cases: the administrator and the auditor are not assessed (issue 12, D14).
    return (
        User.objects.filter(agency__in=agencies, roles__role__in=CASE_ROLES)
        .distinct()
        .select_related("agency", "department")
        .order_by("agency__region__code", "agency_id", "department_id", "username")
    )


@replica_reads()
def performance_rows(*, staff: list[User], period: Period) -> list[StaffRow]:
    rows = {user.pk: StaffRow(user=user) for user in staff}
    if not rows:
        return []
    events = (
        CaseEvent.objects.filter(actor_id__in=rows, at__gte=period.start_at, at__lt=period.end_at)
        .values("actor_id")
        .annotate(
            confirmed=Count("id", filter=Q(action__in=CONFIRM_ACTIONS)),
            confirmed_on_time=Count(
                "id", filter=Q(action__in=CONFIRM_ACTIONS, at__lte=F("case__confirm_due"))
            ),
            handled=Count("id", filter=Q(action__in=HANDLE_ACTIONS)),
            handled_on_time=Count(
                "id",
                filter=Q(action__in=HANDLE_ACTIONS)
                & (Q(case__close_due__isnull=True) | Q(at__lte=F("case__close_due"))),
            ),
            reviewed=Count("id", filter=Q(action__in=REVIEW_ACTIONS)),
            approved=Count("id", filter=Q(action="approve")),
        )
    )
    for fig in events:
        row = rows[fig["actor_id"]]
        row.confirmed = fig["confirmed"]
        row.confirmed_on_time = fig["confirmed_on_time"]
        row.handled = fig["handled"]
        row.handled_on_time = fig["handled_on_time"]
        row.reviewed = fig["reviewed"]
        row.approved = fig["approved"]
        row.returned_by_me = fig["reviewed"] - fig["approved"]
    returned = (
        Reply.objects.filter(
            drafted_by_id__in=rows,
            status=Reply.Status.RETURNED,
            reviewed_at__gte=period.start_at,
            reviewed_at__lt=period.end_at,
        )
        .values("drafted_by_id")
        .annotate(n=Count("id"))
    )
    for fig in returned:
        rows[fig["drafted_by_id"]].replies_returned = fig["n"]
    return list(rows.values())


# The table's sortable columns: key -> (label, how the rows sort). Name and agency sort in the database
# (one page of rows is computed); a figure sorts every row of the selection (a few hundred staff at most).
SORT_BY_NAME = {
    "name": ("display_name", "username"),
    "agency": ("agency__region__code", "agency_id", "username"),
}
SORT_BY_FIGURE: dict[str, Any] = {
    "confirmed": lambda r: r.confirmed,
    "handled": lambda r: r.handled,
    "reviewed": lambda r: r.reviewed,
    "returned_by_me": lambda r: r.returned_by_me,
    "on_time_rate": lambda r: -1.0 if r.on_time_rate is None else r.on_time_rate,
    "replies_returned": lambda r: r.replies_returned,
}


def performance_sort(value: str | None) -> tuple[str, bool]:
    """(column, descending) from ``?sort=`` (``-handled``); the agency order by default."""
    value = value or ""
    key, descending = value.removeprefix("-"), value.startswith("-")
    if key not in SORT_BY_NAME and key not in SORT_BY_FIGURE:
        return "agency", False
    return key, descending
