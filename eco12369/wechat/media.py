"""Fetching the reporter's chat photos, voice messages and videos from WeChat (``media/get``): the bodies
of the Huey tasks in ``tasks`` (a draft's media as soon as it arrives; a submitted case's late one).

Voice (issue 14, item 3) comes as AMR (or Speex), which no browser plays: it is transcoded to MP3 with
ffmpeg (Debian's package) so the case page can play it; where ffmpeg is missing or fails, the AMR is kept
and the case page offers it as a download. Video comes as MP4 and is kept as it is."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from wechatpy.exceptions import WeChatClientException

from eco12369.cases.events import case_event_record
from eco12369.cases.models import Action, Attachment, Case
from eco12369.cases.photos import CleanPhoto, PhotoRejected, photo_clean
from eco12369.cases.services import UploadWithPoster, attachment_add, random_upload_name
from eco12369.notifications.models import OutboxMessage
from eco12369.notifications.services import outbox_write

from . import texts
from .client import API_TIMEOUT_SECONDS, api_client
from .models import DraftPhoto

logger = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 10 * 1024 * 1024
# WeChat's own limits for what a reporter can send: a voice message of 60 s is far below 2 MiB, a video
# up to 10 MiB (公众号临时素材: voice 2M, video 10M).
MAX_VOICE_BYTES = 2 * 1024 * 1024
MAX_VIDEO_BYTES = 10 * 1024 * 1024
VOICE_FORMATS = {"amr", "speex", "mp3"}
TRANSCODE_SECONDS = 60
# What the attachment is called on the case, by kind.
MEDIA_NAMES = {
    DraftPhoto.Kind.IMAGE: "微信照片",
    DraftPhoto.Kind.VOICE: "微信语音",
    DraftPhoto.Kind.VIDEO: "微信视频",
}
# WeChat's answers to media/get that no retry will change: invalid or expired media_id.
MEDIA_GONE_ERRORS = {40007, 40008}


class MediaUnusable(ValueError):
    """WeChat's media is not a photo that can be kept (or no longer exists): trying again will not help."""


def _media_download(media_id: str, timeout: float) -> bytes:
    try:
        res: Any = api_client().get("media/get", params={"media_id": media_id}, timeout=timeout)
    except WeChatClientException as exc:
        if exc.errcode in MEDIA_GONE_ERRORS:
            raise MediaUnusable(f"media/get refused: {exc.errcode}") from exc
        raise
    data = getattr(res, "content", None)
    if not isinstance(data, bytes):
        raise MediaUnusable("media/get did not return a file")
    return data


def _media_fetch(media_id: str, timeout: float, kind: str = DraftPhoto.Kind.IMAGE) -> CleanPhoto:
    """Download a photo, voice message or video from WeChat (``media/get``) and check it by content.
    Photos: only real images (JPEG, PNG, WebP) up to 10 MiB, cleaned of their metadata (a photo sent as
    原图 carries the phone's GPS position). Voice: AMR, Speex or MP3 up to 2 MiB, transcoded to MP3.
    Video: MP4 up to 10 MiB. Network and WeChat errors propagate (worth retrying); ``MediaUnusable``
    (saying why, in Chinese) is final."""
    data = _media_download(media_id, timeout)
    if kind == DraftPhoto.Kind.VOICE:
        return voice_clean(data)
    if kind == DraftPhoto.Kind.VIDEO:
        return video_clean(data)
    if len(data) > MAX_PHOTO_BYTES:
        raise MediaUnusable("照片超过10MB")
    try:
        return photo_clean(data)
    except PhotoRejected as exc:
        raise MediaUnusable(f"不是可用的图片（{exc.code}）") from exc


def voice_clean(data: bytes) -> CleanPhoto:
    """A voice message as the case keeps it: MP3 when ffmpeg can transcode it, else the AMR as sent."""
    if len(data) > MAX_VOICE_BYTES:
        raise MediaUnusable("语音超过2MB")
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return CleanPhoto(data=data, content_type="audio/mpeg", extension=".mp3")
    if data.startswith(b"#!AMR"):
        mp3 = transcode(data, suffix=".amr", args=["-vn", "-ac", "1", "-b:a", "32k", "-f", "mp3"])
        if mp3:
            return CleanPhoto(data=mp3, content_type="audio/mpeg", extension=".mp3")
        return CleanPhoto(data=data, content_type="audio/amr", extension=".amr")
    if data.startswith(b"Speex") or data.startswith(b"OggS"):
        ogg = transcode(data, suffix=".spx", args=["-vn", "-ac", "1", "-b:a", "32k", "-f", "mp3"])
        if ogg:
            return CleanPhoto(data=ogg, content_type="audio/mpeg", extension=".mp3")
        return CleanPhoto(data=data, content_type="audio/ogg", extension=".spx")
    raise MediaUnusable("不是微信语音格式（AMR、Speex或MP3）")


def video_clean(data: bytes) -> CleanPhoto:
    """A video as the case keeps it: an MP4 (ISO media: ``ftyp`` box first) up to 10 MiB, as sent."""
    if len(data) > MAX_VIDEO_BYTES:
        raise MediaUnusable("视频超过10MB")
    if data[4:8] != b"ftyp":
        raise MediaUnusable("不是MP4视频")
    return CleanPhoto(data=data, content_type="video/mp4", extension=".mp4")


