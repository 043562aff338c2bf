"""What the platform does with each verified message from a reporter (issue #3 item 2).

Decision: the callback processes a message *synchronously, in its own request*, and answers with a passive
reply. The work is local (a few rows; ``case_create`` is one short transaction) and takes milliseconds,
well inside WeChat's 5 seconds; the one slow, remote step, fetching photos from WeChat (``media/get``),
runs in a Huey task as soon as an image arrives. Processing in order, in the request, keeps a reporter's
messages in the order WeChat delivers them (a ``提交`` never overtakes the photo before it), and passive
replies do not use up the 5 customer-service messages allowed in 48 hours, which later notices need.

The acknowledgement written by ``case_create`` goes out as the passive reply and its outbox row is marked
sent in the same transaction, so it is never sent twice. If the request ran long (over
``PASSIVE_BUDGET_SECONDS``), the row stays pending and the outbox delivers it instead.

De-duplication: inserting ``InboundMessage`` (unique ``dedupe_key``) is the lock. A second delivery of the
same MsgId, even concurrent, fails that insert and creates nothing. If it arrives later than WeChat's
retry interval (WeChat retries only when it did not get our answer in time), it gets the same passive
reply again, which is what WeChat shows the reporter once; an earlier (concurrent) duplicate gets the
empty answer ``success``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from wechatpy.exceptions import WeChatClientException

from eco12369.cases.classify import guess_category
from eco12369.cases.models import Attachment, Case, CaseEvent, Channel, Outcome, State
from eco12369.cases.photos import CleanPhoto, PhotoRejected, photo_clean
from eco12369.cases.public import public_summary
from eco12369.cases.services import Intake, attachment_add, case_create, random_upload_name
from eco12369.cases.workflow import TransitionError
from eco12369.crypto import blind_index
from eco12369.db import insert_if_absent
from eco12369.orgs.geo import district_for, region_at
from eco12369.portal.selectors import public_status

from . import texts
from .callback import CallbackError, Envelope
from .client import API_TIMEOUT_SECONDS, api_client
from .models import Conversation, DraftPhoto, InboundMessage, OutboxMessage, SeenNonce
from .selectors import approved_reply_of, case_for_reporter, case_merged_for_reporter, cases_of_reporter
from .services import outbox_mark_passive, outbox_release_waiting

logger = logging.getLogger(__name__)

PASSIVE_BUDGET_SECONDS = 4.0
WECHAT_RETRY_SECONDS = 4.5
MAX_DRAFT_PHOTOS = 9
MAX_DRAFT_TEXT = 5000
MAX_PHOTO_BYTES = 10 * 1024 * 1024
# WeChat's answers to media/get that no retry will change: invalid or expired media_id.
MEDIA_GONE_ERRORS = {40007, 40008}

USER_MESSAGE_TYPES = {"text", "image", "location"}
UNSUPPORTED_USER_TYPES = {"voice", "video", "shortvideo", "link", "file", "music", "news"}
# What opens the 48-hour customer-service window (5 messages; DESIGN §9): only a message the reporter sends.
# Per WeChat's 客服消息 rules a menu CLICK, subscribing or scanning a QR code allow 3 messages within 1
# minute (the passive reply covers that), and a VIEW link, a LOCATION report or a subscription-notice
# answer open nothing, so none of them moves ``last_inbound_at``.
WINDOW_OPENING_KINDS = USER_MESSAGE_TYPES
KNOWN_EVENTS = {"subscribe", "unsubscribe", "click", "view", "scan", "location", "subscribe_msg_popup_event"}

QUERY_RE = re.compile(r"^(?:查询|查詢|查)\s*[:：]?\s*([A-Za-z]{0,6}\d{6,20})?$")

Handler = Callable[[Conversation, InboundMessage, dict[str, Any]], tuple[str, Case | None]]


# ------------------------------------------------------------------------------------------ entry
def message_kind(fields: dict[str, Any]) -> str | None:
    """``text`` / ``image`` / ``location`` / ``event:<name>`` for what we handle; None otherwise."""
    msg_type = str(fields.get("MsgType", "")).lower()
    if msg_type in USER_MESSAGE_TYPES:
        return msg_type
    if msg_type == "event":
        event = str(fields.get("Event", "")).lower()
        return f"event:{event}" if event in KNOWN_EVENTS else None
    return None


def dedupe_key(fields: dict[str, Any], openid_digest: str) -> str:
    """MsgId for messages; for events, which have none, the sender (the blind index of FromUserName, never
    the openid itself) + CreateTime + the event's name."""
    msg_id = fields.get("MsgId")
    if msg_id:
        return f"msg:{msg_id}"[:250]
    return f"evt:{openid_digest}:{fields['CreateTime']}:{str(fields.get('Event', '')).lower()}"[:250]


