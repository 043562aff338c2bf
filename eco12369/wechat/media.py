"""Fetching the reporter's chat photos from WeChat (``media/get``): the bodies of the Huey tasks in
``tasks`` (a draft's photo as soon as it arrives; a submitted case's late photo)."""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from wechatpy.exceptions import WeChatClientException

from eco12369.cases.models import Attachment, Case, CaseEvent
from eco12369.cases.photos import CleanPhoto, PhotoRejected, photo_clean
from eco12369.cases.services import attachment_add, random_upload_name

from .client import API_TIMEOUT_SECONDS, api_client
from .models import DraftPhoto

logger = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 10 * 1024 * 1024
# WeChat's answers to media/get that no retry will change: invalid or expired media_id.
MEDIA_GONE_ERRORS = {40007, 40008}


class MediaUnusable(ValueError):
    """WeChat's media is not a photo that can be kept (or no longer exists): trying again will not help."""


def _media_fetch(media_id: str, timeout: float) -> CleanPhoto:
    """Download a photo from WeChat (``media/get``); only real images (JPEG, PNG, WebP) up to 10 MiB are
    kept, and only cleaned of their metadata: a photo sent as 原图 carries the phone's GPS position.
    Network and WeChat errors propagate (worth retrying); ``MediaUnusable`` is final."""
    try:
        res = api_client().get("media/get", params={"media_id": media_id}, timeout=timeout)
    except WeChatClientException as exc:
        if exc.errcode in MEDIA_GONE_ERRORS:
            raise MediaUnusable(f"media/get refused: {exc.errcode}") from exc
        raise
    data = getattr(res, "content", None)
    if not isinstance(data, bytes):
        raise MediaUnusable("media/get did not return a file")
    if len(data) > MAX_PHOTO_BYTES:
        raise MediaUnusable("photo larger than 10 MiB")
    try:
        return photo_clean(data)
    except PhotoRejected as exc:
        raise MediaUnusable(f"not a usable image ({exc.code})") from exc


def _fetch_into(photo: DraftPhoto, timeout: float) -> None:
    cleaned = _media_fetch(photo.media_id, timeout)
    # A random name, as for case photos: the row id would make every reporter's photo guessable.
    photo.file.save(random_upload_name("photo" + cleaned.extension), ContentFile(cleaned.data), save=False)
    photo.content_type = cleaned.content_type
    photo.size = len(cleaned.data)
    photo.fetched_at = timezone.now()
    photo.error = ""
    fields = ["file", "content_type", "size", "fetched_at", "error"]
    if not DraftPhoto.objects.filter(pk=photo.pk).update(**{f: getattr(photo, f) for f in fields}):
        # The draft was submitted or cancelled meanwhile (a submitted photo is attached by its own task).
        photo.file.delete(save=False)


def case_photo_attach(*, case_id: int, media_id: str, index: int, last_try: bool = False) -> str:
    """Huey task body: attach chat photo number ``index`` (not fetched when the report was submitted) to
    the case. Idempotent: the photo is attached once (checked under the case's lock). Raises on network
    and WeChat errors, so the task is retried; a media WeChat refuses or that is no image is given up.
    Either end is a line on the case's timeline, so staff know a photo came late or not at all."""
    name = f"微信照片{index}"
    if not Case.objects.filter(pk=case_id).exists():
        return "skipped"
    if Attachment.objects.filter(case_id=case_id, original_name__startswith=name + ".").exists():
        return "attached"
    try:
        cleaned = _media_fetch(media_id, timeout=API_TIMEOUT_SECONDS)
    except MediaUnusable as exc:
        logger.warning("chat photo %s of case %s given up: %s", index, case_id, exc)
        _photo_event(case_id, "photo_failed", f"{name}未能从微信取回：{exc}")
        return "failed"
    except Exception as exc:
        if last_try:
            _photo_event(
                case_id, "photo_failed", f"{name}多次尝试仍未能从微信取回（{exc.__class__.__name__}）。"
            )
        raise
    with transaction.atomic():
        case = Case.objects.select_for_update().filter(pk=case_id).first()
        if case is None:
            return "skipped"
        if case.attachments.filter(original_name__startswith=name + ".").exists():
            return "attached"
        attachment_add(
            case=case, photo=SimpleUploadedFile(name + cleaned.extension, cleaned.data, cleaned.content_type)
        )
        _photo_event(case_id, "photo_attach", f"{name}在提交后从微信取回，已附入本件。")
    return "attached"


def _photo_event(case_id: int, action: str, note: str) -> None:
    CaseEvent.objects.create(case_id=case_id, action=action, at=timezone.now(), note=note[:500])


def draft_photo_fetch(*, photo_id: int) -> str:
    """Huey task body: fetch a chat photo as soon as it arrives, so ``提交`` finds it ready."""
    photo = DraftPhoto.objects.filter(pk=photo_id, fetched_at__isnull=True).first()
    if photo is None:
        return "skipped"
    try:
        _fetch_into(photo, timeout=10)
    except Exception as exc:
        DraftPhoto.objects.filter(pk=photo_id).update(error=f"{exc.__class__.__name__}: {exc}"[:300])
        return "failed"
    return "fetched"
