"""One handler per kind of message or event the reporter sends (``inbound.HANDLERS`` dispatches): each
changes the locked conversation and returns the passive reply and the case it filed, if any."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction

from eco12369.cases.models import Case
from eco12369.orgs.geo import district_for

from . import texts
from .commands import command_of
from .drafts import (
    MAX_DRAFT_MEDIA,
    MAX_DRAFT_PHOTOS,
    draft_add_text,
    draft_discard,
    draft_start,
    draft_submit,
)
from .media import VOICE_FORMATS
from .models import Conversation, DraftPhoto, InboundMessage
from .rating import rating_reply  # 评价 <编号> 1/2/3 [意见] (issue #7)
from .status import reporter_status, status_by_code
from .tasks import fetch_draft_photo

Handler = Callable[[Conversation, InboundMessage, dict[str, Any]], tuple[str, Case | None]]


def on_text(conv: Conversation, inbound: InboundMessage, fields: dict[str, Any]) -> tuple[str, Case | None]:
    content = str(fields.get("Content") or "")
    command = command_of(content)
    if command is None:
        rated = rating_reply(conv.openid, content)
        if rated is not None:
            return rated, None
        return draft_add_text(conv, content), None
    if command.name == "submit":
        if command.text:
            draft_add_text(conv, command.text)
        return draft_submit(conv, inbound)
    if command.name == "cancel":
        draft_discard(conv)
        return texts.CANCELLED, None
    if command.name == "rules":
        return texts.RULES, None
    if command.name == "query":
        if command.malformed:
            return texts.QUERY_HOW, None
        if command.arg and command.code:
            return status_by_code(conv, command.arg, command.code), None
        return reporter_status(conv.openid, command.arg), None
    return texts.HELP, None  # help, a greeting, an empty message


def on_image(conv: Conversation, inbound: InboundMessage, fields: dict[str, Any]) -> tuple[str, Case | None]:
    media_id = str(fields.get("MediaId") or "")[:200]
    if not media_id:
        return texts.IMAGE_MISSING, None
    draft_start(conv)
    conv.save()
    count = conv.photos.filter(kind=DraftPhoto.Kind.IMAGE).count()
    if count >= MAX_DRAFT_PHOTOS:
        return texts.TOO_MANY_PHOTOS, None
    photo, created = DraftPhoto.objects.get_or_create(
        conversation=conv, media_id=media_id, defaults={"pic_url": str(fields.get("PicUrl") or "")[:1000]}
    )
    if created:
        photo_id = photo.pk

        transaction.on_commit(lambda: fetch_draft_photo(photo_id), robust=True)
        count += 1
    return texts.photo_received(
        count, has_text=bool(conv.draft_text), has_location=conv.draft_latitude is not None
    ), None


def on_media(conv: Conversation, inbound: InboundMessage, fields: dict[str, Any]) -> tuple[str, Case | None]:
    """A voice message, a video or a short video (issue 14, item 3): fetched by Huey as photos are, kept on
    the case; the text WeChat recognised in a voice message (``Recognition``) becomes report text."""
    kind = DraftPhoto.Kind.VOICE if inbound.msg_type == "voice" else DraftPhoto.Kind.VIDEO
    media_id = str(fields.get("MediaId") or "")[:200]
    if not media_id:
        return texts.MEDIA_MISSING, None
    voice_format = str(fields.get("Format") or "").strip().lower()
    if kind == DraftPhoto.Kind.VOICE and voice_format not in VOICE_FORMATS:
        return texts.VOICE_FORMAT_REFUSED.format(format=voice_format or "未知"), None
    draft_start(conv)
    recognition = str(fields.get("Recognition") or "").strip()
    if recognition:
        draft_add_text(conv, recognition)
    conv.save()
    count = conv.photos.filter(kind=kind).count()
    if count >= MAX_DRAFT_MEDIA:
        return texts.TOO_MANY_MEDIA.format(limit=MAX_DRAFT_MEDIA), None
    thumb = str(fields.get("ThumbMediaId") or "")[:200] if kind == DraftPhoto.Kind.VIDEO else ""
    item, created = DraftPhoto.objects.get_or_create(
        conversation=conv, media_id=media_id, defaults={"kind": kind, "thumb_media_id": thumb}
    )
    if created:
        item_id = item.pk
        transaction.on_commit(lambda: fetch_draft_photo(item_id), robust=True)
        count += 1
    return texts.media_received(
        kind, count, recognised=bool(recognition), has_location=conv.draft_latitude is not None
    ), None


def on_location(
    conv: Conversation, inbound: InboundMessage, fields: dict[str, Any]
) -> tuple[str, Case | None]:
    try:
        lat = Decimal(str(fields.get("Location_X"))).quantize(Decimal("0.000001"))
        lng = Decimal(str(fields.get("Location_Y"))).quantize(Decimal("0.000001"))
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        return texts.LOCATION_INVALID, None
    draft_start(conv)
    conv.draft_latitude, conv.draft_longitude = lat, lng
    conv.draft_label = str(fields.get("Label") or "")[:300]
    return texts.location_received(
        conv.draft_label, district_for(lat, lng), has_text=bool(conv.draft_text)
    ), None


def on_subscribe(
    conv: Conversation, inbound: InboundMessage, fields: dict[str, Any]
) -> tuple[str, Case | None]:
    conv.subscribed = True
    return texts.WELCOME, None


def on_unsubscribe(
    conv: Conversation, inbound: InboundMessage, fields: dict[str, Any]
) -> tuple[str, Case | None]:
    conv.subscribed = False
    return "", None


def on_click(conv: Conversation, inbound: InboundMessage, fields: dict[str, Any]) -> tuple[str, Case | None]:
    key = str(fields.get("EventKey") or "")
    if key == texts.MENU_RULES_KEY:
        return texts.RULES, None
    return texts.HELP, None


def on_silent(conv: Conversation, inbound: InboundMessage, fields: dict[str, Any]) -> tuple[str, Case | None]:
    return "", None


def on_subscribe_popup(
    conv: Conversation, inbound: InboundMessage, fields: dict[str, Any]
) -> tuple[str, Case | None]:
    """The reporter answered the subscription-notice prompt (订阅通知授权)."""
    template_id = settings.WECHAT["SUBSCRIBE_TEMPLATE_ID"]
    box = fields.get("SubscribeMsgPopupEvent") or {}
    items = box.get("List") if isinstance(box, dict) else None
    if isinstance(items, dict):
        items = [items]
    for item in items or []:
        if isinstance(item, dict) and item.get("TemplateId") == template_id:
            conv.notify_consent = str(item.get("SubscribeStatusString", "")).lower() == "accept"
            return (texts.NOTIFY_ON if conv.notify_consent else texts.NOTIFY_OFF), None
    return "", None


HANDLERS: dict[str, Handler] = {
    "text": on_text,
    "image": on_image,
    "location": on_location,
    "voice": on_media,
    "video": on_media,
    "shortvideo": on_media,
    "event:subscribe": on_subscribe,
    "event:unsubscribe": on_unsubscribe,
    "event:click": on_click,
    "event:view": on_silent,
    "event:scan": on_silent,
    "event:location": on_silent,
    "event:subscribe_msg_popup_event": on_subscribe_popup,
}
