"""Every workflow action on a case after intake (confirmation, handling, review, extensions, supervision,
reopening, the reporter's withdrawal and supplements), each one ``workflow.transition`` with its effect
(DESIGN §10: ``case_<action>``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record
from eco12369.crypto import blind_index
from eco12369.notifications.services import outbox_write
from eco12369.orgs.models import Agency, Department, User

from .. import deadlines, notices
from ..events import case_event_record
from ..models import (
    CONFIRMATION_STATES,
    Action,
    Case,
    CaseEvent,
    Category,
    Extension,
    Kind,
    Outcome,
    Reply,
    State,
    SupervisionOrder,
)
from ..selectors import cases_visible_to
from ..workflow import (
    TransitionError,
    extension_days_used,
    pending_reply,
    transition,
)
from .intake import attachment_add
from .outbound import outbound_check, public_summary_checked, require_finished


# ------------------------------------------------------------------------------------ confirmation
def _set_classification(case: Case, kind: str | None, category: str | None) -> None:
    if kind:
        case.kind = Kind(kind)
    if category:
        case.category = Category(category)


OUT_OF_SCOPE_REFUSAL = (
    "污染类别为“其他”，不在第六条所列受理范围（工业企业超标排放大气污染物、水污染物、噪声，"
    "非法排放、转移、倾倒、处置危险废物）内。请改选污染类别；确属环境保护主管部门职责的，勾选"
    "“确认属于受理范围”后受理；不属于的，请“直接答复”，或“移交其他部门”并告知举报人承办机构（第七条、第八条）。"
)


def case_accept(
    *,
    case: Case,
    actor: User,
    kind: str | None = None,
    category: str | None = None,
    note: str = "",
    scope_confirmed: bool = False,
) -> Case:
    """Art. 6, 7: accept a report within the bureau's remit. A report of one of the categories Art. 6 lists
    is in scope (``Case.in_scope``); any other report only when the operator confirms it is the bureau's
    responsibility (``scope_confirmed``, recorded on the timeline). Out of scope: answer or hand over."""

    def effect(c: Case) -> dict[str, Any]:
        _set_classification(c, kind, category)
        if c.kind != Kind.REPORT:
            raise TransitionError("只有举报类事项可以受理；咨询、建议等事项请直接答复（第七条）。")
        if not c.in_scope and not scope_confirmed:
            raise TransitionError(OUT_OF_SCOPE_REFUSAL)
        now = timezone.now()
        c.accepted_at = now
        due = deadlines.closing_deadline(now, c.extension_days)
        c.close_due = due.at
        c.deadline_provisional = due.provisional
        if c.reporter_openid:
            outbox_write(case=c, template="accepted", text=notices.accepted(c))
        data: dict[str, Any] = {"close_due": timezone.localtime(due.at).isoformat()}
        if not c.in_scope:
            data["scope"] = "操作人员确认属于环境保护主管部门职责范围"
        return data

    return transition(case=case, actor=actor, action=Action.ACCEPT, fields={}, effect=effect, note=note)


def _draft_reply(case: Case, actor: User, kind: str, return_state: str, **parts: str) -> Reply:
    return Reply.objects.create(
        case=case,
        kind=kind,
        return_state=return_state,
        drafted_by=actor,
        submitted_at=timezone.now(),
        **{name: value.strip() for name, value in parts.items()},
    )


def case_answer(
    *, case: Case, actor: User, text: str, kind: str | None = None, category: str | None = None
) -> Case:
    """Art. 7: out of scope, consultations, suggestions: an answer, reviewed before it is sent."""

    def effect(c: Case) -> dict[str, Any]:
        outbound_check({"text": text})
        require_finished({"text": text})
        _set_classification(c, kind, category)
        reply = _draft_reply(c, actor, Reply.Kind.ANSWER, State(c.state), text=text)
        return {"reply": reply.pk}

    return transition(case=case, actor=actor, action=Action.ANSWER, fields={"text": text}, effect=effect)


def case_hand_over(*, case: Case, actor: User, handover_agency: Agency | None, text: str) -> Case:
    """Art. 8: another authority's responsibility: hand over, and tell the reporter once reviewed."""

    def effect(c: Case) -> dict[str, Any]:
        assert handover_agency is not None
        if handover_agency.kind != Agency.Kind.OUTSIDE:
            raise TransitionError("只能移交给环保部门以外的机构；本系统内的改派请使用“改派”。")
        outbound_check({"text": text})
        require_finished({"text": text})
        c.handover_agency = handover_agency
        reply = _draft_reply(c, actor, Reply.Kind.HANDOVER, State(c.state), text=text)
        return {"handover_agency": handover_agency.name, "reply": reply.pk}

    return transition(
        case=case,
        actor=actor,
        action=Action.HAND_OVER,
        fields={"handover_agency": handover_agency, "text": text},
        effect=effect,
    )


