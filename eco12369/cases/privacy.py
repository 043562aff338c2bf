"""Reporter confidentiality (Art. 17, PIPL): who may read a reporter's name and phone, and how they are
masked for everyone else. Reusable by any page or export that shows reporter data.

Masked for everyone by default (张*, 138****1234), also for the staff who may see them in clear: those
reveal them with one click that asks for a reason, and every reveal is written to the audit trail
(``reporter_reveal``). The openid is never shown to anyone (only whether one is linked).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record
from eco12369.errors import Refused
from eco12369.orgs.models import Role, User

from .models import Case

ANONYMOUS_LABEL = "匿名"
ERASED_LABEL = "已按保存期限删除"
REASON_MAX = 200


class RevealRefused(Refused):
    """A refused reveal of the reporter's identity (403: not allowed, or not before the second factor;
    422 when the reason is missing or too long)."""

    status = HTTPStatus.FORBIDDEN


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***; empty stays empty."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


MOBILE_DIGITS = 11  # a mobile (13812341234) or a landline with its area code (022-23456789)
PHONE_TAIL_MAX = 4  # never more than the last four digits of a number shown
PHONE_HIDDEN_MIN = 4  # at least four digits of any number hidden


def mask_phone(phone: str) -> str:
    """13812341234 → 138****1234 (11 digits or more: the first three characters and the last four);
    shorter numbers show only a tail of their last digits, so that at least half of the digits and at
    least four are hidden: 23456789 → ****6789, 2345678 → ****678, 12369 → ****9, 1234 → ****.
    Every masked character is one star (the length shows, the number does not)."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    digits = sum(ch.isdigit() for ch in phone)
    if digits >= MOBILE_DIGITS:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    hidden = max(PHONE_HIDDEN_MIN, (digits + 1) // 2)
    shown = min(PHONE_TAIL_MAX, max(digits - hidden, 0))
    if shown == 0:
        return "*" * len(phone)
    # The tail starts at the first of the last ``shown`` digits: what follows it (an extension's
    # separator, say) stays, everything before it is a star.
    start = [i for i, ch in enumerate(phone) if ch.isdigit()][-shown]
    return "*" * start + phone[start:]


def reporter_visible_to(*, user: User, case: Case) -> bool:
    """Whether ``user`` may reveal the reporter's name and phone of ``case`` (with a reason, audited).

    Least privilege: only the two roles whose work is to talk to the reporter.
    - The platform operator (平台操作人员) of the agency that owns the case now (a district bureau, or the
      city centre for the cases it owns): Art. 7 has them confirm every report, which may mean calling
      the reporter to clarify the place or the facts.
    - The handler (承办人员) of the handling department the case is assigned to: Art. 10 requires the
      reply to record the communication with the reporter (与举报人沟通答复情况), so they call the reporter.
    Not the reviewers and heads (they judge the reply, they need no contact), not the city centre for a
    district's case (supervision and spot checks are about the handling, not the person; the district
    that owns it does the contacting), never the administrator or the auditor (no case content).
    """
    if not isinstance(user, User) or not user.is_authenticated or not user.is_active:
        return False
    if user.agency_id is None or user.agency_id != case.agency_id:
        return False
    if user.has_role(Role.OPERATOR):
        return True
    return bool(
        user.has_role(Role.HANDLER)
        and case.department_id is not None
        and user.department_id == case.department_id
    )


def _has_identity(case: Case) -> bool:
    return bool(case.reporter_name or case.reporter_phone)


def reporter_display(*, user: User, case: Case, revealed: bool = False) -> dict[str, Any]:
    """The reporter's name and phone as ``user`` may see them now: masked unless ``revealed`` (by
    ``reporter_reveal``, which checks the right and writes the audit entry), and whether they may reveal."""
    if case.reporter_erased_at is not None:
        return {"name": ERASED_LABEL, "phone": "", "masked": False, "can_reveal": False, "erased": True}
    if case.anonymous:
        return {"name": ANONYMOUS_LABEL, "phone": "", "masked": False, "can_reveal": False, "erased": False}
    allowed = reporter_visible_to(user=user, case=case)
    if revealed and allowed:
        return {
            "name": case.reporter_name,
            "phone": case.reporter_phone,
            "masked": False,
            "can_reveal": False,
            "erased": False,
            "revealed": True,
        }
    return {
        "name": mask_name(case.reporter_name),
        "phone": mask_phone(case.reporter_phone),
        "masked": _has_identity(case),
        "can_reveal": allowed and _has_identity(case),
        "erased": False,
    }


def _second_factor_verified(user: User) -> bool:
    """Whether this sign-in passed TOTP (django-otp's middleware gives the user ``is_verified``)."""
    verified = getattr(user, "is_verified", None)
    return bool(verified is not None and verified())


def _reveal_check(*, user: User, case: Case, reason: str) -> None:
    """Raise ``RevealRefused`` (its message in Chinese) unless ``user`` may reveal now, for ``reason``."""
    if not reporter_visible_to(user=user, case=case):
        raise RevealRefused("您无权查看该举报人的完整信息（第十七条：举报人信息保密）。")
    if case.anonymous or case.reporter_erased_at is not None or not _has_identity(case):
        raise RevealRefused("该举报件没有可查看的举报人信息。")
    if getattr(settings, "ECO_OTP_ENFORCE", True) and not _second_factor_verified(user):
        # Issue 11, L5: in production every reveal needs a verified second factor, whatever the role
        # (operators and handlers sign in with a password only; they enrol when they first reveal).
        raise RevealRefused(
            "查看举报人完整信息须先通过动态口令验证：请在“动态口令”页面（/account/otp/verify/）"
            "绑定或验证后再查看。"
        )
    if len(reason) < 2:
        raise RevealRefused(
            "请填写查看理由（例如：电话核实举报地点）。", status=HTTPStatus.UNPROCESSABLE_ENTITY
        )
    if len(reason) > REASON_MAX:
        raise RevealRefused(f"查看理由不能超过{REASON_MAX}字。", status=HTTPStatus.UNPROCESSABLE_ENTITY)


def reporter_reveal(
    *, user: User, case: Case, reason: str, request: HttpRequest | None = None
) -> dict[str, Any]:
    """Show ``user`` the reporter's name and phone in clear, for ``reason``; written to the audit trail
    (action ``reveal``, with the reason) before anything is returned. Refused without the right or a reason;
    a refusal is written as well (action ``reveal_refused``: actor, case, the refusal and the reason given)."""
    reason = " ".join((reason or "").split())
    try:
        _reveal_check(user=user, case=case, reason=reason)
    except RevealRefused as refused:
        # A refused reveal is written too (issue 11, L4): who tried, on which case, why it was refused.
        audit_record(
            action=AuditAction.REVEAL_REFUSED,
            actor=user,
            object_type="case",
            object_id=case.number,
            detail={"refusal": refused.message, "reason": reason[:REASON_MAX]},
            request=request,
        )
        raise
    audit_record(
        action=AuditAction.REVEAL,
        actor=user,
        object_type="case",
        object_id=case.number,
        detail={"reason": reason, "fields": ["reporter_name", "reporter_phone"]},
        request=request,
    )
    return reporter_display(user=user, case=case, revealed=True)
