"""Writes of the H5 portal: file a report (exactly once per form), keep photos across a correction, and
clean up what was never submitted."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from eco12369.cases.models import Case, Channel
from eco12369.cases.photos import CleanPhoto, photo_stored, upload_display_name
from eco12369.cases.services import Intake, case_create
from eco12369.orgs.models import Region

from .models import StagedPhoto, Submission

TOKEN = re.compile(r"^[0-9a-f]{32}$")
STAGED_PHOTO_HOURS = 24


def submission_token_new() -> str:
    return secrets.token_hex(16)


def submission_open(*, openid: str, token: str) -> Submission:
    """The bookkeeping row of one form. A malformed token or one that belongs to someone else starts afresh."""
    if TOKEN.match(token or ""):
        submission, _ = Submission.objects.get_or_create(token=token, defaults={"openid": openid})
        if submission.openid == openid:
            return submission
    return Submission.objects.create(token=submission_token_new(), openid=openid)


@dataclass
class ReportData:
    kind: str
    category: str
    district: Region | None
    reported_party: str
    address: str
    latitude: Decimal | None
    longitude: Decimal | None
    occurred_at: dt.datetime | None
    description: str
    anonymous: bool
    reporter_name: str
    reporter_phone: str


def photos_stage(
    *, submission: Submission, photos: list[tuple[UploadedFile, CleanPhoto]], discard: set[str]
) -> list[StagedPhoto]:
    """Keep checked photos of a form that came back for correction; drop the ones the reporter removed."""
    with transaction.atomic():
        for staged in submission.staged_photos.filter(key__in=discard):
            staged.file.delete(save=False)
            staged.delete()
        for upload, checked in photos:
            stored = photo_stored(checked)
            StagedPhoto.objects.create(
                submission=submission,
                key=uuid.uuid4().hex,
                file=stored,
                original_name=upload_display_name(upload),
                content_type=checked.content_type,
                size=len(checked.data),
            )
    return list(submission.staged_photos.all())


def report_submit(
    *,
    submission: Submission,
    data: ReportData,
    photos: list[tuple[UploadedFile, CleanPhoto]],
    discard: set[str],
) -> tuple[Case, bool]:
    """File the report through the intake service. Returns the case and whether it was created now; a form
    sent twice (double tap, flaky network, WeChat re-trying) gives the case of the first sending, while a
    form the reporter went back to and changed becomes a new case."""
    with ExitStack() as stack, transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.case_id is not None:
            earlier = Case.objects.get(pk=locked.case_id)
            if earlier.description == data.description.strip():
                return earlier, False  # the same form sent again
            # The reporter went back and wrote something else: that is a new report.
            locked = Submission.objects.create(token=submission_token_new(), openid=locked.openid)
        staged = list(locked.staged_photos.exclude(key__in=discard))
        files: list[UploadedFile] = []
        for item in staged:
            handle = stack.enter_context(item.file.open("rb"))
            files.append(
                UploadedFile(
                    file=handle,
                    name=uuid.uuid4().hex + os.path.splitext(item.file.name)[1],
                    content_type=item.content_type,
                    size=item.size,
                )
            )
        files.extend(photo_stored(checked) for _upload, checked in photos)
        case = case_create(
            intake=Intake(
                channel=Channel.WECHAT_H5,
                description=data.description,
                kind=data.kind,
                category=data.category,
                district=data.district,
                reported_party=data.reported_party,
                address=data.address,
                latitude=data.latitude,
                longitude=data.longitude,
                occurred_at=data.occurred_at,
                reporter_name=data.reporter_name,
                reporter_phone=data.reporter_phone,
                reporter_openid=locked.openid,
                anonymous=data.anonymous,
                photos=files,
            )
        )
        locked.case = case
        locked.save(update_fields=["case"])
        staged_names = [item.file.name for item in locked.staged_photos.all()]
        locked.staged_photos.all().delete()
        storage = StagedPhoto._meta.get_field("file").storage  # type: ignore[attr-defined]

        def delete_staged_files() -> None:
            for name in staged_names:
                storage.delete(name)

        transaction.on_commit(delete_staged_files)
    return case, True


def staged_photos_purge(*, older_than_hours: int = STAGED_PHOTO_HOURS) -> int:
    """Delete photos of forms never submitted, and forms that never became a case, after a day."""
    cutoff = timezone.now() - dt.timedelta(hours=older_than_hours)
    count = 0
    for staged in StagedPhoto.objects.filter(created_at__lt=cutoff).iterator():
        staged.file.delete(save=False)
        staged.delete()
        count += 1
    Submission.objects.filter(case=None, created_at__lt=cutoff).delete()
    return count