def case_escalate(*, case: Case, actor: User, reason: str) -> Case:
    """Art. 8: beyond this level's powers: ask the city centre to coordinate."""

    def effect(c: Case) -> dict[str, Any]:
        source = c.agency.name
        c.agency = Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)
        c.department = None
        return {"from": source, "reason": reason, **_restart_confirmation(c)}

    return transition(
        case=case, actor=actor, action=Action.ESCALATE, fields={"reason": reason}, effect=effect, note=reason
    )


def _restart_confirmation(case: Case) -> dict[str, Any]:
    """The new owner has its own 2 working days to confirm what it receives (Art. 7: 市、区县两级平台)."""
    now = timezone.now()
    due = deadlines.confirmation_deadline(now)
    case.routed_at = now
    case.confirm_due = due.at
    case.deadline_provisional = due.provisional
    return {"confirm_due": timezone.localtime(due.at).isoformat()}


def case_reroute(*, case: Case, actor: User, target_agency: Agency | None, reason: str) -> Case:
    """Send a case to the bureau responsible for the place (属地管理), or back to the city centre."""

    def effect(c: Case) -> dict[str, Any]:
        assert target_agency is not None
        if not target_agency.handles_cases:
            raise TransitionError("只能改派给市举报受理中心或各区环境保护主管部门。")
        if target_agency.pk == c.agency_id:
            raise TransitionError("该举报件已由此机构负责。")
        source = c.agency.name
        c.agency = target_agency
        c.department = None
        # 属地管理: the case now belongs to the target's area (the city, when sent back to the centre),
        # so the sending district no longer sees it.
        c.region = target_agency.region
        return {"from": source, "to": target_agency.name, "reason": reason, **_restart_confirmation(c)}

    return transition(
        case=case,
        actor=actor,
        action=Action.REROUTE,
        fields={"target_agency": target_agency, "reason": reason},
        effect=effect,
        note=reason,
    )


DUPLICATE_ROOT_INVISIBLE = "目标举报件已并入您无权查看的举报件，不能标记为与其重复。"


def case_mark_duplicate(*, case: Case, actor: User, duplicate_of: Case | None) -> Case:
    """Art. 14: the same matter was reported before; close and point the reporter to the earlier case."""

    def effect(c: Case) -> dict[str, Any]:
        assert duplicate_of is not None
        if duplicate_of.pk == c.pk:
            raise TransitionError("不能将举报件标记为与自身重复。")
        visible = cases_visible_to(user=actor)
        if not visible.filter(pk=duplicate_of.pk).exists():
            raise TransitionError("未找到该编号的举报件。")
        # Point to the first report of the matter, not to another duplicate of it.
        original = duplicate_of
        while original.duplicate_of_id is not None:
            original = Case.objects.get(pk=original.duplicate_of_id)
        # The case is pointed at the root, and its reporter told the root's number and status: the actor must
        # see the root too (a district case the city centre merged into another district's case is not a
        # way into that district's cases).
        if original.pk != duplicate_of.pk and not visible.filter(pk=original.pk).exists():
            raise TransitionError(DUPLICATE_ROOT_INVISIBLE)
        if original.pk == c.pk:
            raise TransitionError("不能将举报件标记为与自身重复。")
        if (original.received_at, original.pk) > (c.received_at, c.pk):
            raise TransitionError("只能标记为与更早的举报件重复。")
        c.duplicate_of = original
        c.outcome = Outcome.DUPLICATE
        c.closed_at = timezone.now()
        if c.reporter_openid:
            outbox_write(case=c, template="duplicate", text=notices.duplicate(c, original))
        return {"duplicate_of": original.number}

    return transition(
        case=case,
        actor=actor,
        action=Action.MARK_DUPLICATE,
        fields={"duplicate_of": duplicate_of},
        effect=effect,
    )


