"""Writes of the follow-up features (DESIGN §10: ``<entity>_<action>``, keyword-only, atomic).

State changes go through ``cases.services`` (``case_reopen``); the rest writes the follow-up's own rows
and, where the case's record should show it, a timeline event (no state change: from = to).
"""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record
from eco12369.cases import notices
from eco12369.cases.events import case_event_record
from eco12369.cases.models import OPEN_STATES, Action, Case, CaseEvent, Category, Channel, Kind
from eco12369.cases.public import public_status
from eco12369.cases.services import case_reopen
from eco12369.crypto import blind_q
from eco12369.errors import Refused
from eco12369.notifications.services import outbox_write
from eco12369.orgs.models import User
from eco12369.plaintext import text_clean

from . import access, texts
from .models import Follow, Rating, ReplyTemplate
from .selectors import follow_of, rating_refusal
from .templating import normalise, placeholder_errors, template_check

COMMENT_MAX = 500
NOTE_MAX = 500
FOLLOW_NOTE_MARK = "。补充说明："  # the follow event's note: "<fixed text>。补充说明：<the follower's note>"
REVIEW_TEXT_MAX = 2000  # a reopen reason or a dismissal note

REOPEN_REASON_MISSING = "请填写重新交办的理由。"
REOPEN_REASON_TOO_LONG = f"重新交办的理由最多{REVIEW_TEXT_MAX}个字。"
DISMISS_NOTE_MISSING = "请填写不予重办的说明。"
DISMISS_NOTE_TOO_LONG = f"不予重办的说明最多{REVIEW_TEXT_MAX}个字。"


class FollowupError(Refused):
    """A refused follow-up action (rating, following, review list)."""


def _event(
    case: Case, action: Action, note: str, data: dict[str, Any], actor: User | None = None
) -> CaseEvent:
    return case_event_record(case=case, action=action, actor=actor, note=note, data=data)


# ------------------------------------------------------------------------------------------ ratings
def rating_submit(*, case: Case, openid: str, level: str, comment: str = "", channel: str) -> Rating:
    """The reporter rates the answer of their closed case, once per closing, within the rating window (a
    case reopened and closed again can be rated again; the new rating becomes the case's latest, the one
    the figures count). An unsatisfied rating goes on the city centre's review list."""
    comment = (comment or "").strip()
    if level not in Rating.Level.values:
        raise FollowupError(texts.BAD_LEVEL, status=HTTPStatus.UNPROCESSABLE_ENTITY)
    if len(comment) > COMMENT_MAX:
        raise FollowupError(
            texts.COMMENT_TOO_LONG.format(max=COMMENT_MAX), status=HTTPStatus.UNPROCESSABLE_ENTITY
        )
    if channel not in Rating.Channel.values:
        raise ValueError(f"unknown rating channel {channel}")
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).select_related("duplicate_of").get(pk=case.pk)
        if not openid or locked.reporter_openid != openid:
            raise FollowupError(texts.NOT_OWN, status=HTTPStatus.FORBIDDEN)
        reason = rating_refusal(locked)
        if reason is not None:
            raise FollowupError(reason)
        assert locked.closed_at is not None
        unsatisfied = level == Rating.Level.UNSATISFIED
        try:
            with transaction.atomic():
                Rating.objects.filter(latest_of=locked).update(latest_of=None)
                rating = Rating.objects.create(
                    case=locked,
                    latest_of=locked,
                    level=level,
                    comment=comment,
                    channel=channel,
                    rated_at=timezone.now(),
                    closed_at=locked.closed_at,
                    review=Rating.Review.PENDING if unsatisfied else Rating.Review.NONE,
                )
        except IntegrityError:  # rated at the same moment from another channel
            raise FollowupError(texts.ALREADY_RATED.format(level="已评价")) from None
        label = str(Rating.Level(level).label)
        _event(
            locked,
            Action.RATE,
            f"举报人评价：{label}" + (f"。意见：{comment}" if comment else ""),
            {
                "level": level,
                "channel": channel,
                **({"review": "待市举报受理中心复核"} if unsatisfied else {}),
            },
        )
    return rating


