"""Case intake from any channel (the WeChat chat, the H5 form, the hotline, Open311, forwarded cases, the
demo): one door, ``case_create``, with its number, deadline, first event, acknowledgement and the creation
hooks, in one transaction; and the case's photos."""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import connections, router, transaction
from django.utils import timezone

from eco12369.audit.services import AuditItem, audit_record, audit_record_many
from eco12369.db import increment_returning, insert, insert_computed, insert_if_absent
from eco12369.notifications.services import outbox_write
from eco12369.orgs.models import Agency, Region, User
from eco12369.plaintext import text_clean

from .. import deadlines, notices
from ..events import case_event_new
from ..hooks import bulk_intake, case_changed_hooks_run, case_created_hooks_run
from ..models import (
    Action,
    Attachment,
    Case,
    CaseEvent,
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
    # The district's bureau when the channel found it with ``district`` (``orgs.geo.region_and_bureau_at``,
    # the WeChat callback's one statement for both); None: ``owning_agency_for(district)`` finds it.
    bureau: Agency | None = None


class UploadWithPoster(SimpleUploadedFile):
    """A video for ``Intake.photos`` with its poster (the picture shown before it plays): both are stored,
    the video's attachment pointing to the poster's."""

    def __init__(self, name: str, content: bytes, content_type: str, *, poster: UploadedFile) -> None:
        super().__init__(name, content, content_type)
        self.poster = poster


_SAFE_EXTENSION = re.compile(r"\.[a-z0-9]{1,5}")


def random_upload_name(original: str) -> str:
    """A random file name keeping only a plain extension (``.jpg``) of the original: no reporter-chosen
    name, no path, nothing guessable reaches the file system."""
    extension = os.path.splitext(os.path.basename(original.replace("\\", "/")))[1].lower()
    return uuid.uuid4().hex + (extension if _SAFE_EXTENSION.fullmatch(extension) else "")


def case_number_next(*, day: dt.date) -> str:
    """TJ20261125000123: prefix, the day of receipt, and that day's sequence. Must run in a transaction."""
    return case_numbers_next(day=day, count=1)[0]


def case_numbers_next(*, day: dt.date, count: int) -> list[str]:
    """``count`` consecutive numbers of ``day`` in one statement (a bulk intake). Must run in a transaction."""
    last = increment_returning(CaseNumberSequence, field="last", where={"day": day}, by=count)
    if last is None:  # the day's first case (or a concurrent first: the insert is skipped, the row is there)
        insert_if_absent(CaseNumberSequence(day=day, last=0))
        last = increment_returning(CaseNumberSequence, field="last", where={"day": day}, by=count)
    assert last is not None
    prefix = settings.ECO["CASE_NUMBER_PREFIX"]
    return [f"{prefix}{day:%Y%m%d}{n:06d}" for n in range(last - count + 1, last + 1)]


def _case_insert_numbered(case: Case, *, day: dt.date, event: CaseEvent) -> None:
    """``insert(case)`` with ``day``'s next number, and its first ``event``. On PostgreSQL in one statement:
    the day's counter is bumped (or started) by an upsert in the case's own INSERT, which writes the event
    too, so the counter's row, which every new case of the day waits for, is locked two round trips later
    than with statements of their own (the WeChat callback's hot path). Elsewhere ``case_number_next``,
    then ``insert`` of each."""
    if connections[router.db_for_write(Case)].vendor != "postgresql":
        case.number = case_number_next(day=day)
        insert(case)
        event.case = case
        insert(event)
        return
    qn = connections[router.db_for_write(Case)].ops.quote_name
    meta = CaseNumberSequence._meta
    table, day_column, last = (
        qn(meta.db_table),
        qn(meta.get_field("day").column),
        qn(meta.get_field("last").column),
    )
    counter = (
        # The model's own names, quoted; the day is a parameter. A value over 999999 keeps all its digits,
        # as case_numbers_next's ``{n:06d}``.
        f"n AS (INSERT INTO {table} ({day_column}, {last}) VALUES (%s, 1) "  # noqa: S608
        f"ON CONFLICT ({day_column}) DO UPDATE SET {last} = {table}.{last} + 1 RETURNING {last} AS last)"
    )
    insert_computed(
        case,
        field="number",
        expression="SELECT %s || CASE WHEN n.last < 1000000 THEN lpad(n.last::text, 6, '0') "
        "ELSE n.last::text END FROM n",
        params=[f"{settings.ECO['CASE_NUMBER_PREFIX']}{day:%Y%m%d}"],
        with_=(counter, [day]),
        child=event,
        child_fk="case",
    )
    event.case = case


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
    workbench's authorised photo view reads it back. A video with its poster (``UploadWithPoster``): the
    poster is stored too, as the video's ``poster``."""
    poster = (
        attachment_add(case=case, photo=photo.poster, kind=kind, uploaded_by=uploaded_by)
        if isinstance(photo, UploadWithPoster)
        else None
    )
    attachment = Attachment(
        case=case,
        kind=kind,
        uploaded_by=uploaded_by,
        original_name=(photo.name or "")[:200],
        content_type=photo.content_type or "application/octet-stream",
        size=photo.size or 0,
        poster=poster,
    )
    attachment.file.save(random_upload_name(photo.name or ""), photo, save=False)
    attachment.save()
    return attachment


def _intake_checked(intake: Intake) -> str:
    """The intake's description, stripped; ``TransitionError`` for what no case may be created from."""
    description = text_clean(intake.description).strip()
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
    return description


def _case_new(
    intake: Intake,
    *,
    description: str,
    number: str,
    agency: Agency,
    received_at: dt.datetime,
    confirm: deadlines.Deadline,
) -> Case:
    case = Case(
        number=number,
        channel=intake.channel,
        source=intake.source,
        external_number=text_clean(intake.external_number).strip()[:64],
        kind=intake.kind,
        category=intake.category,
        region=intake.district or agency.region,
        agency=agency,
        reported_party=text_clean(intake.reported_party).strip()[:200],
        address=text_clean(intake.address).strip()[:300],
        latitude=intake.latitude,
        longitude=intake.longitude,
        occurred_at=intake.occurred_at,
        description=description,
        reporter_name="" if intake.anonymous else text_clean(intake.reporter_name).strip()[:200],
        reporter_phone="" if intake.anonymous else text_clean(intake.reporter_phone).strip()[:200],
        reporter_openid=intake.reporter_openid,
        anonymous=intake.anonymous,
        received_at=received_at,
        confirm_due=confirm.at,
        deadline_provisional=confirm.provisional,
    )
    refresh_deadline_fields(case)
    return case


def _receive_note(intake: Intake) -> str:
    label = f"（{intake.channel_label}）" if intake.channel_label else ""
    return f"通过{Channel(intake.channel).label}{label}接收"


def _receive_data(case: Case, agency: Agency) -> dict[str, Any]:
    return {
        "agency": agency.name,
        **({"source": case.source, "external_number": case.external_number} if case.source else {}),
    }


def _receive_audit(intake: Intake, case: Case, agency: Agency) -> AuditItem:
    """The intake itself (the reporter is not a user; the label names the channel, never them; a case staff
    recorded, a call or a forwarded case, names the staff member)."""
    recorder = intake.recorded_by
    return AuditItem(
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


def case_create(*, intake: Intake) -> Case:
    """Create a case from any channel, with its number, confirmation deadline, first timeline event and
    (for WeChat reporters) the acknowledgement in the outbox, all in one transaction."""
    description = _intake_checked(intake)
    received_at = intake.received_at or timezone.now()
    bureau = intake.bureau
    if bureau is not None and (
        intake.district is None
        or bureau.region_id != intake.district.pk
        or bureau.kind != Agency.Kind.DISTRICT_BUREAU
    ):
        raise TransitionError("受理机构与所在区不符。")
    agency = bureau if bureau is not None else owning_agency_for(intake.district)
    confirm = deadlines.confirmation_deadline(received_at)
    # Inside a caller's transaction (the WeChat callback, Open311) the case is part of it: no savepoint.
    with transaction.atomic(savepoint=False):
        case = _case_new(
            intake,
            description=description,
            number="",  # the day's next, taken by the INSERT
            agency=agency,
            received_at=received_at,
            confirm=confirm,
        )
        event = case_event_new(
            case=case,
            action=Action.RECEIVE,
            actor=intake.recorded_by,
            at=received_at,
            from_state="",
            to_state=State.RECEIVED,
            note=_receive_note(intake),
            data=_receive_data(case, agency),
        )
        # case.save() with its number and its first event, without compiling the ORM's INSERTs (the
        # callback's hot path)
        _case_insert_numbered(case, day=deadlines.local_date(received_at), event=event)
        for photo in intake.photos:
            attachment_add(case=case, photo=photo)
        if case.reporter_openid:
            outbox_write(case=case, template="acknowledged", text=notices.acknowledged(case))
        # Explicit side effects of a new case (cases/hooks.py): oversight writes the duplicate fingerprint
        # (so a report a second later finds it) and queues the duplicate finder on commit.
        case_created_hooks_run(case)
        case_changed_hooks_run(None, case)  # the dashboard's rollups (stats)
        item = _receive_audit(intake, case, agency)
        audit_record(
            action=item.action,
            actor=item.actor,
            actor_label=item.actor_label,
            object_type=item.object_type,
            object_id=item.object_id,
            detail=item.detail,
        )
    return case


BULK_BATCH = 500  # rows per INSERT statement of ``cases_create_bulk``


def cases_create_bulk(*, intakes: Sequence[Intake]) -> list[Case]:
    """Many cases at once (the forwarded import: thousands of rows), each exactly as ``case_create`` makes
    it: its number, confirmation deadline, first timeline event, acknowledgement (a WeChat reporter's),
    photos, the creation hooks and the audit entry, all in one transaction (the caller's, if any). The
    work per case is batched: numbers are allocated a block per day, the owning agency and the deadline
    computed once per district and per day, cases, events and audit entries inserted ``BULK_BATCH`` rows
    per statement. ``case_created_hooks_run`` and ``case_changed_hooks_run`` are called for each case
    explicitly (``bulk_create`` calls no ``post_save``; cases/hooks.py), inside ``bulk_intake()``: the
    hooks pool their writes (fingerprints, rollup counts) and make them once, at the end. Raises ``TransitionError`` if any intake is invalid (nothing is
    created), ``IntegrityError`` if an external number exists already (the caller checks first)."""
    if not intakes:
        return []
    descriptions = [_intake_checked(intake) for intake in intakes]
    now = timezone.now()
    received = [intake.received_at or now for intake in intakes]
    agencies: dict[int | None, Agency] = {}
    confirms: dict[dt.date, deadlines.Deadline] = {}
    days = [deadlines.local_date(at) for at in received]
    for intake in intakes:
        key = intake.district.pk if intake.district is not None else None
        if key not in agencies:
            agencies[key] = owning_agency_for(intake.district)
    for day, at in zip(days, received, strict=True):
        if day not in confirms:
            confirms[day] = deadlines.confirmation_deadline(at)  # depends on the day of receipt only
    with transaction.atomic(savepoint=False):
        numbers: dict[dt.date, Iterator[str]] = {
            day: iter(case_numbers_next(day=day, count=count)) for day, count in Counter(days).items()
        }
        cases = [
            _case_new(
                intake,
                description=description,
                number=next(numbers[day]),
                agency=agencies[intake.district.pk if intake.district is not None else None],
                received_at=at,
                confirm=confirms[day],
            )
            for intake, description, day, at in zip(intakes, descriptions, days, received, strict=True)
        ]
        Case.objects.bulk_create(cases, batch_size=BULK_BATCH)
        if any(case.pk is None for case in cases):  # a database that returns no ids from a bulk insert
            ids = dict(Case.objects.filter(number__in=[c.number for c in cases]).values_list("number", "id"))
            for case in cases:
                case.pk = ids[case.number]
                case._state.adding, case._state.db = False, Case.objects.db
        events = []
        for intake, case in zip(intakes, cases, strict=True):
            recorder = intake.recorded_by
            events.append(
                CaseEvent(
                    case=case,
                    action=Action.RECEIVE,
                    actor=recorder,
                    actor_agency_id=recorder.agency_id if recorder is not None else None,
                    at=case.received_at,
                    from_state="",
                    to_state=State.RECEIVED,
                    note=_receive_note(intake),
                    data=_receive_data(case, case.agency),
                )
            )
            for photo in intake.photos:
                attachment_add(case=case, photo=photo)
        CaseEvent.objects.bulk_create(events, batch_size=BULK_BATCH)
        with bulk_intake():
            for case in cases:
                if case.reporter_openid:
                    outbox_write(case=case, template="acknowledged", text=notices.acknowledged(case))
                case_created_hooks_run(case)
                case_changed_hooks_run(None, case)  # the dashboard's rollups (stats)
        audit_record_many(
            [_receive_audit(intake, case, case.agency) for intake, case in zip(intakes, cases, strict=True)],
            batch_size=BULK_BATCH,
        )
    return cases
