"""One handler per kind of message or event the reporter sends (``inbound.HANDLERS`` dispatches): each
changes the locked conversation and returns the passive reply and the case it filed, if any."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction

from eco12369.cases.models import Case
from eco12369.orgs.geo import district_for

from . import texts
from .drafts import MAX_DRAFT_PHOTOS, MAX_DRAFT_TEXT, draft_discard, draft_start, draft_submit
from .models import Conversation, DraftPhoto, InboundMessage
from .rating import rating_reply  # 评价 <编号> 1/2/3 [意见] (issue #7)
from .status import reporter_status
from .tasks import fetch_draft_photo

QUERY_RE = re.compile(r"^(?:查询|查詢|查)\s*[:：]?\s*([A-Za-z]{0,6}\d{6,20})?$")

Handler = Callable[[Conversation, InboundMessage, dict[str, Any]], tuple[str, Case | None]]


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u3000", " ")).strip().strip("。.！!～~")


def on_text(conv: Conversation, inbound: InboundMessage, fields: dict[str, Any]) -> tuple[str, Case | None]:
    content = str(fields.get("Content") or "")
    command = _normalise(content)
    if command in {"提交", "提交举报", "确认提交"}:
        return draft_submit(conv, inbound)
    if command in {"取消", "取消举报", "放弃"}:
        draft_discard(conv)
        return texts.CANCELLED, None
    if command in {"帮助", "help", "HELP", "?", "？", "菜单"}:
        return texts.HELP, None
    if command in {"举报须知", "须知"}:
        return texts.RULES, None
    match = QUERY_RE.match(command)
    if match:
        return reporter_status(conv.openid, match.group(1)), None
    rated = rating_reply(conv.openid, content)
    if rated is not None:
        return rated, None
    if not command:
        return texts.HELP, None
    draft_start(conv)
    first = not conv.draft_text
    conv.draft_text = (conv.draft_text + "\n" + content.strip()).strip()[:MAX_DRAFT_TEXT]
    return (texts.DRAFT_STARTED if first else texts.DRAFT_TEXT_ADDED), None


def on_image(conv: Conversation, inbound: InboundMessage, fields: dict[str, Any]) -> tuple[str, Case | None]:
    media_id = str(fields.get("MediaId") or "")[:200]
    if not media_id:
        return texts.IMAGE_MISSING, None
    draft_start(conv)
    conv.save()
    count = conv.photos.count()
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
    return "", None


HANDLERS: dict[str, Handler] = {
    "text": on_text,
    "image": on_image,
    "location": on_location,
    "event:subscribe": on_subscribe,
    "event:unsubscribe": on_unsubscribe,
    "event:click": on_click,
    "event:view": on_silent,
    "event:scan": on_silent,
    "event:location": on_silent,
    "event:subscribe_msg_popup_event": on_subscribe_popup,
}