_FROM_USER = re.compile(r"<FromUserName\b[^>]*?(?:/>|>.*?</FromUserName>)", re.DOTALL)


def sender_removed(xml: str, openid: str) -> str:
    """The pushed XML as the callback records it: ``FromUserName`` emptied, and the openid nowhere else
    either (the row's ``openid_digest`` says who sent it)."""
    xml = _FROM_USER.sub("<FromUserName><![CDATA[]]></FromUserName>", xml)
    return xml.replace(openid, "") if openid else xml


def inbound_receive(*, envelope: Envelope, started: float | None = None) -> str:
    """Record and handle one verified message; return the passive reply text ('' for none).

    Raises ``CallbackError`` (a replayed nonce) with nothing written."""
    started = time.monotonic() if started is None else started
    fields = envelope.fields
    kind = message_kind(fields)
    if kind is None:
        # Voice, video, links…: answered politely, only the nonce recorded. Unknown events: the same.
        insert_if_absent(SeenNonce(key=envelope.nonce_key))
        return texts.UNSUPPORTED if str(fields.get("MsgType", "")).lower() != "event" else ""
    openid = str(fields["FromUserName"])
    # The request's one HMAC: the record, an event's key, the conversation and the waiting messages are
    # all found by it (the openid is stored encrypted or not at all).
    digest = blind_index(openid)
    key = dedupe_key(fields, digest)
    with transaction.atomic():
        # Each insert is the lock against its replay: one statement, skipped when the key exists.
        if not insert_if_absent(SeenNonce(key=envelope.nonce_key)):
            # WeChat's own retry may be the very same request, nonce included: a message already recorded
            # is answered as any retry is (nothing written). A new message under a used nonce is refused.
            if InboundMessage.objects.filter(dedupe_key=key).exists():
                return _duplicate_reply(key)
            raise CallbackError(403, "重复的请求（nonce 已使用） / replayed request (nonce already used)")
        inbound = InboundMessage(
            dedupe_key=key,
            openid_digest=digest,
            msg_type=str(fields["MsgType"]).lower(),
            event=str(fields.get("Event", ""))[:60],
            msg_id=str(fields.get("MsgId", ""))[:64],
            content=str(fields.get("Content", ""))[:MAX_DRAFT_TEXT],
            wechat_created_at=envelope.created_at,
            raw=sender_removed(envelope.xml, openid)[:20000],
        )
        if not insert_if_absent(inbound):
            return _duplicate_reply(key)
        conv = _conversation_locked(openid, digest)
        handler = HANDLERS[kind]
        reply, case = handler(conv, inbound, fields)
        if kind in WINDOW_OPENING_KINDS:
            conv.last_inbound_at = timezone.now()
        if kind in WINDOW_OPENING_KINDS or kind == "event:subscribe":
            # A channel may be open now (a reporter who follows again may get subscription notices).
            outbox_release_waiting(openid_digest=digest)
        conv.save(update_fields=CONVERSATION_STATE)  # not the openid: neither encrypted nor indexed again
        if case is not None:
            inbound.case = case
            ack = (
                OutboxMessage.objects.filter(case=case, template=OutboxMessage.Template.ACKNOWLEDGED)
                .order_by("id")
                .first()
            )
            if ack is not None and time.monotonic() - started < PASSIVE_BUDGET_SECONDS:
                outbox_mark_passive(message=ack)
                reply = ack.text
            else:
                # Too late for a passive reply WeChat would still accept: the outbox delivers it.
                inbound.status = InboundMessage.Status.DEFERRED
                reply = ""
        inbound.reply_text = reply
        inbound.save(update_fields=["case", "status", "reply_text"])
    return reply


def _duplicate_reply(key: str) -> str:
    original = InboundMessage.objects.filter(dedupe_key=key).first()
    if original is None or not original.reply_text:
        return ""
    if timezone.now() - original.received_at >= dt.timedelta(seconds=WECHAT_RETRY_SECONDS):
        return original.reply_text
    return ""


