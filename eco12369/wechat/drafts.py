"""The report a reporter builds in the chat (text, place, photos) until ``提交`` files it as a case."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections, router, transaction
from django.utils import timezone

from eco12369.cases.classify import guess_category, outside_scope_hint
from eco12369.cases.models import DESCRIPTION_MIN, TEXT_MAX, Case, Channel
from eco12369.cases.services import Intake, UploadWithPoster, case_create
from eco12369.cases.workflow import TransitionError
from eco12369.db import from_row, prepared_cursor
from eco12369.orgs.geo import region_and_bureau_at

from . import texts
from .media import MEDIA_NAMES
from .models import Conversation, DraftPhoto, InboundMessage
from .tasks import attach_chat_photo

MAX_DRAFT_PHOTOS = 9
MAX_DRAFT_MEDIA = 3  # voice messages, and videos, per report
MAX_DRAFT_TEXT = TEXT_MAX  # the H5 form's limit too (issue 12, D20)


def draft_start(conv: Conversation) -> None:
    if conv.state != Conversation.State.DRAFTING:
        conv.state = Conversation.State.DRAFTING
        conv.draft_started_at = timezone.now()


def draft_add_text(conv: Conversation, content: str) -> str:
    """Add a message's text to ``conv``'s draft; the reply. Text over ``MAX_DRAFT_TEXT`` is cut and the
    reporter told how much was kept (issue 11, L7); a matter outside Art. 6 gets a hint where to go."""
    draft_start(conv)
    first = not conv.draft_text
    text = content.strip()
    joined = (conv.draft_text + "\n" + text).strip()
    conv.draft_text = joined[:MAX_DRAFT_TEXT]
    reply = texts.DRAFT_STARTED if first else texts.DRAFT_TEXT_ADDED
    if len(joined) > MAX_DRAFT_TEXT:  # said, never silently cut
        kept = MAX_DRAFT_TEXT - (len(joined) - len(text))
        reply = texts.TEXT_CUT.format(limit=MAX_DRAFT_TEXT, kept=max(kept, 0)) + "\n" + reply
    hint = outside_scope_hint(text)
    if hint is not None:
        reply += "\n" + texts.OUT_OF_SCOPE.format(hint=hint)
    return reply


def description_length(text: str) -> int:
    """The characters of a description that say something (letters, digits, Chinese): what the minimum
    counts, so “。。。。。” or five spaces are not a report."""
    return sum(1 for ch in text if ch.isalnum())


def draft_discard(conv: Conversation, photos: list[DraftPhoto] | None = None) -> None:
    """Throw away ``conv``'s draft (text, place, photos and, after commit, their files); the caller saves.
    ``photos``: the draft's photos when the caller has just read them (all of them)."""
    photos = list(conv.photos.all()) if photos is None else photos
    conv.state = Conversation.State.IDLE
    conv.draft_text = ""
    conv.draft_latitude = conv.draft_longitude = None
    conv.draft_label = ""
    conv.draft_started_at = None
    if not photos:  # most reports (the ORM's delete of nothing still costs a collector: 提交's hot path)
        return
    names = [f.name for p in photos for f in (p.file, p.thumb_file) if f]
    DraftPhoto.objects.filter(pk__in=[p.pk for p in photos]).delete()

    def delete_files() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete_files, robust=True)


def draft_submit(conv: Conversation, inbound: InboundMessage) -> tuple[str, Case | None]:
    if not conv.draft_text.strip():
        return texts.NEED_TEXT, None
    length = description_length(conv.draft_text)
    if length < DESCRIPTION_MIN:  # the H5 form's minimum (issue 12, D1)
        return texts.TOO_SHORT.format(count=length, minimum=DESCRIPTION_MIN), None
    district, bureau = region_and_bureau_at(conv.draft_latitude, conv.draft_longitude)
    drafted = _draft_photos(conv)
    photos, pending = _draft_photo_files(drafted)
    description = conv.draft_text
    try:
        case = case_create(
            intake=Intake(
                channel=Channel.WECHAT_CHAT,
                description=description,
                category=guess_category(conv.draft_text),
                district=district,
                bureau=bureau,
                address=conv.draft_label,
                latitude=conv.draft_latitude,
                longitude=conv.draft_longitude,
                reporter_openid=conv.openid,
                photos=photos,
            )
        )
    except TransitionError as exc:
        return exc.message, None
    draft_discard(conv, drafted)
    if pending:
        case_id = case.pk

        def enqueue() -> None:
            for index, media_id, kind, thumb in pending:
                attach_chat_photo(case_id, media_id, index, kind, thumb)

        transaction.on_commit(enqueue, robust=True)
    return "", case


_PHOTO_SQL: dict[str, str] = {}


def _draft_photos(conv: Conversation) -> list[DraftPhoto]:
    """``conv.photos.order_by("id")``, the statement written once from the model's metadata (compiling the
    ORM's query cost more CPU than running it: 提交's hot path)."""
    alias = router.db_for_write(DraftPhoto)
    connection = connections[alias]
    fields = DraftPhoto._meta.concrete_fields
    if alias not in _PHOTO_SQL:
        qn = connection.ops.quote_name
        conversation = qn(DraftPhoto._meta.get_field("conversation").column)  # type: ignore[union-attr]
        _PHOTO_SQL[alias] = (
            f"SELECT {', '.join(qn(f.column) for f in fields)} FROM {qn(DraftPhoto._meta.db_table)} "  # noqa: S608
            f"WHERE {conversation} = %s ORDER BY {qn(DraftPhoto._meta.pk.column)}"  # type: ignore[union-attr]
        )
    with prepared_cursor(connection) as cursor:
        cursor.execute(_PHOTO_SQL[alias], [conv.pk])
        rows = cursor.fetchall()
    return [from_row(DraftPhoto, fields, row, alias) for row in rows]


_IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}  # cleaned photos' extensions


def _draft_photo_files(drafted: list[DraftPhoto]) -> tuple[list[Any], list[tuple[int, str, str, str]]]:
    """The draft's photos already fetched, as uploads (a video with its poster), and (number, media_id,
    kind, thumb media_id) of those not fetched yet: a task attaches them to the case after it is filed
    (WeChat keeps media 3 days). Nothing is downloaded here, inside the callback's transaction and the
    conversation's lock."""
    files: list[Any] = []
    pending: list[tuple[int, str, str, str]] = []
    numbers: dict[str, int] = {}
    for photo in drafted:
        index = numbers[photo.kind] = numbers.get(photo.kind, 0) + 1  # 微信照片1, 微信语音1, …
        if photo.fetched_at is None or not photo.file:
            pending.append((index, photo.media_id, photo.kind, photo.thumb_media_id))
            continue
        with photo.file.open("rb") as fh:
            data = fh.read()
        ext = photo.file.name.rsplit(".", 1)[-1] if "." in photo.file.name else "jpg"
        base = f"{MEDIA_NAMES[DraftPhoto.Kind(photo.kind)]}{index}"
        if photo.thumb_file:
            with photo.thumb_file.open("rb") as fh:
                thumb = fh.read()
            thumb_ext = photo.thumb_file.name.rsplit(".", 1)[-1] if "." in photo.thumb_file.name else "jpg"
            poster = SimpleUploadedFile(
                f"{base}封面.{thumb_ext}", thumb, content_type=_IMAGE_TYPES.get(thumb_ext, "image/jpeg")
            )
            files.append(UploadWithPoster(f"{base}.{ext}", data, photo.content_type, poster=poster))
            continue
        files.append(SimpleUploadedFile(f"{base}.{ext}", data, content_type=photo.content_type))
    return files, pending
