"""The texts that answer a reporter's ``查询``: what a reporter may know of their case (Art. 17), in the
public wording of the H5 pages (``cases.public.public_status``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from eco12369.cases.models import Case, Outcome, State
from eco12369.cases.public import public_status, public_summary
from eco12369.cases.selectors import case_by_number_and_code
from eco12369.cases.services import BIND_ALREADY, BIND_DONE, BIND_OTHER, case_reporter_bind

from . import texts
from .models import Conversation
from .selectors import (
    approved_reply_of,
    case_for_reporter,
    case_merged_for_reporter,
    recent_cases_of_reporter,
)

# Guessing query codes (issue 14): at most ``CODE_TRIES`` wrong codes per WeChat account in ``CODE_WINDOW``;
# after that every 查询 with a code is refused, right or wrong, until the window ends. With 31**10 codes
# this leaves a guesser no chance; a caller who mistypes has room to correct.
CODE_TRIES = 5
CODE_WINDOW = dt.timedelta(hours=1)


def _date(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y年%m月%d日") if value else "—"


def reporter_status(openid: str, number: str | None) -> str:
    """The answer to ``查询 [编号]``: the reporter's recent cases, or one of them (or the case theirs was
    merged into); never another reporter's."""
    if not number:
        recent = recent_cases_of_reporter(openid=openid)
        if not recent:
            return texts.NO_CASES
        lines = [f"{c.number}（{public_status(c).label}）" for c in recent]
        return texts.RECENT_CASES.format(lines="\n".join(lines))
    case = case_for_reporter(openid=openid, number=number)
    if case is not None:
        return case_public_status(case)
    merged = case_merged_for_reporter(openid=openid, number=number)
    if merged is not None:
        return merged_case_status(merged)
    return texts.NOT_FOUND.format(number=number.upper())


def status_by_code(conv: Conversation, number: str, code: str) -> str:
    """The answer to ``查询 <编号> <查询码>`` from ``conv`` (locked by the callback): with the right code, the
    case's public status, and the case bound to this WeChat if it has no WeChat reporter yet (a caller who
    phoned it in), so its notices reach them. A wrong code, or a number that does not exist, gets the same
    refusal and counts towards the guessing limit."""
    now = timezone.now()
    if conv.code_failures_since is None or now - conv.code_failures_since >= CODE_WINDOW:
        conv.code_failures, conv.code_failures_since = 0, None
    if conv.code_failures >= CODE_TRIES:
        assert conv.code_failures_since is not None
        left = conv.code_failures_since + CODE_WINDOW - now
        return texts.CODE_LOCKED.format(minutes=max(1, -(-int(left.total_seconds()) // 60)))
    case = case_by_number_and_code(number=number, code=code)
    if case is None:
        conv.code_failures += 1
        conv.code_failures_since = conv.code_failures_since or now
        if conv.code_failures >= CODE_TRIES:
            return texts.CODE_LOCKED.format(minutes=int(CODE_WINDOW.total_seconds() // 60))
        return texts.CODE_REFUSED.format(left=CODE_TRIES - conv.code_failures)
    bound = case_reporter_bind(case=case, openid=conv.openid)
    if bound in (BIND_DONE, BIND_ALREADY):
        status = case_public_status(case)
        return status + ("\n" + texts.CODE_BOUND if bound == BIND_DONE else "")
    # Someone else's WeChat case (or one whose reporter data is erased): its state only, not its answer.
    status = case_public_status(case, with_reply=False)
    return status + ("\n" + texts.CODE_BOUND_OTHER if bound == BIND_OTHER else "")


def case_public_status(case: Case, *, with_reply: bool = True) -> str:
    """What a reporter may know of their case: state, responsible agency, deadline, the approved reply
    (not with ``with_reply=False``: for whoever holds the number and code of another reporter's case). The state is the public one of the H5 pages (no internal steps such as review or assignment)."""
    lines = [f"举报编号：{case.number}", f"当前状态：{public_status(case).label}"]
    if case.state == State.CLOSED:
        lines.append(f"办结时间：{_date(case.closed_at)}")
        if case.outcome == Outcome.DUPLICATE and case.duplicate_of is not None:
            number = case.duplicate_of.number
            lines.append(f"办理结果：与编号 {number} 的举报为同一事项，合并办理。")
            lines.append(f"回复“查询 {number}”查看该件进度。")
        else:
            if case.outcome == Outcome.HANDED_OVER and case.handover_agency is not None:
                lines.append(f"已移交：{case.handover_agency.name}")
            reply = approved_reply_of(case=case) if with_reply else None
            if reply is not None:
                lines.append("办理结果：\n" + reply.public_text())
    else:
        lines.append(f"负责机构：{case.agency.name}")
        if case.state in (State.RECEIVED, State.ESCALATED):
            lines.append(f"确认期限：{_date(case.confirm_due)}")
        elif case.close_due:
            lines.append(f"办结期限：{_date(case.close_due)}")
            if case.extension_days:
                lines.append(f"（已延期{case.extension_days}日）")
    return "\n".join(lines)


def merged_case_status(case: Case) -> str:
    """What the reporter of a duplicate may know of the case it was merged into (Art. 14): its public
    status and summary only; its description and answer are its own reporter's (Art. 17)."""
    status = public_status(case)
    lines = [f"举报编号：{case.number}（您的举报已并入此件办理）", f"当前状态：{status.label}"]
    if case.state == State.CLOSED:
        lines.append(f"办结时间：{_date(case.closed_at)}")
    else:
        lines.append(f"负责机构：{case.agency.name}")
        if case.close_due and case.state not in (State.RECEIVED, State.ESCALATED):
            lines.append(f"办结期限：{_date(case.close_due)}")
    lines.append(f"反映事项：{public_summary(case)}")
    lines.append(texts.MERGED_PRIVACY + ("" if case.state == State.CLOSED else texts.MERGED_PROMISE))
    return "\n".join(lines)