# What the handlers change of a conversation (all but its reporter).
CONVERSATION_STATE = tuple(
    f.name
    for f in Conversation._meta.concrete_fields
    if not f.primary_key and f.name not in ("openid", "openid_digest")
)


def _conversation_locked(openid: str, digest: str) -> Conversation:
    """The reporter's conversation, locked, found by ``digest`` (``blind_index(openid)``). Its stored openid
    is not read back (nor decrypted): it is the sender's, which the request has in clear."""
    locked = Conversation.objects.select_for_update().defer("openid")
    conv = locked.filter(openid_digest=digest).first()
    if conv is None:  # a first message (or two at once: one insert is skipped, both then lock the row)
        insert_if_absent(Conversation(openid=openid))  # unique on openid_digest
        conv = locked.get(openid_digest=digest)
    conv.openid = openid
    return conv


# --------------------------------------------------------------------------------------- handlers
def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u3000", " ")).strip().strip("。.！!～~")


def on_text(conv: Conversation, inbound: InboundMessage, fields: dict[str, Any]) -> tuple[str, Case | None]:
    content = str(fields.get("Content") or "")
    command = _normalise(content)
    if command in {"提交", "提交举报", "确认提交"}:
        return _submit(conv, inbound)
    if command in {"取消", "取消举报", "放弃"}:
        draft_discard(conv)
        return texts.CANCELLED, None
    if command in {"帮助", "help", "HELP", "?", "？", "菜单"}:
        return texts.HELP, None
    if command in {"举报须知", "须知"}:
        return texts.RULES, None
    match = QUERY_RE.match(command)
    if match:
        return _status(conv.openid, match.group(1)), None
    from eco12369.followup.chat import rating_reply  # 评价 <编号> 1/2/3 [意见] (issue #7)

    rated = rating_reply(conv.openid, content)
    if rated is not None:
        return rated, None
    if not command:
        return texts.HELP, None
    _draft_start(conv)
    first = not conv.draft_text
    conv.draft_text = (conv.draft_text + "\n" + content.strip()).strip()[:MAX_DRAFT_TEXT]
    return (texts.DRAFT_STARTED if first else texts.DRAFT_TEXT_ADDED), None


def on_image(conv: Conversation, inbound: InboundMessage, fields: dict[str, Any]) -> tuple[str, Case | None]:
    media_id = str(fields.get("MediaId") or "")[:200]
    if not media_id:
        return texts.IMAGE_MISSING, None
    _draft_start(conv)
    conv.save()
    count = conv.photos.count()
    if count >= MAX_DRAFT_PHOTOS:
        return texts.TOO_MANY_PHOTOS, None
    photo, created = DraftPhoto.objects.get_or_create(
        conversation=conv, media_id=media_id, defaults={"pic_url": str(fields.get("PicUrl") or "")[:1000]}
    )
    if created:
        photo_id = photo.pk

        def enqueue() -> None:
            from .tasks import fetch_draft_photo

            fetch_draft_photo(photo_id)

        transaction.on_commit(enqueue, robust=True)
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
    _draft_start(conv)
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
    from django.conf import settings

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


# ------------------------------------------------------------------------------------------ drafts
def _draft_start(conv: Conversation) -> None:
    if conv.state != Conversation.State.DRAFTING:
        conv.state = Conversation.State.DRAFTING
        conv.draft_started_at = timezone.now()


def draft_discard(conv: Conversation) -> None:
    """Throw away ``conv``'s draft (text, place, photos and, after commit, their files); the caller saves."""
    photos = list(conv.photos.all())
    names = [p.file.name for p in photos if p.file]
    DraftPhoto.objects.filter(pk__in=[p.pk for p in photos]).delete()
    conv.state = Conversation.State.IDLE
    conv.draft_text = ""
    conv.draft_latitude = conv.draft_longitude = None
    conv.draft_label = ""
    conv.draft_started_at = None

    def delete_files() -> None:
        from django.core.files.storage import default_storage

        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete_files, robust=True)


