"""Writes to cases: intake from any channel and every workflow action (DESIGN §10: ``<entity>_<action>``).

Views, the WeChat callback, the H5 portal, the API and the demo data all create and change cases here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from eco12369.orgs.models import Agency, Department, Region, User

from . import deadlines, notices
from .models import (
    Attachment,
    Case,
    CaseEvent,
    CaseNumberSequence,
    Category,
    Channel,
    Extension,
    Kind,
    Outcome,
    Reply,
    State,
    SupervisionOrder,
)
from .workflow import TransitionError, refresh_deadline_fields, transition


# --------------------------------------------------------------------------------------------- intake
@dataclass
class Intake:
    """What any channel knows about a new report."""

    channel: str
    description: str
    kind: str = Kind.REPORT
    category: str = Category.OTHER
    district: Region | None = None
    reported_party: str = ""
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    occurred_at: dt.datetime | None = None
    reporter_name: str = ""
    reporter_phone: str = ""
    reporter_openid: str = ""
    anonymous: bool = False
    photos: list[UploadedFile] = field(default_factory=list)
    received_at: dt.datetime | None = None


def case_number_next(*, day: dt.date) -> str:
    """TJ20261125000123: prefix, the day of receipt, and that day's sequence. Must run in a transaction."""
    CaseNumberSequence.objects.get_or_create(day=day)
    CaseNumberSequence.objects.filter(day=day).update(last=F("last") + 1)
    last = CaseNumberSequence.objects.select_for_update().values_list("last", flat=True).get(day=day)
    return f"{settings.ECO['CASE_NUMBER_PREFIX']}{day:%Y%m%d}{last:06d}"


def owning_agency_for(district: Region | None) -> Agency:
    """A report with a known district goes to that district's bureau; otherwise to the city centre."""
    if district is not None:
        bureau = Agency.objects.filter(region=district, kind=Agency.Kind.DISTRICT_BUREAU).first()
        if bureau is not None:
            return bureau
    return Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)


def case_create(*, intake: Intake) -> Case:
    """Create a case from any channel, with its number, confirmation deadline, first timeline event and
    (for WeChat reporters) the acknowledgement in the outbox, all in one transaction."""
    from eco12369.wechat.services import outbox_write

    description = intake.description.strip()
    if not description:
        raise TransitionError("请填写举报内容。")
    received_at = intake.received_at or timezone.now()
    agency = owning_agency_for(intake.district)
    region = intake.district or agency.region
    confirm = deadlines.confirmation_deadline(received_at)
    with transaction.atomic():
        case = Case(
            number=case_number_next(day=deadlines.local_date(received_at)),
            channel=intake.channel,
            kind=intake.kind,
            category=intake.category,
            region=region,
            agency=agency,
            reported_party=intake.reported_party.strip()[:200],
            address=intake.address.strip()[:300],
            latitude=intake.latitude,
            longitude=intake.longitude,
            occurred_at=intake.occurred_at,
            description=description,
            reporter_name="" if intake.anonymous else intake.reporter_name.strip()[:200],
            reporter_phone="" if intake.anonymous else intake.reporter_phone.strip()[:200],
            reporter_openid=intake.reporter_openid,
            anonymous=intake.anonymous,
            received_at=received_at,
            confirm_due=confirm.at,
            deadline_provisional=confirm.provisional,
        )
        refresh_deadline_fields(case)
        case.save()
        for photo in intake.photos:
            Attachment.objects.create(
                case=case,
                file=photo,
                original_name=(photo.name or "")[:200],
                content_type=photo.content_type or "application/octet-stream",
                size=photo.size or 0,
            )
        CaseEvent.objects.create(
            case=case,
            action="receive",
            at=received_at,
            to_state=State.RECEIVED,
            note=f"通过{Channel(intake.channel).label}接收",
            data={"agency": agency.name},
        )
        if case.reporter_openid:
            outbox_write(case=case, template="acknowledged", text=notices.acknowledged(case))
    return case


# ------------------------------------------------------------------------------------ confirmation
def _set_classification(case: Case, kind: str | None, category: str | None) -> None:
    if kind:
        case.kind = Kind(kind)
    if category:
        case.category = Category(category)


