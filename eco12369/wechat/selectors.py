"""Reads for the WeChat side, always scoped to the reporter's own openid (a reporter never sees another's case)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from eco12369.cases.models import Case, Reply
from eco12369.cases.selectors import cases_of_reporter as reporter_cases_all
from eco12369.cases.selectors import cases_visible_to, reporter_q
from eco12369.crypto import blind_q
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.models import User

from .models import Conversation


def cases_of_reporter(*, openid: str) -> QuerySet[Case]:
    if not openid:
        return Case.objects.none()
    return reporter_cases_all(openid=openid).select_related(
        "agency", "handover_agency", "duplicate_of", "region"
    )


def recent_cases_of_reporter(*, openid: str, limit: int = 5) -> list[Case]:
    """The reporter's latest cases, newest first, with what their public status needs (number, state,
    outcome) and nothing else: ``查询`` without a number lists them."""
    return list(
        reporter_cases_all(openid=openid).order_by("-received_at").only("number", "state", "outcome")[:limit]
    )


def case_for_reporter(*, openid: str, number: str) -> Case | None:
    """The case with ``number`` only if ``openid`` reported it (the check is in the same query)."""
    if not openid or not number:
        return None
    return cases_of_reporter(openid=openid).filter(number=number.strip().upper()).first()


def case_merged_for_reporter(*, openid: str, number: str) -> Case | None:
    """The case ``number`` only if one of ``openid``'s own cases was closed as a duplicate of it (Art. 14):
    that reporter was told to query it for the result. The check is in the same query."""
    if not openid or not number:
        return None
    return (
        Case.objects.filter(reporter_q(openid=openid, prefix="duplicates__"), number=number.strip().upper())
        .select_related("agency")
        .first()
    )


def approved_reply_of(*, case: Case) -> Reply | None:
    """The reply a reviewer approved, the only reply text a reporter may see (Art. 11, 16)."""
    return case.replies.filter(status=Reply.Status.APPROVED).order_by("-reviewed_at", "-id").first()


def conversation_of(*, openid: str) -> Conversation | None:
    return Conversation.objects.filter(blind_q("openid", openid)).first()


def outbox_waiting_for(*, openid: str) -> QuerySet[OutboxMessage]:
    """Messages no WeChat channel could carry: the H5 page shows them (then ``outbox_mark_shown_on_h5``)."""
    return OutboxMessage.objects.filter(
        blind_q("openid", openid), status=OutboxMessage.Status.WAITING
    ).order_by("created_at")


# ----------------------------------------------------------------------------------- staff (DESIGN §9)
# What staff see of the notices to reporters: never the openid (not even loaded), the text only where the
# user may see the case.
STAFF_FIELDS = (
    "id",
    "case_id",
    "template",
    "text",
    "status",
    "channel",
    "channel_reason",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "sent_at",
)
# A notice still waiting for a channel this long, or still pending/sending this long, needs attention.
WAITING_ALERT = dt.timedelta(hours=24)
STUCK_ALERT = dt.timedelta(hours=1)


def outbox_of_case(*, case: Case) -> list[OutboxMessage]:
    """The notices to ``case``'s reporter, oldest first (the caller has checked the user may see the case)."""
    return list(case.outbox_messages.only(*STAFF_FIELDS).order_by("created_at", "id"))


def outbox_problems_q(*, now: dt.datetime) -> Q:
    """Failed notices, and notices waiting (no channel) or pending too long."""
    S = OutboxMessage.Status
    return (
        Q(status=S.FAILED)
        | Q(status=S.WAITING, created_at__lt=now - WAITING_ALERT)
        | Q(status__in=(S.PENDING, S.SENDING), created_at__lt=now - STUCK_ALERT)
    )


def outbox_problems_visible_to(*, user: User, now: dt.datetime) -> QuerySet[OutboxMessage]:
    """The notices needing attention that ``user`` may see: the administrator all of them (delivery is
    theirs to fix; no case content is shown to them), case staff those of the cases they may see (the city
    centre every district, a district bureau its own)."""
    qs = OutboxMessage.objects.filter(outbox_problems_q(now=now)).only(*STAFF_FIELDS, "case__number")
    qs = qs.select_related("case").order_by("-created_at", "-id")
    if user.is_system_admin:
        return qs
    return qs.filter(case__in=cases_visible_to(user=user))
