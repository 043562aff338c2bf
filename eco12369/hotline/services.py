"""Writes of the phone channel (电话代录) and of forwarded cases (转办导入). Cases are created by the domain's
one intake (``cases.services.case_create``); a call about a case already reported becomes a repeat report of
it (``followup.services.case_follow_call``). Every write names the operator in the audit trail."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record
from eco12369.cases.models import Case, Channel, Reply
from eco12369.cases.selectors import cases_visible_to
from eco12369.cases.services import Intake, case_create, cases_create_bulk
from eco12369.cases.workflow import TransitionError
from eco12369.errors import Refused
from eco12369.followup.models import Follow
from eco12369.followup.services import FollowupError, case_follow_call
from eco12369.orgs.models import Region, User

from . import access
from .forwarded import FileUnreadable, Row, rows_read
from .models import ImportBatch

CHUNK = 500  # rows per transaction of an import (one bulk intake, and one progress update)


class HotlineError(Refused):
    """A refused hotline action; ``message`` is shown as is (Chinese). 422: what the operator typed or
    uploaded does not pass; 403 and 409 where said."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY


# ------------------------------------------------------------------------------------------ calls
@dataclass
class Call:
    """What the operator took down while the caller was on the line."""

    phone: str
    description: str
    received_at: dt.datetime
    name: str = ""
    anonymous: bool = False
    kind: str = "report"
    category: str = "other"
    reported_party: str = ""
    address: str = ""
    district: Region | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    occurred_at: dt.datetime | None = None
    attachments: list[UploadedFile] = field(default_factory=list)


def _require_operator(actor: User) -> None:
    if not access.can_record_calls(actor):
        raise HotlineError(
            "只有市举报受理中心和各区的平台操作人员可以登记来电。", status=HTTPStatus.FORBIDDEN
        )


def call_record(*, actor: User, call: Call) -> Case:
    """A new case from a call. A district operator records calls about their own district; a call about
    another district (or about no district the operator can tell) is routed by the outlines or the district
    named, so it reaches the bureau responsible (属地管理): the operator cannot keep it."""
    _require_operator(actor)
    if call.received_at > timezone.now() + dt.timedelta(minutes=5):
        raise HotlineError("来电时间不能晚于当前时间。")
    if not call.anonymous and not call.phone.strip():
        raise HotlineError("请填写来电号码；来电人要求匿名的，请勾选“匿名”。")
    try:
        case = case_create(
            intake=Intake(
                channel=Channel.PHONE,
                description=call.description,
                kind=call.kind,
                category=call.category,
                district=call.district,
                reported_party=call.reported_party,
                address=call.address,
                latitude=call.latitude,
                longitude=call.longitude,
                occurred_at=call.occurred_at,
                reporter_name=call.name,
                reporter_phone=call.phone,
                anonymous=call.anonymous,
                photos=call.attachments,
                received_at=call.received_at,
                recorded_by=actor,
            )
        )
    except TransitionError as exc:
        raise HotlineError(exc.message) from exc
    return case


def call_attach(*, actor: User, case: Case, call: Call, note: str = "") -> tuple[Follow, bool]:
    """The call is about an open case already reported: a repeat report of it (the caller follows it)."""
    _require_operator(actor)
    if not call.anonymous and not call.phone.strip():
        raise HotlineError("请填写来电号码；来电人要求匿名的，请勾选“匿名”。")
    try:
        return case_follow_call(
            case=case,
            actor=actor,
            phone=call.phone,
            name=call.name,
            anonymous=call.anonymous,
            note=note or call.description[:500],
            received_at=call.received_at,
        )
    except FollowupError as exc:
        raise HotlineError(exc.message, status=exc.status) from exc


