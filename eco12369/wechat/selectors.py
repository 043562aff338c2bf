"""Reads for the WeChat side, always scoped to the reporter's own openid (a reporter never sees another's case)."""

from __future__ import annotations

from django.db.models import QuerySet

from eco12369.cases.models import Case, Reply
from eco12369.cases.selectors import cases_of_reporter as reporter_cases_all
from eco12369.cases.selectors import reporter_q
from eco12369.crypto import blind_q

from .models import Conversation, OutboxMessage


def cases_of_reporter(*, openid: str) -> QuerySet[Case]:
    if not openid:
        return Case.objects.none()
    return reporter_cases_all(openid=openid).select_related(
        "agency", "handover_agency", "duplicate_of", "region"
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