# -------------------------------------------------------------------------------------- handling
def case_assign(*, case: Case, actor: User, department: Department | None, note: str = "") -> Case:
    """批转: hand the accepted case to a handling department of the owning bureau (Art. 7, 8)."""

    def effect(c: Case) -> dict[str, Any]:
        assert department is not None
        if department.agency_id != c.agency_id:
            raise TransitionError("只能批转给本机构的承办部门。")
        c.department = department
        return {"department": department.name}

    return transition(
        case=case,
        actor=actor,
        action=Action.ASSIGN,
        fields={"department": department},
        effect=effect,
        note=note,
    )


SEND_BACK_REASON_MAX = 500


def case_send_back(*, case: Case, actor: User, reason: str) -> Case:
    """退单 (issue 15): the handling department returns a case that is not its work to the bureau's operators,
    with a reason. The case is accepted again with no department (the operators assign it anew); the
    closing deadline runs on. The department is named in the event's data: the monthly report counts the
    returns per department."""
    reason = (reason or "").strip()
    if len(reason) > SEND_BACK_REASON_MAX:
        raise TransitionError(f"退单理由最多{SEND_BACK_REASON_MAX}个字。")

    def effect(c: Case) -> dict[str, Any]:
        department = c.department
        assert department is not None  # the rule's scope: the department the case is assigned to
        c.department = None
        return {"reason": reason, "department_id": department.pk, "department": department.name}

    return transition(
        case=case, actor=actor, action=Action.SEND_BACK, fields={"reason": reason}, effect=effect, note=reason
    )


def case_submit_reply(
    *,
    case: Case,
    actor: User,
    party_facts: str,
    inspection: str,
    violations: str,
    decision: str,
    communication: str,
    public_summary: str = "",
) -> Case:
    """Art. 9, 10: the handling department's reply with its five required parts, and (Art. 13) the
    drafted public summary of the case (optional; the reviewer approves or edits it)."""
    parts = {
        "party_facts": party_facts,
        "inspection": inspection,
        "violations": violations,
        "decision": decision,
        "communication": communication,
    }

    def effect(c: Case) -> dict[str, Any]:
        outbound_check(parts)
        require_finished(parts)
        summary = public_summary_checked(c, public_summary)
        reply = _draft_reply(c, actor, Reply.Kind.HANDLING, State.HANDLING, **parts, public_summary=summary)
        return {"reply": reply.pk, "public_summary": summary}

    return transition(case=case, actor=actor, action=Action.SUBMIT_REPLY, fields=parts, effect=effect)


def _pending_reply(case: Case) -> Reply:
    reply = pending_reply(case)
    if reply is None:  # the rule's guard has checked it under the lock; kept as a safety net
        raise TransitionError("没有待审核的答复意见。")
    return reply


def case_approve(*, case: Case, actor: User, note: str = "", public_summary: str | None = None) -> Case:
    """Art. 11: the reviewer approves the reply; the case closes and the reporter receives the reply.

    Art. 13: ``public_summary`` is the case's public summary as the reviewer approves it (possibly edited
    from the drafter's, empty: none, the disclosure shows a neutral line); None keeps the drafted one (or
    the case's current one). It is what the disclosure, the follow-up and the API publish."""

    def effect(c: Case) -> dict[str, Any]:
        reply = _pending_reply(c)
        proposed = (
            public_summary if public_summary is not None else (reply.public_summary or c.public_summary)
        )
        summary = public_summary_checked(c, proposed)
        edited = summary != reply.public_summary
        c.public_summary = summary
        if summary:
            # Who decided what the public reads about this case (the text has no personal data: checked).
            audit_record(
                action=AuditAction.CASE_PUBLIC_SUMMARY,
                actor=actor,
                object_type="case",
                object_id=c.number,
                detail={"summary": summary, "edited": edited},
            )
        reply.status = Reply.Status.APPROVED
        reply.reviewed_by = actor
        reply.reviewed_at = timezone.now()
        reply.review_note = note
        reply.save()
        c.closed_at = reply.reviewed_at
        if reply.kind == Reply.Kind.HANDLING:
            c.outcome, template, text = Outcome.HANDLED, "closed", notices.closed(c, reply.public_text())
        elif reply.kind == Reply.Kind.ANSWER:
            c.outcome, template, text = Outcome.ANSWERED, "answered", notices.answered(c, reply.public_text())
        else:
            c.outcome, template, text = Outcome.HANDED_OVER, "handed_over", notices.handed_over(c, reply.text)
        if c.reporter_openid:
            outbox_write(case=c, template=template, text=text, reply=reply)
        return {"reply": reply.pk, "outcome": c.outcome, "public_summary": summary, "summary_edited": edited}

    return transition(case=case, actor=actor, action=Action.APPROVE, fields={}, effect=effect, note=note)