def transcode(data: bytes, *, suffix: str, args: list[str]) -> bytes | None:
    """``data`` through ffmpeg (input ``suffix``, output ``args``); None when ffmpeg is missing or fails."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / f"in{suffix}", Path(tmp) / "out"
        source.write_bytes(data)
        command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(source), *args]
        try:
            subprocess.run(
                [*command, str(target)], check=True, capture_output=True, timeout=TRANSCODE_SECONDS
            )
        except (OSError, subprocess.SubprocessError) as exc:
            logger.warning("ffmpeg could not transcode a %s file: %s", suffix, exc.__class__.__name__)
            return None
        return target.read_bytes() if target.exists() and target.stat().st_size else None


def thumb_fetch(media_id: str, timeout: float) -> CleanPhoto | None:
    """A video's first frame (``ThumbMediaId``), cleaned as a photo, for the case page's poster. A poster is
    a nicety: any failure (WeChat refuses it, it is no image, the network) leaves the video without one."""
    if not media_id:
        return None
    try:
        return _media_fetch(media_id, timeout, DraftPhoto.Kind.IMAGE)
    except Exception as exc:  # the video itself is kept whatever happens to its poster
        logger.info("video thumbnail not kept: %s", exc.__class__.__name__)
        return None


def _fetch_into(photo: DraftPhoto, timeout: float) -> None:
    cleaned = _media_fetch(photo.media_id, timeout, photo.kind)
    # A random name, as for case photos: the row id would make every reporter's photo guessable.
    photo.file.save(random_upload_name(photo.kind + cleaned.extension), ContentFile(cleaned.data), save=False)
    photo.content_type = cleaned.content_type
    photo.size = len(cleaned.data)
    photo.fetched_at = timezone.now()
    photo.error = ""
    fields = ["file", "content_type", "size", "fetched_at", "error"]
    thumb = thumb_fetch(photo.thumb_media_id, timeout) if photo.kind == DraftPhoto.Kind.VIDEO else None
    if thumb is not None:
        photo.thumb_file.save(
            random_upload_name("thumb" + thumb.extension), ContentFile(thumb.data), save=False
        )
        fields.append("thumb_file")
    if not DraftPhoto.objects.filter(pk=photo.pk).update(**{f: getattr(photo, f) for f in fields}):
        # The draft was submitted or cancelled meanwhile (a submitted photo is attached by its own task).
        photo.file.delete(save=False)
        if thumb is not None:
            photo.thumb_file.delete(save=False)


def case_photo_attach(
    *,
    case_id: int,
    media_id: str,
    index: int,
    last_try: bool = False,
    kind: str = DraftPhoto.Kind.IMAGE,
    thumb_media_id: str = "",
) -> str:
    """Huey task body: attach chat photo number ``index`` (not fetched when the report was submitted) to
    the case. Idempotent: the photo is attached once (checked under the case's lock). Raises on network
    and WeChat errors, so the task is retried; a media WeChat refuses or that is no image is given up.
    Either end is a line on the case's timeline, so staff know a photo came late or not at all."""
    name = f"{MEDIA_NAMES[DraftPhoto.Kind(kind)]}{index}"
    if not Case.objects.filter(pk=case_id).exists():
        return "skipped"
    if Attachment.objects.filter(case_id=case_id, original_name__startswith=name + ".").exists():
        return "attached"
    try:
        cleaned = _media_fetch(media_id, timeout=API_TIMEOUT_SECONDS, kind=kind)
    except MediaUnusable as exc:
        logger.warning("chat photo %s of case %s given up: %s", index, case_id, exc)
        _photo_event(case_id, Action.PHOTO_FAILED, f"{name}未能从微信取回：{exc}")
        return "failed"
    except Exception as exc:
        if last_try:
            _photo_event(
                case_id, Action.PHOTO_FAILED, f"{name}多次尝试仍未能从微信取回（{exc.__class__.__name__}）。"
            )
        raise
    thumb = thumb_fetch(thumb_media_id, API_TIMEOUT_SECONDS) if kind == DraftPhoto.Kind.VIDEO else None
    with transaction.atomic():
        case = Case.objects.select_for_update().filter(pk=case_id).first()
        if case is None:
            return "skipped"
        if case.attachments.filter(original_name__startswith=name + ".").exists():
            return "attached"
        upload: SimpleUploadedFile = SimpleUploadedFile(
            name + cleaned.extension, cleaned.data, cleaned.content_type
        )
        if thumb is not None:
            poster = SimpleUploadedFile(f"{name}封面{thumb.extension}", thumb.data, thumb.content_type)
            upload = UploadWithPoster(upload.name or "", cleaned.data, cleaned.content_type, poster=poster)
        attachment_add(case=case, photo=upload)
        _photo_event(case_id, Action.PHOTO_ATTACH, f"{name}在提交后从微信取回，已附入本件。")
    return "attached"


def _photo_event(case_id: int, action: Action, note: str) -> None:
    case_event_record(case=case_id, action=action, note=note[:500])


def draft_photo_fetch(*, photo_id: int) -> str:
    """Huey task body: fetch a chat photo as soon as it arrives, so ``提交`` finds it ready."""
    photo = DraftPhoto.objects.filter(pk=photo_id, fetched_at__isnull=True).first()
    if photo is None:
        return "skipped"
    try:
        _fetch_into(photo, timeout=10)
    except MediaUnusable as exc:
        # Final: the reporter is told why, so they can send it again in a form that can be kept.
        with transaction.atomic():
            DraftPhoto.objects.filter(pk=photo_id).update(error=f"MediaUnusable: {exc}"[:300])
            what = DraftPhoto.Kind(photo.kind).label
            text = texts.MEDIA_REFUSED.format(what=what, reason=exc)
            outbox_write(
                case=None, template=OutboxMessage.Template.HELP, text=text, openid=photo.conversation.openid
            )
        return "refused"
    except Exception as exc:
        DraftPhoto.objects.filter(pk=photo_id).update(error=f"{exc.__class__.__name__}: {exc}"[:300])
        return "failed"
    return "fetched"
