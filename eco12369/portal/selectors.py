"""Reads for the reporter's pages. Every query is scoped to the reporter's openid in the same query, so a
reporter can never see another reporter's case (DESIGN §10)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from eco12369.cases.models import Case, Reply
from eco12369.cases.selectors import cases_of_reporter, reporter_q
from eco12369.crypto import blind_q
from eco12369.followup.selectors import follows_of
from eco12369.notifications.models import OutboxMessage

from .models import StagedPhoto, Submission


def _approved_replies() -> Prefetch:  # type: ignore[type-arg]
    return Prefetch(
        "replies",
        queryset=Reply.objects.filter(status=Reply.Status.APPROVED).order_by("reviewed_at", "id"),
        to_attr="approved_replies",
    )


def reporter_cases(*, openid: str) -> QuerySet[Case]:
    """The reporter's own cases, newest first, each with ``approved_replies`` (never drafts)."""
    if not openid:
        return Case.objects.none()
    return (
        cases_of_reporter(openid=openid)
        .select_related("region", "duplicate_of", "handover_agency")
        .prefetch_related(_approved_replies())
        .order_by("-received_at", "-id")
    )


def reporter_list(*, openid: str) -> QuerySet[Case]:
    """“我的举报”: the reporter's own cases and the cases they follow (issue #7), newest first. Two
    indexed look-ups (the follows by openid, then the cases by openid or id), never a scan."""
    if not openid:
        return Case.objects.none()
    followed = list(follows_of(openid=openid).values_list("case_id", flat=True)[:200])
    return (
        Case.objects.filter(reporter_q(openid=openid) | Q(pk__in=followed))
        .select_related("region", "duplicate_of", "handover_agency")
        .prefetch_related(_approved_replies())
        .order_by("-received_at", "-id")
    )


def reporter_case_get(*, openid: str, number: str) -> Case | None:
    """One of the reporter's own cases by number; ``None`` for anyone else's or an unknown number."""
    number = (number or "").strip().upper()
    if not openid or not number:
        return None
    return reporter_cases(openid=openid).filter(number=number).first()


def reporter_case_messages(*, openid: str, case: Case) -> QuerySet[OutboxMessage]:
    """Everything the platform told (or is waiting to tell) the reporter about this case: fixed templates
    and approved replies only, as the outbox holds nothing else (Art. 11, 16)."""
    return OutboxMessage.objects.filter(blind_q("openid", openid), case=case).order_by("created_at", "id")


REPLY_SHOWN_ABOVE = "（答复内容见上方“答复意见”）"


@dataclass(frozen=True)
class ShownMessage:
    """A message of the case page's 消息记录, with the text shown there."""

    message: OutboxMessage
    text: str


def reporter_case_messages_shown(*, openid: str, case: Case, replies: list[Reply]) -> list[ShownMessage]:
    """The case's messages for its H5 page, where ``replies`` are already shown under 答复意见: a message
    that carried a reply (the closing notice, a status query's answer) names it instead of repeating it, so
    the page prints each reply once. Older messages, sent with all five parts, are matched too."""
    texts = [t for r in replies for t in (r.record_text(), r.public_text()) if t]
    shown = []
    for message in reporter_case_messages(openid=openid, case=case):
        text = message.text
        for reply_text in texts:
            text = text.replace(reply_text, REPLY_SHOWN_ABOVE)
        shown.append(ShownMessage(message, text))
    return shown


def reporter_waiting_messages(*, openid: str) -> QuerySet[OutboxMessage]:
    """Messages no WeChat channel could carry (DESIGN §9): shown on the H5 pages instead."""
    if not openid:
        return OutboxMessage.objects.none()
    return (
        OutboxMessage.objects.filter(blind_q("openid", openid), status=OutboxMessage.Status.WAITING)
        .select_related("case")
        .order_by("-created_at", "-id")
    )


def submission_get(*, openid: str, token: str) -> Submission | None:
    if not openid or not token:
        return None
    return Submission.objects.filter(blind_q("openid", openid), token=token).select_related("case").first()


def staged_photos_of(*, openid: str, token: str) -> list[StagedPhoto]:
    if not openid or not token:
        return []
    return list(
        StagedPhoto.objects.filter(
            blind_q("submission__openid", openid), submission__token=token, submission__case=None
        )
    )


def staged_photo_get(*, openid: str, key: str) -> StagedPhoto | None:
    if not openid or not key:
        return None
    return StagedPhoto.objects.filter(blind_q("submission__openid", openid), key=key).first()