def case_return(*, case: Case, actor: User, note: str) -> Case:
    """The reviewer sends the reply back with a note; the case returns to where the reply came from."""

    def effect(c: Case) -> dict[str, Any]:
        reply = _pending_reply(c)
        reply.status = Reply.Status.RETURNED
        reply.reviewed_by = actor
        reply.reviewed_at = timezone.now()
        reply.review_note = note
        reply.save()
        c.state = State(reply.return_state)
        if c.state != State.HANDLING:
            c.handover_agency = None
        return {"reply": reply.pk}

    return transition(
        case=case, actor=actor, action=Action.RETURN, fields={"note": note}, effect=effect, note=note
    )


# ------------------------------------------------------------------------------------ extensions
def case_request_extension(*, case: Case, actor: User, days: int | None, reason: str) -> Case:
    """Art. 12: ask the head for more time, with a reason; at most 30 days in total."""
    max_days = int(deadlines.setting("MAX_EXTENSION_DAYS"))

    def effect(c: Case) -> dict[str, Any]:
        assert days is not None
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise TransitionError("延长天数至少为1天。")
        # The reason is told to the reporter once the extension is approved (notices.extended).
        outbound_check({"reason": reason}, subject="延期理由")
        used = extension_days_used(c)
        if used + days > max_days:
            raise TransitionError(
                f"延期总计不得超过{max_days}日，已延期{used}日，最多还可申请{max_days - used}日。"
            )
        ext = Extension.objects.create(
            case=c, days=days, reason=reason.strip(), requested_by=actor, requested_at=timezone.now()
        )
        return {"extension": ext.pk, "days": days, "reason": reason.strip()}

    return transition(
        case=case,
        actor=actor,
        action=Action.REQUEST_EXTENSION,
        fields={"days": days, "reason": reason},
        effect=effect,
        note=reason.strip(),
    )


def case_decide_extension(
    *, case: Case, actor: User, extension: Extension | None, approved: bool, note: str = ""
) -> Case:
    """Art. 12: the head approves (the closing deadline moves, the reporter is told) or rejects."""
    max_days = int(deadlines.setting("MAX_EXTENSION_DAYS"))

    def effect(c: Case) -> dict[str, Any]:
        assert extension is not None
        ext = Extension.objects.select_for_update().get(pk=extension.pk)
        if ext.case_id != c.pk or ext.status != Extension.Status.PENDING:
            raise TransitionError("该延期申请不存在或已处理。")
        if ext.requested_by_id == actor.pk:
            raise TransitionError("不能审批本人提出的延期申请。")
        ext.decided_by = actor
        ext.decided_at = timezone.now()
        ext.decision_note = note
        data: dict[str, Any] = {"extension": ext.pk, "approved": bool(approved), "days": ext.days}
        if approved:
            if c.extension_days + ext.days > max_days:
                raise TransitionError(f"延期总计不得超过{max_days}日。")
            assert c.accepted_at is not None  # the guard allows extensions only after acceptance
            outbound_check(
                {"reason": ext.reason},
                subject="延期理由",
                ending="不能批准，请作“不予批准”处理，由申请人修改理由后重新申请。",
            )
            ext.status = Extension.Status.APPROVED
            c.extension_days += ext.days
            due = deadlines.closing_deadline(c.accepted_at, c.extension_days)
            c.close_due = due.at
            c.deadline_provisional = due.provisional
            data["close_due"] = timezone.localtime(due.at).isoformat()
            if c.reporter_openid:
                outbox_write(case=c, template="extended", text=notices.extended(c, ext.days, ext.reason))
        else:
            ext.status = Extension.Status.REJECTED
        ext.save()
        return data

    return transition(
        case=case,
        actor=actor,
        action=Action.DECIDE_EXTENSION,
        fields={"extension": extension, "approved": approved},
        effect=effect,
        note=note,
    )