def _locked_pending(rating: Rating) -> Rating:
    locked = Rating.objects.select_for_update().get(pk=rating.pk)
    if locked.level != Rating.Level.UNSATISFIED or locked.review != Rating.Review.PENDING:
        raise FollowupError("该评价已复核，无需重复处理。")
    return locked


def _review_text(text: str, *, missing: str, too_long: str) -> str:
    """A review decision's reason or note, stripped; refused when empty or longer than ``REVIEW_TEXT_MAX``."""
    text = (text or "").strip()
    if not text:
        raise FollowupError(missing, status=HTTPStatus.UNPROCESSABLE_ENTITY)
    if len(text) > REVIEW_TEXT_MAX:
        raise FollowupError(too_long, status=HTTPStatus.UNPROCESSABLE_ENTITY)
    return text


def _review_save(locked: Rating, *, review: str, actor: User, note: str) -> None:
    """Write the city centre's decision on the (locked, still pending) rating."""
    locked.review = review
    locked.reviewed_by = actor
    locked.reviewed_at = timezone.now()
    locked.review_note = note
    locked.save(update_fields=["review", "reviewed_by", "reviewed_at", "review_note"])


def review_reopen(*, rating: Rating, actor: User, reason: str) -> Case:
    """The city centre reopens the case of an unsatisfied rating to its bureau, with a reason."""
    if not access.can_decide_reviews(actor):
        raise FollowupError(
            "只有市举报受理中心的平台操作人员或负责人可以重新交办。", status=HTTPStatus.FORBIDDEN
        )
    reason = _review_text(reason, missing=REOPEN_REASON_MISSING, too_long=REOPEN_REASON_TOO_LONG)
    with transaction.atomic():
        locked = _locked_pending(rating)
        case = case_reopen(case=locked.case, actor=actor, reason=reason)  # TransitionError rolls back
        _review_save(locked, review=Rating.Review.REOPENED, actor=actor, note=reason)
    return case


def review_dismiss(*, rating: Rating, actor: User, note: str) -> Rating:
    """The city centre decides the answer stands (e.g. the demand is outside the bureau's powers), with a
    note; written on the case's timeline and in the audit trail."""
    if not access.can_decide_reviews(actor):
        raise FollowupError(
            "只有市举报受理中心的平台操作人员或负责人可以作出复核决定。", status=HTTPStatus.FORBIDDEN
        )
    note = _review_text(note, missing=DISMISS_NOTE_MISSING, too_long=DISMISS_NOTE_TOO_LONG)
    with transaction.atomic():
        locked = _locked_pending(rating)
        _review_save(locked, review=Rating.Review.DISMISSED, actor=actor, note=note)
        _event(locked.case, Action.REVIEW_DISMISS, note, {"rating": locked.pk}, actor=actor)
        # The decision in the audit trail too, as every decision on a case is; the note (free text about the
        # reporter's demand) stays on the timeline.
        audit_record(
            action=f"case.{Action.REVIEW_DISMISS}",
            actor=actor,
            object_type="case",
            object_id=locked.case.number,
            detail={"rating": locked.pk, "review": Rating.Review.DISMISSED, "note_chars": len(note)},
        )
    return locked


# ---------------------------------------------------------------------------------- reply templates
# The template's fields an edit compares; the audit entry names the changed ones, never the five texts
# themselves (the bureau's wording, kept on the template, not copied into the trail).
TEMPLATE_FIELDS = ("name", "kind", "category", "active", *ReplyTemplate.FIVE_PARTS)


