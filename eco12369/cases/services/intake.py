"""Case intake from any channel (the WeChat chat, the H5 form, the hotline, Open311, forwarded cases, the
demo): one door, ``case_create``, with its number, deadline, first event, acknowledgement and the creation
hooks, in one transaction; and the case's photos."""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from eco12369.audit.services import audit_record
from eco12369.db import increment_returning, insert_if_absent
from eco12369.notifications.services import outbox_write
from eco12369.orgs.models import Agency, Region, User

from .. import deadlines, notices
from ..events import case_event_record
from ..hooks import case_changed_hooks_run, case_created_hooks_run
from ..models import (
    Action,
    Attachment,
    Case,
    CaseNumberSequence,
    Category,
    Channel,
    Kind,
    Source,
    State,
)
from ..workflow import (
    TransitionError,
    refresh_deadline_fields,
)


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
    channel_label: str = ""  # the partner channel's name for API intake (Open311 key), shown on the timeline
    # A forwarded case (channel ``forwarded``): the platform that forwarded it and its number there.
    source: str = ""
    external_number: str = ""
    # Staff who took the report (the hotline operator, the importer of forwarded cases); None: the reporter.
    recorded_by: User | None = None


_SAFE_EXTENSION = re.compile(r"\.[a-z0-9]{1,5}")


def random_upload_name(original: str) -> str:
    """A random file name keeping only a plain extension (``.jpg``) of the original: no reporter-chosen
    name, no path, nothing guessable reaches the file system."""
    extension = os.path.splitext(os.path.basename(original.replace("\\", "/")))[1].lower()
    return uuid.uuid4().hex + (extension if _SAFE_EXTENSION.fullmatch(extension) else "")


def case_number_next(*, day: dt.date) -> str:
    """TJ20261125000123: prefix, the day of receipt, and that day's sequence. Must run in a transaction."""
    last = increment_returning(CaseNumberSequence, field="last", where={"day": day})
    if last is None:  # the day's first case (or a concurrent first: the insert is skipped, the row is there)
        insert_if_absent(CaseNumberSequence(day=day, last=0))
        last = increment_returning(CaseNumberSequence, field="last", where={"day": day})
    assert last is not None
    return f"{settings.ECO['CASE_NUMBER_PREFIX']}{day:%Y%m%d}{last:06d}"


def owning_agency_for(district: Region | None) -> Agency:
    """A report with a known district goes to that district's bureau; otherwise to the city centre."""
    if district is not None:
        bureau = Agency.objects.filter(region=district, kind=Agency.Kind.DISTRICT_BUREAU).first()
        if bureau is not None:
            return bureau
    return Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)


def attachment_add(
    *, case: Case, photo: UploadedFile, kind: str = Attachment.Kind.PHOTO, uploaded_by: User | None = None
) -> Attachment:
    """Attach a (cleaned) photo, or checked evidence (``cases.evidence``), to the case. Stored under
    MEDIA_ROOT (outside the web root) with a random name, whatever name the channel gave it; only the
    workbench's authorised photo view reads it back."""
    attachment = Attachment(
        case=case,
        kind=kind,
        uploaded_by=uploaded_by,
        original_name=(photo.name or "")[:200],
        content_type=photo.content_type or "application/octet-stream",
        size=photo.size or 0,
    )
    attachment.file.save(random_upload_name(photo.name or ""), photo, save=False)
    attachment.save()
    return attachment


def case_create(*, intake: Intake) -> Case:
    """Create a case from any channel, with its number, confirmation deadline, first timeline event and
    (for WeChat reporters) the acknowledgement in the outbox, all in one transaction."""
    description = intake.description.strip()
    if not description:
        raise TransitionError("请填写举报内容。")
    if intake.channel not in Channel.values:
        raise TransitionError(f"未知的渠道“{intake.channel}”。")
    if intake.kind not in Kind.values or intake.category not in Category.values:
        raise TransitionError("类型或污染类别不正确。")
    if (intake.channel == Channel.FORWARDED) != bool(intake.source) or (
        intake.source and intake.source not in Source.values
    ):
        raise TransitionError("转办的举报件须注明转办来源。")
    received_at = intake.received_at or timezone.now()
    agency = owning_agency_for(intake.district)
    region = intake.district or agency.region
    confirm = deadlines.confirmation_deadline(received_at)
    # Inside a caller's transaction (the WeChat callback, Open311) the case is part of it: no savepoint.
    with transaction.atomic(savepoint=False):
        case = Case(
            number=case_number_next(day=deadlines.local_date(received_at)),
            channel=intake.channel,
            source=intake.source,
            external_number=intake.external_number.strip()[:64],
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
            attachment_add(case=case, photo=photo)
        recorder = intake.recorded_by
        case_event_record(
            case=case,
            action=Action.RECEIVE,
            actor=recorder,
            at=received_at,
            from_state="",
            to_state=State.RECEIVED,
            note=f"通过{Channel(intake.channel).label}{f'（{intake.channel_label}）' if intake.channel_label else ''}接收",
            data={
                "agency": agency.name,
                **({"source": case.source, "external_number": case.external_number} if case.source else {}),
            },
        )
        if case.reporter_openid:
            outbox_write(case=case, template="acknowledged", text=notices.acknowledged(case))
        # Explicit side effects of a new case (cases/hooks.py): oversight writes the duplicate fingerprint
        # (so a report a second later finds it) and queues the duplicate finder on commit.
        case_created_hooks_run(case)
        case_changed_hooks_run(None, case)  # the dashboard's rollups (stats)
        # Audit trail: the intake itself (the reporter is not a user; the label names the channel, never them;
        # a case staff recorded, a call or a forwarded case, names the staff member).
        audit_record(
            action=f"case.{Action.RECEIVE}",
            actor=recorder,
            actor_label="" if recorder is not None else f"举报人·{Channel(intake.channel).label}",
            object_type="case",
            object_id=case.number,
            detail={
                "to": State.RECEIVED,
                "channel": intake.channel,
                "agency": agency.name,
                # the partner channel of an API intake (its Open311 key), so partner channels can be counted
                **({"channel_label": intake.channel_label} if intake.channel_label else {}),
                **({"source": case.source, "external_number": case.external_number} if case.source else {}),
            },
        )
    return case