# ------------------------------------------------------------------------------------------ imports
def import_preview(*, actor: User, source: str, name: str, data: bytes) -> tuple[ImportBatch, list[Row]]:
    """Read the file (each row's errors, nothing created) and keep it, encrypted, until it is confirmed."""
    if not access.can_import_forwarded(actor):
        raise HotlineError("只有市举报受理中心的平台操作人员可以导入转办案件。", status=HTTPStatus.FORBIDDEN)
    try:
        rows = rows_read(data=data, name=name, source=source)
    except FileUnreadable as exc:
        raise HotlineError(exc.message) from exc
    batch = ImportBatch.objects.create(
        source=source,
        file_name=name[:200],
        content=base64.b64encode(data).decode(),
        uploaded_by=actor,
        uploaded_at=timezone.now(),
        total=len(rows),
        valid=sum(1 for r in rows if r.ok and not r.existing),
        failed=sum(1 for r in rows if not r.ok),
        skipped=sum(1 for r in rows if r.existing),
    )
    return batch, rows


def import_confirm(*, actor: User, batch: ImportBatch) -> ImportBatch:
    """Queue the import of a previewed batch (``tasks.forwarded_import_task`` runs ``import_run``)."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.uploaded_by_id != actor.pk:
            raise HotlineError("只能确认本人上传的文件。", status=HTTPStatus.FORBIDDEN)
        if locked.status != ImportBatch.Status.PREVIEWED:
            raise HotlineError("该文件已确认导入。", status=HTTPStatus.CONFLICT)
        locked.status = ImportBatch.Status.QUEUED
        locked.save(update_fields=["status"])
        audit_record(
            action=AuditAction.HOTLINE_IMPORT_CONFIRM,
            actor=actor,
            object_type="import_batch",
            object_id=locked.pk,
            detail={"source": locked.source, "file": locked.file_name, "rows": locked.total},
        )
    return locked


def import_run(*, batch_id: int) -> ImportBatch:
    """Create the cases of a confirmed batch, ``CHUNK`` rows per transaction (``cases_create_bulk``),
    updating its progress after each. Idempotent by external number: a row whose number is already imported (by an earlier batch, or
    by this one before a restart) is skipped and counted as such. The file is emptied at the end."""
    batch = ImportBatch.objects.select_related("uploaded_by").get(pk=batch_id)
    if batch.finished or batch.status == ImportBatch.Status.PREVIEWED:
        return batch
    actor = batch.uploaded_by
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.RUNNING)
    try:
        rows = rows_read(data=base64.b64decode(batch.content), name=batch.file_name, source=batch.source)
    except FileUnreadable as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.FAILED, error=exc.message, content="", finished_at=timezone.now()
        )
        batch.refresh_from_db()
        return batch
    todo = [r for r in rows if r.ok and not r.existing]
    created = 0
    skipped = sum(1 for r in rows if r.existing)
    failed = sum(1 for r in rows if not r.ok)
    done = 0
    ImportBatch.objects.filter(pk=batch.pk).update(valid=len(todo), total=len(rows), failed=failed)
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start : start + CHUNK]
        with transaction.atomic():
            made, known = _chunk_import(chunk, actor=actor, source=batch.source)
            created += made
            skipped += known
            done += len(chunk)
            ImportBatch.objects.filter(pk=batch.pk).update(done=done, created=created, skipped=skipped)
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.DONE, content="", finished_at=timezone.now(), done=done
    )
    audit_record(
        action=AuditAction.HOTLINE_IMPORT_DONE,
        actor=actor,
        object_type="import_batch",
        object_id=batch.pk,
        detail={"created": created, "skipped": skipped, "failed": failed},
    )
    batch.refresh_from_db()
    return batch


def _chunk_import(chunk: list[Row], *, actor: User, source: str) -> tuple[int, int]:
    """Create the cases of ``chunk`` (rows without errors) in one bulk intake; rows whose external number
    was imported meanwhile (another batch, or this one before a restart) are skipped. Returns (created,
    skipped). Call in a transaction."""
    intakes = []
    for row in chunk:
        assert row.intake is not None
        row.intake.recorded_by = actor
        intakes.append(row.intake)
    known = set(
        Case.objects.filter(
            source=source, external_number__in=[i.external_number.strip()[:64] for i in intakes]
        ).values_list("external_number", flat=True)
    )
    fresh = [i for i in intakes if i.external_number.strip()[:64] not in known]
    try:
        with transaction.atomic():
            cases_create_bulk(intakes=fresh)
        return len(fresh), len(intakes) - len(fresh)
    except IntegrityError:
        pass  # a number imported by a concurrent batch after the check: row by row, skipping it
    created = 0
    for intake in fresh:
        try:
            with transaction.atomic():
                case_create(intake=intake)
            created += 1
        except IntegrityError:
            pass
    return created, len(intakes) - created


def import_batches_purge(*, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Empty the files of batches previewed but never confirmed (they hold reporters' data)."""
    cutoff = timezone.now() - older_than
    return (
        ImportBatch.objects.filter(status=ImportBatch.Status.PREVIEWED, uploaded_at__lt=cutoff)
        .exclude(content="")
        .update(content="", status=ImportBatch.Status.FAILED, error="超过一天未确认，文件已删除。")
    )