def reply_template_save(
    *,
    actor: User,
    name: str,
    kind: str,
    category: str,
    parts: dict[str, str],
    active: bool = True,
    template: ReplyTemplate | None = None,
) -> ReplyTemplate:
    """Create or change one of the actor's bureau's templates. Unknown placeholders and texts that fail the
    outbound content rules (``template_check``) are refused with every problem listed."""
    if not access.can_manage_templates(actor):
        raise FollowupError(
            "只有本机构的平台操作人员、分管领导或负责人可以维护答复模板。", status=HTTPStatus.FORBIDDEN
        )
    if template is not None and template.agency_id != actor.agency_id:
        raise FollowupError("只能修改本机构的答复模板。", status=HTTPStatus.FORBIDDEN)
    name = (name or "").strip()
    if not name:
        raise FollowupError("请填写模板名称。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
    values = {part: normalise(parts.get(part, "")) for part in ReplyTemplate.FIVE_PARTS}
    if not any(values.values()):
        raise FollowupError("模板的五项内容不能全部为空。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
    problems: list[str] = []
    for part, text in values.items():
        label = str(getattr(ReplyTemplate._meta.get_field(part), "verbose_name", part))
        problems += [f"{label}：{p}" for p in placeholder_errors(text) + template_check(text)]
    if problems:
        raise FollowupError("\n".join(problems), status=HTTPStatus.UNPROCESSABLE_ENTITY)
    if kind and kind not in Kind.values:
        raise FollowupError("类型不正确。", status=HTTPStatus.UNPROCESSABLE_ENTITY)

    if category and category not in Category.values:
        raise FollowupError("污染类别不正确。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
    assert actor.agency_id is not None
    with transaction.atomic():
        before: dict[str, Any] | None = None  # an edit: the template as stored, under its lock
        if template is None:
            template = ReplyTemplate(agency_id=actor.agency_id, created_by=actor)
        else:
            stored = ReplyTemplate.objects.select_for_update().filter(pk=template.pk)
            before = stored.values(*TEMPLATE_FIELDS).first()
            if before is None:
                raise FollowupError("答复模板不存在或已被删除。", status=HTTPStatus.NOT_FOUND)
        template.name = name[:100]
        template.kind = kind or ""
        template.category = category or ""
        for part, text in values.items():
            setattr(template, part, text)
        template.active = active
        template.updated_by = actor
        template.save()
        if before is not None:
            changed = [f for f in TEMPLATE_FIELDS if before[f] != getattr(template, f)]
            _template_audit(
                AuditAction.REPLY_TEMPLATE_CHANGE,
                actor,
                template,
                changed=changed,
                **({"previous_name": before["name"]} if "name" in changed else {}),
            )
        else:
            _template_audit(AuditAction.REPLY_TEMPLATE_CREATE, actor, template)
    return template


def reply_template_delete(*, actor: User, template: ReplyTemplate) -> None:
    if not access.can_manage_templates(actor) or template.agency_id != actor.agency_id:
        raise FollowupError("只能删除本机构的答复模板。", status=HTTPStatus.FORBIDDEN)
    with transaction.atomic():
        _template_audit(AuditAction.REPLY_TEMPLATE_DELETE, actor, template)
        template.delete()


def _template_audit(action: str, actor: User, template: ReplyTemplate, **detail: object) -> None:
    """One audit entry of a change to a bureau's outbound reply template: what it is called and covers."""
    audit_record(
        action=action,
        actor=actor,
        object_type="reply_template",
        object_id=template.pk,
        detail={
            "name": template.name,
            "agency": template.agency_id,
            "kind": template.kind,
            "category": template.category,
            "active": template.active,
            **detail,
        },
    )


# ------------------------------------------------------------------------------------------ follows
def case_follow(*, case: Case, openid: str, note: str = "") -> tuple[Follow, bool]:
    """A reporter follows an open case instead of filing the same matter again: a repeat report of that
    case (a ``Follow`` row and a timeline event) and a fixed notice of its progress to the reporter.
    Following the same case again changes nothing (returns the first follow and False)."""

    if not openid:
        raise FollowupError("请先在微信中打开本页面。", status=HTTPStatus.FORBIDDEN)
    note = text_clean(note or "").strip()[:NOTE_MAX]
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        if locked.reporter_openid == openid:
            raise FollowupError("这是您本人提交的举报，可在“我的举报”中查看进度。")
        existing = follow_of(openid=openid, case=locked)
        if existing is not None:
            return existing, False
        if locked.state not in OPEN_STATES:
            raise FollowupError("该举报已办结，不能再关注。如问题仍然存在，请提交新的举报。")
        follow = Follow.objects.create(case=locked, openid=openid, note=note, created_at=timezone.now())
        _event(
            locked,
            Action.FOLLOW,
            "举报人通过H5页面关注本件，记为重复举报" + (f"{FOLLOW_NOTE_MARK}{note}" if note else ""),
            {"follow": follow.pk, "channel": "wechat_h5"},
        )
        status = public_status(locked)
        outbox_write(
            case=locked,
            openid=openid,
            template="status",
            text=texts.followed(number=locked.number, status=status.label),
        )
    return follow, True


def case_follow_call(
    *,
    case: Case,
    actor: User,
    phone: str,
    name: str = "",
    anonymous: bool = False,
    note: str = "",
    received_at: dt.datetime | None = None,
) -> tuple[Follow, bool]:
    """Issue 14: a hotline operator attaches a call to an open case instead of opening a new one: a repeat
    report of that case (a ``Follow`` with the caller's phone and name, encrypted; anonymous: neither), a
    timeline event and an audit entry naming the operator. The same phone on the same case again changes
    nothing (returns the first follow and False). ``received_at``: the time of the call (default now)."""
    phone = "" if anonymous else (phone or "").strip()[:200]
    name = "" if anonymous else text_clean(name or "").strip()[:200]
    note = text_clean(note or "").strip()[:NOTE_MAX]
    at = received_at or timezone.now()
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        if phone:
            existing = Follow.objects.filter(blind_q("caller_phone", phone), case=locked).first()
            if existing is not None:
                return existing, False
        if locked.state not in OPEN_STATES:
            raise FollowupError("该举报已办结，不能再关注。如问题仍然存在，请登记为新的举报。")
        follow = Follow.objects.create(
            case=locked,
            channel=Channel.PHONE,
            caller_phone=phone,
            caller_name=name,
            recorded_by=actor,
            note=note,
            created_at=at,
        )
        _event(
            locked,
            Action.FOLLOW,
            "来电反映同一事项，记为重复举报" + (f"{FOLLOW_NOTE_MARK}{note}" if note else ""),
            {"follow": follow.pk, "channel": Channel.PHONE, "anonymous": anonymous},
            actor=actor,
        )
        audit_record(
            action=f"case.{Action.FOLLOW}",
            actor=actor,
            object_type="case",
            object_id=locked.number,
            detail={"follow": follow.pk, "channel": Channel.PHONE},
        )
    return follow, True


def followers_notify_closed(*, case: Case) -> int:
    """Tell the case's WeChat followers that it closed (a fixed notice; the answer itself goes to its
    reporter). A hotline caller attached to the case (``case_follow_call``) has no openid and no channel the
    platform writes to (no SMS): they get no notice here, and never one through the reporter's openid (the
    case still closes). Returns how many followers were told."""

    openids = [
        openid
        for openid in Follow.objects.filter(case=case).values_list("openid", flat=True)
        if openid  # a phone follower: no WeChat notice
    ]
    outcome = case.get_outcome_display()
    for openid in openids:
        outbox_write(
            case=case,
            openid=openid,
            template="status",
            text=texts.followed_closed(number=case.number, outcome=str(outcome)),
        )
    return len(openids)


def duplicates_notify_closed(*, case: Case) -> int:
    """Tell the reporters of ``case``'s duplicates that it closed (Art. 14): a fixed notice about their own
    case. Not the reporter of ``case`` (they get its answer) nor its followers (``followers_notify_closed`` tells them);
    each reporter once. Call inside the closing transaction."""

    told = {case.reporter_openid_digest} | set(
        Follow.objects.filter(case=case).values_list("openid_digest", flat=True)
    )
    status = public_status(case).label
    count = 0
    for duplicate in case.duplicates.exclude(reporter_openid_digest="").order_by("received_at", "id"):
        if duplicate.reporter_openid_digest in told:
            continue
        told.add(duplicate.reporter_openid_digest)
        outbox_write(case=duplicate, template="status", text=notices.merged_closed(duplicate, case, status))
        count += 1
    return count
