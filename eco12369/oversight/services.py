"""Writes of the oversight app: spot checks and assessment weights (DESIGN §10: ``<entity>_<action>``).

Supervision orders and duplicate marking are case transitions: the views call ``case_supervise``,
``case_answer_supervision`` and ``case_mark_duplicate`` of ``eco12369.cases.services`` directly.
"""

from __future__ import annotations

import secrets
from http import HTTPStatus
from typing import Any

from django.db import transaction
from django.utils import timezone

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record
from eco12369.errors import Refused
from eco12369.orgs.models import Agency, User

from . import access
from .models import (
    AssessmentScheme,
    GuidanceNotice,
    GuidanceNoticeRead,
    SpotCheck,
    SpotCheckItem,
    StaffMerit,
)
from .periods import Period, period_parse
from .spotchecks import checklist_auto, checklist_score, spot_check_sample

MAX_PER_DISTRICT = 50


class OversightError(Refused):
    """A refused oversight action (spot checks, merits, guidance notices, assessment)."""


# ------------------------------------------------------------------------------------ spot checks
@transaction.atomic
def spot_check_draw(
    *, actor: User, period: Period, per_district: int, seed: int | None = None, note: str = ""
) -> SpotCheck:
    """Draw the month's sample (see ``spotchecks``) and compute each item's checklist. A month has one
    sample; it may be drawn again (another seed) only while no item has been reviewed."""
    if not access.can_draw_spot_check(actor):
        raise OversightError(
            "只有市举报受理中心的平台操作人员或负责人可以抽取抽查样本。", status=HTTPStatus.FORBIDDEN
        )
    if not 1 <= per_district <= MAX_PER_DISTRICT:
        raise OversightError(
            f"每区抽查件数应在1至{MAX_PER_DISTRICT}件之间。", status=HTTPStatus.UNPROCESSABLE_ENTITY
        )
    if period.first > timezone.localdate():
        raise OversightError("不能抽查尚未开始的月份。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
    existing = SpotCheck.objects.select_for_update().filter(month=period.first).first()
    replaced_seed = None
    if existing is not None:
        if existing.items.filter(reviewed_at__isnull=False).exists():
            raise OversightError(f"{period.label}的抽查已有复核结果，不能重新抽取。")
        replaced_seed = existing.seed
        existing.delete()
    seed = seed if seed is not None else secrets.randbelow(10**9)
    sample = spot_check_sample(period=period, seed=seed, per_district=per_district)
    if not sample:
        raise OversightError(f"{period.label}没有已办结的举报件，无法抽查。")
    spot_check = SpotCheck.objects.create(
        month=period.first,
        seed=seed,
        per_district=per_district,
        drawn_by=actor,
        drawn_at=timezone.now(),
        note=note.strip(),
    )
    auto = checklist_auto([case_id for case_id, _ in sample])
    items = []
    for case_id, region_id in sample:
        values = auto[case_id]
        items.append(
            SpotCheckItem(
                spot_check=spot_check,
                case_id=case_id,
                region_id=region_id,
                auto=values,
                score=checklist_score(values),
                **values,
            )
        )
    SpotCheckItem.objects.bulk_create(items)
    audit_record(
        action=AuditAction.SPOT_CHECK_DRAW,
        actor=actor,
        object_type="spot_check",
        object_id=period.key,
        detail={
            "seed": seed,
            "per_district": per_district,
            "items": len(items),
            "replaced_seed": replaced_seed,
        },
    )
    return spot_check


def spot_check_item_review(
    *, item: SpotCheckItem, actor: User, values: dict[str, bool | None], note: str
) -> SpotCheckItem:
    """The reviewer confirms or corrects the checklist. Changing an automatic result needs a note."""
    if not access.can_review_spot_check(actor):
        raise OversightError("只有市举报受理中心可以复核抽查结果。", status=HTTPStatus.FORBIDDEN)
    unknown = set(values) - set(SpotCheckItem.CHECKS)
    if unknown:
        raise OversightError("未知的抽查项目。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
    note = note.strip()
    changed = [name for name, value in values.items() if item.auto.get(name) != value]
    if changed and not note:
        raise OversightError("修改系统核查结果时请填写抽查意见。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
    with transaction.atomic():
        locked = SpotCheckItem.objects.select_for_update().get(pk=item.pk)
        for name in SpotCheckItem.CHECKS:
            setattr(locked, name, values.get(name, getattr(locked, name)))
        locked.score = checklist_score({name: getattr(locked, name) for name in SpotCheckItem.CHECKS})
        locked.note = note
        locked.reviewed_by = actor
        locked.reviewed_at = timezone.now()
        locked.save()
        audit_record(
            action=AuditAction.SPOT_CHECK_REVIEW,
            actor=actor,
            object_type="spot_check_item",
            object_id=locked.pk,
            detail={
                "month": f"{item.spot_check.month:%Y-%m}",
                "case": item.case.number,
                "changed": changed,
                "score": locked.score,
            },
        )
    return locked


# ------------------------------------------------------------------------------------ assessment
def assessment_scheme_current() -> AssessmentScheme:
    """The weights in force (the newest row); the defaults when none was saved yet."""
    return AssessmentScheme.objects.order_by("-updated_at", "-id").first() or AssessmentScheme()


def assessment_scheme_update(
    *, actor: User, weights: dict[str, int], repeat_threshold: int
) -> AssessmentScheme:
    """Save new weights as a new row (the old ones stay, so earlier rankings can be explained)."""
    if not access.can_edit_assessment_weights(actor):
        raise OversightError("只有市举报受理中心负责人可以修改考核权重。", status=HTTPStatus.FORBIDDEN)
    fields: dict[str, Any] = {}
    for name in AssessmentScheme.WEIGHT_FIELDS:
        value = int(weights.get(name.removeprefix("w_"), 0))
        if not 0 <= value <= 100:
            raise OversightError("各项权重应在0至100之间。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
        fields[name] = value
    if sum(fields.values()) == 0:
        raise OversightError("权重不能全部为0。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
    if repeat_threshold < 2:
        raise OversightError("重复举报认定次数至少为2次。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
    with transaction.atomic():
        previous = assessment_scheme_current()
        scheme = AssessmentScheme.objects.create(
            updated_by=actor, repeat_threshold=repeat_threshold, **fields
        )
        audit_record(
            action=AuditAction.ASSESSMENT_SCHEME_CHANGE,
            actor=actor,
            object_type="assessment_scheme",
            object_id=scheme.pk,
            detail={
                "from": {**previous.weights(), "repeat_threshold": previous.repeat_threshold},
                "to": {**scheme.weights(), "repeat_threshold": scheme.repeat_threshold},
            },
        )
    return scheme


# ------------------------------------------------------------------------------------ guidance notices
def guidance_notice_publish(
    *, actor: User, title: str, body: str, recipients: list[Agency] | None = None
) -> GuidanceNotice:
    """Publish a business guidance notice (Art. 14) to the chosen district bureaus; none chosen: all."""
    if not access.can_publish_guidance(actor):
        raise OversightError(
            "只有市举报受理中心的平台操作人员或负责人可以发布业务指导通知。", status=HTTPStatus.FORBIDDEN
        )
    title, body = title.strip(), body.strip()
    if not title:
        raise OversightError("请填写通知标题。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
    if not body:
        raise OversightError("请填写通知正文。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
    bureaus = Agency.objects.filter(kind=Agency.Kind.DISTRICT_BUREAU)
    chosen = list(bureaus.filter(pk__in=[a.pk for a in recipients])) if recipients else []
    if recipients and len(chosen) != len({a.pk for a in recipients}):
        raise OversightError(
            "业务指导通知只能发送给区环境保护主管部门。", status=HTTPStatus.UNPROCESSABLE_ENTITY
        )
    to_all = not chosen
    if to_all:
        chosen = list(bureaus)
    if not chosen:
        raise OversightError("没有可以接收通知的区环境保护主管部门。")
    with transaction.atomic():
        notice = GuidanceNotice.objects.create(
            title=title, body=body, to_all=to_all, published_by=actor, published_at=timezone.now()
        )
        notice.recipients.set(chosen)
        audit_record(
            action=AuditAction.GUIDANCE_NOTICE_PUBLISH,
            actor=actor,
            object_type="guidance_notice",
            object_id=notice.pk,
            detail={
                "title": title,
                "to_all": to_all,
                "recipients": sorted(a.short_name or a.name for a in chosen),
            },
        )
    return notice


def guidance_notice_mark_read(*, notice: GuidanceNotice, user: User) -> GuidanceNoticeRead | None:
    """Record that ``user`` of an addressed bureau opened the notice; the first time is kept. The city
    centre's readers leave no receipt (the receipts say which bureaus read it)."""
    if user.agency_id is None or user.is_city_centre:
        return None
    read, _ = GuidanceNoticeRead.objects.get_or_create(
        notice=notice, user=user, defaults={"agency_id": user.agency_id, "read_at": timezone.now()}
    )
    return read


# ------------------------------------------------------------------------------------ 表彰与惩处
def staff_merit_record(*, actor: User, person: User, kind: str, reason: str, period: str) -> StaffMerit:
    """Record a commendation or a penalty/criticism of ``person`` for their work in ``period`` (Art. 18)."""
    if not access.can_record_merit(actor, person):
        raise OversightError(
            "只有本单位负责人或市举报受理中心负责人可以记录表彰与惩处。", status=HTTPStatus.FORBIDDEN
        )
    if kind not in StaffMerit.Kind.values:
        raise OversightError("请选择表彰或惩处的类别。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
    reason = reason.strip()
    if not reason:
        raise OversightError("请填写表彰或惩处的事由。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
    parsed = period_parse(period)
    if not period.strip() or parsed.key != period.strip():
        raise OversightError("请选择所涉期间。", status=HTTPStatus.UNPROCESSABLE_ENTITY)
    assert person.agency_id is not None
    with transaction.atomic():
        merit = StaffMerit.objects.create(
            person=person,
            agency_id=person.agency_id,
            kind=kind,
            reason=reason,
            period=parsed.key,
            recorded_by=actor,
            recorded_at=timezone.now(),
        )
        audit_record(
            action=AuditAction.STAFF_MERIT_RECORD,
            actor=actor,
            object_type="staff_merit",
            object_id=merit.pk,
            detail={
                "person": person.get_username(),
                "kind": kind,
                "period": parsed.key,
                "reason": reason,
            },
        )
    return merit