def forwarded_replies(*, actor: User, source: str, since: dt.datetime, until: dt.datetime) -> QuerySet[Case]:
    """The forwarded cases of ``source`` received in the window that the actor may see, with their approved
    replies: what the replies export writes back to the forwarding platform."""
    if not access.can_import_forwarded(actor):
        raise HotlineError(
            "只有市举报受理中心的平台操作人员可以导出转办案件的办理结果。", status=HTTPStatus.FORBIDDEN
        )
    approved = Prefetch(
        "replies",
        queryset=Reply.objects.filter(status=Reply.Status.APPROVED).order_by("reviewed_at", "id"),
        to_attr="approved_replies",
    )
    return (
        cases_visible_to(user=actor)
        .filter(source=source, received_at__gte=since, received_at__lt=until)
        .select_related("region")
        .prefetch_related(approved)
        .order_by("received_at", "id")
    )


def call_recorded_get(*, actor: User, number: str) -> Case | None:
    """A case from a call, for the page that reads its number and query code back to the caller: a phone
    case the operator may see, or one they recorded in the last hours that went to another district (and
    so is not in their scope any more). Never a case of another channel: its query code is its own
    reporter's."""
    number = number.strip().upper()
    visible = cases_visible_to(user=actor).filter(number=number, channel=Channel.PHONE)
    since = timezone.now() - dt.timedelta(hours=4)
    routed = Case.objects.filter(
        number=number,
        channel=Channel.PHONE,
        events__action="receive",
        events__actor=actor,
        created_at__gte=since,
    )
    return (
        Case.objects.filter(Q(pk__in=visible.values("pk")) | Q(pk__in=routed.values("pk")))
        .select_related("region", "agency")
        .first()
    )


def replies_exported(*, actor: User, source: str, since: dt.datetime, until: dt.datetime) -> None:
    """The export holds case texts going outside the platform: audited."""
    audit_record(
        action=AuditAction.HOTLINE_REPLIES_EXPORT,
        actor=actor,
        object_type="export",
        object_id=source,
        detail={"since": since.isoformat(), "until": until.isoformat()},
    )


def call_followed_get(*, actor: User, number: str) -> Case | None:
    """A case a call was attached to (a repeat report), for the read-back page: any operator who may see
    the case (the city centre, the case's district; the same phone may have been attached by a colleague
    first, the page then says so), or the operator who attached a call to it (a district operator may
    attach a call to another district's case). Another district's operator: None."""
    visible = cases_visible_to(user=actor).filter(number=number, follows__channel=Channel.PHONE)
    return (
        Case.objects.filter(number=number)
        .filter(Q(follows__recorded_by=actor) | Q(pk__in=visible.values("pk")))
        .distinct()
        .first()
    )