# ------------------------------------------------------------------------------------ supervision
def case_supervise(*, case: Case, actor: User, instruction: str, answer_due: dt.date | None) -> Case:
    """Art. 14: the city centre orders the responsible bureau to act, by a date."""

    def effect(c: Case) -> dict[str, Any]:
        assert answer_due is not None
        if answer_due < timezone.localdate():
            raise TransitionError("回复期限不能早于今天。")
        order = SupervisionOrder.objects.create(
            case=c,
            issued_by=actor,
            issued_at=timezone.now(),
            instruction=instruction.strip(),
            answer_due=answer_due,
        )
        return {"order": order.pk, "answer_due": answer_due.isoformat()}

    return transition(
        case=case,
        actor=actor,
        action=Action.SUPERVISE,
        fields={"instruction": instruction, "answer_due": answer_due},
        effect=effect,
        note=instruction,
    )


def case_answer_supervision(*, case: Case, actor: User, order: SupervisionOrder | None, answer: str) -> Case:
    """Art. 14: the responsible bureau reports back on a supervision order."""

    def effect(c: Case) -> dict[str, Any]:
        assert order is not None
        locked = SupervisionOrder.objects.select_for_update().get(pk=order.pk)
        if locked.case_id != c.pk or locked.answered_at is not None:
            raise TransitionError("该督办单不存在或已回复。")
        locked.answer = answer.strip()
        locked.answered_by = actor
        locked.answered_at = timezone.now()
        locked.save()
        return {"order": locked.pk}

    return transition(
        case=case,
        actor=actor,
        action=Action.ANSWER_SUPERVISION,
        fields={"order": order, "answer": answer},
        effect=effect,
        note=answer,
    )


# ------------------------------------------------------------------------------------ follow-up
def case_reopen(*, case: Case, actor: User, reason: str) -> Case:
    """The city centre sends a closed case back to its bureau to be handled again, with a reason (issue #7:
    the reporter was not satisfied with the answer). Back to the handling department when one was
    assigned, else to the bureau's operators to assign (accepted); the outcome and closing time are cleared
    and the reporter is told.

    Deadline: re-handling is a new acceptance for handling, so the 60 days of Art. 12 run again from the
    reopening (``accepted_at`` moves to now; the first acceptance stays on the timeline and in this event's
    data). Extension days already approved stay counted: they keep extending the new period and the
    30-day cap stays per case. Keeping the closing deadline derived from ``accepted_at`` and the approved
    extensions means extensions and calendar recomputes work on a reopened case unchanged; keeping the
    old deadline instead would make most reopened cases overdue the moment they are reopened.
    """

    def effect(c: Case) -> dict[str, Any]:
        now = timezone.now()

        def local(value: dt.datetime | None) -> str:
            return timezone.localtime(value).isoformat() if value else ""

        data: dict[str, Any] = {
            "reason": reason.strip(),
            "outcome": c.outcome,
            "closed_at": local(c.closed_at),
            "accepted_at": local(c.accepted_at),
            "previous_close_due": local(c.close_due),
        }
        c.state = State.HANDLING if c.department_id is not None else State.ACCEPTED
        c.outcome = ""
        c.closed_at = None
        c.handover_agency = None
        c.accepted_at = now
        due = deadlines.closing_deadline(now, c.extension_days)
        c.close_due = due.at
        c.deadline_provisional = due.provisional
        data["close_due"] = timezone.localtime(due.at).isoformat()
        if c.reporter_openid:
            outbox_write(case=c, template="accepted", text=notices.reopened(c))
        return data

    return transition(
        case=case,
        actor=actor,
        action=Action.REOPEN,
        fields={"reason": reason},
        effect=effect,
        note=reason.strip(),
    )


# ------------------------------------------------------------------------------------ the reporter
WITHDRAW_REASON_MAX = 500
SUPPLEMENT_TEXT_MAX = 2000
MAX_CASE_PHOTOS = 18  # what intake allows (9) and as many again added later