def case_accept(
    *, case: Case, actor: User, kind: str | None = None, category: str | None = None, note: str = ""
) -> Case:
    from eco12369.wechat.services import outbox_write

    def effect(c: Case) -> dict[str, Any]:
        _set_classification(c, kind, category)
        now = timezone.now()
        c.accepted_at = now
        due = deadlines.closing_deadline(now, c.extension_days)
        c.close_due = due.at
        c.deadline_provisional = due.provisional
        if c.reporter_openid:
            outbox_write(case=c, template="accepted", text=notices.accepted(c))
        return {"close_due": timezone.localtime(due.at).isoformat()}

    return transition(case=case, actor=actor, action="accept", fields={}, effect=effect, note=note)


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
        _set_classification(c, kind, category)
        reply = _draft_reply(c, actor, Reply.Kind.ANSWER, State(c.state), text=text)
        return {"reply": reply.pk}

    return transition(case=case, actor=actor, action="answer", fields={"text": text}, effect=effect)


def case_hand_over(*, case: Case, actor: User, handover_agency: Agency | None, text: str) -> Case:
    """Art. 8: another authority's responsibility: hand over, and tell the reporter once reviewed."""

    def effect(c: Case) -> dict[str, Any]:
        assert handover_agency is not None
        if handover_agency.kind != Agency.Kind.OUTSIDE:
            raise TransitionError("只能移交给环保部门以外的机构；本系统内的改派请使用“改派”。")
        c.handover_agency = handover_agency
        reply = _draft_reply(c, actor, Reply.Kind.HANDOVER, State(c.state), text=text)
        return {"handover_agency": handover_agency.name, "reply": reply.pk}

    return transition(
        case=case,
        actor=actor,
        action="hand_over",
        fields={"handover_agency": handover_agency, "text": text},
        effect=effect,
    )


def case_escalate(*, case: Case, actor: User, reason: str) -> Case:
    """Art. 8: beyond this level's powers: ask the city centre to coordinate."""

    def effect(c: Case) -> dict[str, Any]:
        if c.agency.is_city_centre:
            raise TransitionError("市举报受理中心已是最高协调层级，无需申请上级协调。")
        c.agency = Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)
        c.department = None
        return {"reason": reason}

    return transition(case=case, actor=actor, action="escalate", fields={"reason": reason}, effect=effect, note=reason)


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
        if target_agency.kind == Agency.Kind.DISTRICT_BUREAU:
            c.region = target_agency.region
        return {"from": source, "to": target_agency.name, "reason": reason}

    return transition(
        case=case,
        actor=actor,
        action="reroute",
        fields={"target_agency": target_agency, "reason": reason},
        effect=effect,
        note=reason,
    )


def case_mark_duplicate(*, case: Case, actor: User, duplicate_of: Case | None) -> Case:
    """Art. 14: the same matter was reported before; close and point the reporter to the earlier case."""
    from eco12369.wechat.services import outbox_write

    def effect(c: Case) -> dict[str, Any]:
        assert duplicate_of is not None
        if duplicate_of.pk == c.pk:
            raise TransitionError("不能将举报件标记为与自身重复。")
        if duplicate_of.received_at > c.received_at:
            raise TransitionError("只能标记为与更早的举报件重复。")
        c.duplicate_of = duplicate_of
        c.outcome = Outcome.DUPLICATE
        c.closed_at = timezone.now()
        if c.reporter_openid:
            outbox_write(case=c, template="duplicate", text=notices.duplicate(c, duplicate_of))
        return {"duplicate_of": duplicate_of.number}

    return transition(
        case=case, actor=actor, action="mark_duplicate", fields={"duplicate_of": duplicate_of}, effect=effect
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
        case=case, actor=actor, action="assign", fields={"department": department}, effect=effect, note=note
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
) -> Case:
    """Art. 9, 10: the handling department's reply with its five required parts."""
    parts = {
        "party_facts": party_facts,
        "inspection": inspection,
        "violations": violations,
        "decision": decision,
        "communication": communication,
    }

    def effect(c: Case) -> dict[str, Any]:
        reply = _draft_reply(c, actor, Reply.Kind.HANDLING, State.HANDLING, **parts)
        return {"reply": reply.pk}

    return transition(case=case, actor=actor, action="submit_reply", fields=parts, effect=effect)


