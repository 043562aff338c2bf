"""What of a case may be shown to the public (Art. 13, 17): one scrubber and one summary, used by the
disclosure pages, the follow-up suggestions, the reporter's pages and the Open311 API alike; and the
state as a reporter is told it (``public_status``: no internal step shown), on every channel."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q

from .models import Case, Outcome, State

# Mobile and landline numbers, ID card numbers and any other long run of digits (with spaces or dashes).
_NUMBERS = re.compile(
    r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{17}[\dXx])(?!\d)|\d[\d\s-]{6,}\d|[A-Za-z]?\d{15,17}[\dXx]"
)


# The longest public summary staff may write (the disclosure lists one line per case).
PUBLIC_SUMMARY_MAX_LENGTH = 200


def listed_q() -> Q:
    """The cases the public may learn of at all: those an operator accepted after confirming them (in scope,
    Art. 6, 7), open or closed, never a duplicate. A case still waiting for confirmation may be out of scope,
    a duplicate or handed over to another agency: nothing about it (not even that it exists) is shown to
    anyone but its reporter and the staff. The public list, Open311 and the "already reported?"
    suggestions all filter with this."""
    return Q(accepted_at__isnull=False) & ~Q(outcome=Outcome.DUPLICATE)


def scrub(text: str, *, secrets: tuple[str, ...] = ()) -> str:
    """Remove personal data from a text meant for the public: each of ``secrets`` (the reporter's name and
    phone) however it is spaced ("张三", "张 三", "张　三"), and anything shaped like a phone or ID number."""
    for secret in secrets:
        chars = [re.escape(c) for c in secret if not c.isspace()]
        if len(chars) >= 2:
            text = re.sub(r"\s*".join(chars), "＊＊", text)
    return _NUMBERS.sub("＊＊＊", text)


def reporter_secrets(case: Case) -> tuple[str, ...]:
    return (case.reporter_name, case.reporter_phone)


def public_summary(case: Case) -> str:
    """The summary staff wrote for the public, scrubbed, or a neutral line from the case's category. Never
    the reporter's own description: it names people and places the reporter did not mean to publish."""
    summary = case.public_summary.strip() or f"反映{case.get_category_display()}环境问题。"
    return scrub(summary, secrets=reporter_secrets(case))[:PUBLIC_SUMMARY_MAX_LENGTH]


@dataclass(frozen=True)
class PublicStatus:
    label: str
    tone: str  # css modifier: waiting / working / done
    hint: str


_OPEN_STATUS: dict[str, PublicStatus] = {
    State.RECEIVED: PublicStatus("已接收，待受理", "waiting", "我们将在2个工作日内确认处理。"),
    State.ESCALATED: PublicStatus("已接收，待受理", "waiting", "我们将在2个工作日内确认处理。"),
    State.ACCEPTED: PublicStatus("已受理，办理中", "working", "已受理的举报自受理之日起60日内办结。"),
    State.HANDLING: PublicStatus("已受理，办理中", "working", "已受理的举报自受理之日起60日内办结。"),
    State.IN_REVIEW: PublicStatus("办理中", "working", "办理结果经审核后将告知您。"),
}
_CLOSED_STATUS: dict[str, PublicStatus] = {
    Outcome.HANDLED: PublicStatus("已办结", "done", ""),
    Outcome.ANSWERED: PublicStatus("已答复", "done", ""),
    Outcome.HANDED_OVER: PublicStatus("已移交其他部门办理", "done", ""),
    Outcome.DUPLICATE: PublicStatus("已合并办理（重复举报）", "done", ""),
    Outcome.WITHDRAWN: PublicStatus("已撤回", "done", "举报人已撤回，平台不再办理。"),
}


def public_status(case: Case) -> PublicStatus:
    """What a reporter is told about the state: no internal steps (review, assignment) are exposed."""
    if case.state == State.CLOSED:
        return _CLOSED_STATUS.get(case.outcome, _CLOSED_STATUS[Outcome.HANDLED])
    return _OPEN_STATUS.get(case.state, PublicStatus("办理中", "working", ""))