def case_withdraw(*, case: Case, openid: str, reason: str) -> Case:
    """Issue 14: the reporter withdraws (撤回) their own report before it is accepted, with a reason. The case
    closes with the outcome "withdrawn" through the state machine: it stays, with the reason on its timeline,
    and counts in the monthly report; the operators no longer have to confirm it. The reporter's WeChat
    gets a notice of it through the outbox (``notices.withdrawn``)."""
    reason = (reason or "").strip()
    if len(reason) > WITHDRAW_REASON_MAX:
        raise TransitionError(f"撤回理由最多{WITHDRAW_REASON_MAX}个字。")

    def effect(c: Case) -> dict[str, Any]:
        c.outcome = Outcome.WITHDRAWN
        c.closed_at = timezone.now()
        if c.reporter_openid:  # a WeChat reporter is told, through the outbox, in this transaction
            outbox_write(case=c, template="withdrawn", text=notices.withdrawn(c, reason))
        return {"reason": reason, "outcome": Outcome.WITHDRAWN}

    return transition(
        case=case,
        actor=None,
        reporter=openid,
        action=Action.WITHDRAW,
        fields={"reason": reason},
        effect=effect,
        note=reason,
    )


BIND_DONE = "bound"  # bound to this WeChat now
BIND_ALREADY = "already"  # bound to this WeChat before
BIND_OTHER = "other"  # the case has a WeChat reporter already (another account): nothing changes
BIND_ERASED = "erased"  # the reporter's data was erased (retention): nothing is bound any more


def case_reporter_bind(*, case: Case, openid: str) -> str:
    """Issue 14: a caller who phoned the report in (or a reporter of another channel without WeChat) gave
    the case's number and query code in WeChat: the case is bound to that WeChat, so the notices of the
    case (accepted, extended, the approved answer…) reach them through the outbox as a WeChat reporter's
    do, and it shows in their 我的举报. Only a case with no WeChat reporter is bound; never re-bound to
    another account. A timeline line and an audit entry record the binding (never the openid)."""
    if not openid:
        raise TransitionError("缺少微信标识。")
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        if locked.reporter_erased_at is not None:
            return BIND_ERASED
        if locked.reporter_openid_digest:
            return BIND_ALREADY if locked.reporter_openid_digest == blind_index(openid) else BIND_OTHER
        locked.reporter_openid = openid
        locked.save(update_fields=["reporter_openid", "reporter_openid_digest", "updated_at"])
        case_event_record(
            case=locked,
            action=Action.BIND_WECHAT,
            note="举报人凭编号和查询码在微信中查询，已绑定其微信，办理进度通知将发至该微信",
            data={"channel": locked.channel},
        )
        audit_record(
            action=f"case.{Action.BIND_WECHAT}",
            actor_label="举报人本人·微信",
            object_type="case",
            object_id=locked.number,
            detail={"channel": locked.channel},
        )
    case.reporter_openid = openid
    case.reporter_openid_digest = locked.reporter_openid_digest
    return BIND_DONE


def case_supplement(*, case: Case, openid: str, text: str, photos: Iterable[UploadedFile] = ()) -> CaseEvent:
    """Issue 14: the reporter adds text or photos (补充材料) to their own report until it is accepted. No state
    change: a timeline line with the text, the photos stored with the case (cleaned by the caller's check,
    as intake's are), and an audit entry."""
    text = (text or "").strip()
    photos = list(photos)
    if not text and not photos:
        raise TransitionError("请填写补充内容或选择照片。")
    if len(text) > SUPPLEMENT_TEXT_MAX:
        raise TransitionError(f"补充内容最多{SUPPLEMENT_TEXT_MAX}个字。")
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        if not openid or blind_index(openid) != locked.reporter_openid_digest:
            raise TransitionError("只能为本人提交的举报补充材料。")
        if locked.state not in CONFIRMATION_STATES:
            raise TransitionError("举报件已受理，不能再补充材料；如有新情况，请提交新的举报。")
        room = MAX_CASE_PHOTOS - locked.attachments.count()
        if len(photos) > room:
            raise TransitionError(f"每件举报最多{MAX_CASE_PHOTOS}张照片，还可补充{max(room, 0)}张。")
        added = [attachment_add(case=locked, photo=photo) for photo in photos]
        event = case_event_record(
            case=locked,
            action=Action.SUPPLEMENT,
            note=text,
            data={"photos": [a.pk for a in added]},
        )
        audit_record(
            action=f"case.{Action.SUPPLEMENT}",
            actor_label="举报人本人",
            object_type="case",
            object_id=locked.number,
            detail={"photos": len(added), "text_chars": len(text)},
        )
    return event