def _pending_reply(case: Case) -> Reply:
    reply = case.replies.filter(status=Reply.Status.SUBMITTED).order_by("-submitted_at", "-id").first()
    if reply is None:
        raise TransitionError("没有待审核的答复意见。")
    return reply


def case_approve(*, case: Case, actor: User, note: str = "") -> Case:
    """Art. 11: the reviewer approves the reply; the case closes and the reporter receives the reply."""
    from eco12369.wechat.services import outbox_write

    def effect(c: Case) -> dict[str, Any]:
        reply = _pending_reply(c)
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
        return {"reply": reply.pk, "outcome": c.outcome}

    return transition(case=case, actor=actor, action="approve", fields={}, effect=effect, note=note)


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

    return transition(case=case, actor=actor, action="return", fields={"note": note}, effect=effect, note=note)


# ------------------------------------------------------------------------------------ extensions
def _extension_days_used(case: Case) -> int:
    statuses = (Extension.Status.APPROVED, Extension.Status.PENDING)
    return case.extensions.filter(status__in=statuses).aggregate(total=Sum("days"))["total"] or 0


def case_request_extension(*, case: Case, actor: User, days: int | None, reason: str) -> Case:
    """Art. 12: ask the head for more time, with a reason; at most 30 days in total."""
    max_days = settings.ECO["MAX_EXTENSION_DAYS"]

    def effect(c: Case) -> dict[str, Any]:
        assert days is not None
        if days < 1:
            raise TransitionError("延长天数至少为1天。")
        if c.extensions.filter(status=Extension.Status.PENDING).exists():
            raise TransitionError("已有待批准的延期申请。")
        used = _extension_days_used(c)
        if used + days > max_days:
            raise TransitionError(f"延期总计不得超过{max_days}日，已延期{used}日，最多还可申请{max_days - used}日。")
        ext = Extension.objects.create(
            case=c, days=days, reason=reason.strip(), requested_by=actor, requested_at=timezone.now()
        )
        return {"extension": ext.pk, "days": days, "reason": reason}

    return transition(
        case=case,
        actor=actor,
        action="request_extension",
        fields={"days": days, "reason": reason},
        effect=effect,
        note=reason,
    )


def case_decide_extension(
    *, case: Case, actor: User, extension: Extension | None, approved: bool, note: str = ""
) -> Case:
    """Art. 12: the head approves (the closing deadline moves, the reporter is told) or rejects."""
    from eco12369.wechat.services import outbox_write

    max_days = settings.ECO["MAX_EXTENSION_DAYS"]

    def effect(c: Case) -> dict[str, Any]:
        assert extension is not None
        ext = Extension.objects.select_for_update().get(pk=extension.pk)
        if ext.case_id != c.pk or ext.status != Extension.Status.PENDING:
            raise TransitionError("该延期申请不存在或已处理。")
        ext.decided_by = actor
        ext.decided_at = timezone.now()
        ext.decision_note = note
        if approved:
            if c.extension_days + ext.days > max_days:
                raise TransitionError(f"延期总计不得超过{max_days}日。")
            ext.status = Extension.Status.APPROVED
            c.extension_days += ext.days
            assert c.accepted_at is not None
            due = deadlines.closing_deadline(c.accepted_at, c.extension_days)
            c.close_due = due.at
            c.deadline_provisional = due.provisional
            if c.reporter_openid:
                outbox_write(case=c, template="extended", text=notices.extended(c, ext.days, ext.reason))
        else:
            ext.status = Extension.Status.REJECTED
        ext.save()
        return {"extension": ext.pk, "approved": approved, "days": ext.days}

    return transition(
        case=case,
        actor=actor,
        action="decide_extension",
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
            case=c, issued_by=actor, issued_at=timezone.now(), instruction=instruction.strip(), answer_due=answer_due
        )
        return {"order": order.pk, "answer_due": answer_due.isoformat()}

    return transition(
        case=case,
        actor=actor,
        action="supervise",
        fields={"instruction": instruction, "answer_due": answer_due},
        effect=effect,
        note=instruction,
    )


def case_answer_supervision(
    *, case: Case, actor: User, order: SupervisionOrder | None, answer: str
) -> Case:
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
        action="answer_supervision",
        fields={"order": order, "answer": answer},
        effect=effect,
        note=answer,
    )