def _submit(conv: Conversation, inbound: InboundMessage) -> tuple[str, Case | None]:
    if not conv.draft_text.strip():
        return texts.NEED_TEXT, None
    district = region_at(conv.draft_latitude, conv.draft_longitude)
    photos, pending = _draft_photo_files(conv)
    description = conv.draft_text
    try:
        case = case_create(
            intake=Intake(
                channel=Channel.WECHAT_CHAT,
                description=description,
                category=guess_category(conv.draft_text),
                district=district,
                address=conv.draft_label,
                latitude=conv.draft_latitude,
                longitude=conv.draft_longitude,
                reporter_openid=conv.openid,
                photos=photos,
            )
        )
    except TransitionError as exc:
        return exc.message, None
    draft_discard(conv)
    if pending:
        case_id = case.pk

        def enqueue() -> None:
            from .tasks import attach_chat_photo

            for index, media_id in pending:
                attach_chat_photo(case_id, media_id, index)

        transaction.on_commit(enqueue, robust=True)
    return "", case


def _draft_photo_files(conv: Conversation) -> tuple[list[Any], list[tuple[int, str]]]:
    """The draft's photos already fetched, as uploads, and (number, media_id) of those not fetched yet:
    a task attaches them to the case after it is filed (WeChat keeps media 3 days). Nothing is downloaded
    here, inside the callback's transaction and the conversation's lock."""
    files: list[Any] = []
    pending: list[tuple[int, str]] = []
    for index, photo in enumerate(conv.photos.order_by("id"), start=1):
        if photo.fetched_at is None or not photo.file:
            pending.append((index, photo.media_id))
            continue
        with photo.file.open("rb") as fh:
            data = fh.read()
        ext = photo.file.name.rsplit(".", 1)[-1] if "." in photo.file.name else "jpg"
        files.append(SimpleUploadedFile(f"微信照片{index}.{ext}", data, content_type=photo.content_type))
    return files, pending


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


# ------------------------------------------------------------------------------------------ status
def _date(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y年%m月%d日") if value else "—"


def _status(openid: str, number: str | None) -> str:
    if not number:
        recent = list(cases_of_reporter(openid=openid).order_by("-received_at")[:5])
        if not recent:
            return texts.NO_CASES
        lines = [f"{c.number}（{public_status(c).label}）" for c in recent]
        return texts.RECENT_CASES.format(lines="\n".join(lines))
    case = case_for_reporter(openid=openid, number=number)
    if case is not None:
        return case_public_status(case)
    merged = case_merged_for_reporter(openid=openid, number=number)
    if merged is not None:
        return merged_case_status(merged)
    return texts.NOT_FOUND.format(number=number.upper())


def case_public_status(case: Case) -> str:
    """What a reporter may know of their case: state, responsible agency, deadline, the approved reply.
    The state is the public one of the H5 pages (no internal steps such as review or assignment)."""
    lines = [f"举报编号：{case.number}", f"当前状态：{public_status(case).label}"]
    if case.state == State.CLOSED:
        lines.append(f"办结时间：{_date(case.closed_at)}")
        if case.outcome == Outcome.DUPLICATE and case.duplicate_of is not None:
            number = case.duplicate_of.number
            lines.append(f"办理结果：与编号 {number} 的举报为同一事项，合并办理。")
            lines.append(f"回复“查询 {number}”查看该件进度。")
        else:
            if case.outcome == Outcome.HANDED_OVER and case.handover_agency is not None:
                lines.append(f"已移交：{case.handover_agency.name}")
            reply = approved_reply_of(case=case)
            if reply is not None:
                lines.append("办理结果：\n" + reply.public_text())
    else:
        lines.append(f"负责机构：{case.agency.name}")
        if case.state in (State.RECEIVED, State.ESCALATED):
            lines.append(f"确认期限：{_date(case.confirm_due)}")
        elif case.close_due:
            lines.append(f"办结期限：{_date(case.close_due)}")
            if case.extension_days:
                lines.append(f"（已延期{case.extension_days}日）")
    return "\n".join(lines)


def merged_case_status(case: Case) -> str:
    """What the reporter of a duplicate may know of the case it was merged into (Art. 14): its public
    status and summary only; its description and answer are its own reporter's (Art. 17)."""
    status = public_status(case)
    lines = [f"举报编号：{case.number}（您的举报已并入此件办理）", f"当前状态：{status.label}"]
    if case.state == State.CLOSED:
        lines.append(f"办结时间：{_date(case.closed_at)}")
    else:
        lines.append(f"负责机构：{case.agency.name}")
        if case.close_due and case.state not in (State.RECEIVED, State.ESCALATED):
            lines.append(f"办结期限：{_date(case.close_due)}")
    lines.append(f"反映事项：{public_summary(case)}")
    lines.append(texts.MERGED_PRIVACY + ("" if case.state == State.CLOSED else texts.MERGED_PROMISE))
    return "\n".join(lines)
