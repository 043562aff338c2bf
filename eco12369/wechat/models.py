"""The WeChat side (the outbox it delivers is ``notifications.models``): the callback's record of
what WeChat pushed (the de-duplication lock), anti-replay nonces, and each reporter's conversation state.

The reporter's openid is protected like the case's (Art. 17): where it is needed back (to send a message,
to file the draft as a case) it is encrypted (``EncryptedTextField``), and every look-up by openid goes
through its blind index ``openid_digest`` (``crypto.blind_q("openid", openid)``). The callback's record
keeps only the blind index."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eco12369.crypto import BlindIndexField, EncryptedTextField


class InboundMessage(models.Model):
    """A message or event WeChat pushed to the callback. ``dedupe_key`` is unique: inserting it is the lock
    that makes a re-delivered message (WeChat retries after 5 s, up to three times) a no-op.

    The sender is kept only as the blind index of their openid (nothing reads the openid back from here):
    events, which have no MsgId, are keyed by that index too, and ``raw`` is the XML without the sender
    (``FromUserName`` emptied, ``inbound.sender_removed``)."""

    class Status(models.TextChoices):
        PROCESSED = "processed", _("已处理")
        DEFERRED = "deferred", _("超时转后台")

    dedupe_key = models.CharField(max_length=250, unique=True)
    openid_digest = models.CharField(max_length=64, db_index=True, blank=True, default="", editable=False)
    msg_type = models.CharField(max_length=30)
    event = models.CharField(max_length=60, blank=True)
    msg_id = models.CharField(max_length=64, blank=True)
    content = models.TextField(blank=True)
    wechat_created_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROCESSED)
    reply_text = models.TextField(_("被动回复"), blank=True)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="wechat_messages"
    )
    raw = models.TextField(blank=True)

    class Meta:
        verbose_name = _("微信来信")
        verbose_name_plural = _("微信来信")
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return self.dedupe_key


class SeenNonce(models.Model):
    """Callback (timestamp, nonce) pairs seen in the last minutes: a replayed request is refused."""

    key = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.key


class Conversation(models.Model):
    """What the platform knows about one reporter's chat: the draft report being put together, when they
    last wrote (the 48-hour customer-service window) and whether they accepted subscription notices."""

    class State(models.TextChoices):
        IDLE = "idle", _("空闲")
        DRAFTING = "drafting", _("正在填写举报")

    openid = EncryptedTextField(_("举报人微信标识"))
    openid_digest = BlindIndexField(source="openid", unique=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.IDLE)
    subscribed = models.BooleanField(_("已关注"), default=True)
    notify_consent = models.BooleanField(_("同意接收订阅通知"), default=False)
    last_inbound_at = models.DateTimeField(_("最近来信时间"), null=True, blank=True)
    draft_text = models.TextField(blank=True)
    draft_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    draft_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    draft_label = models.CharField(max_length=300, blank=True)
    draft_started_at = models.DateTimeField(null=True, blank=True)
    # Wrong query codes given in 查询 <编号> <查询码> since ``code_failures_since`` (the guessing limit,
    # ``status.CODE_TRIES`` per ``status.CODE_WINDOW``): on the locked row, so every process counts alike.
    code_failures = models.PositiveSmallIntegerField(default=0)
    code_failures_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("微信会话")
        verbose_name_plural = _("微信会话")

    def __str__(self) -> str:
        return f"#{self.pk} {self.state}"


class DraftPhoto(models.Model):
    """A photo, voice message or video sent in chat for the draft report; fetched from WeChat
    (``media/get``) in the background (issue 14, item 3: voice and video as photos are)."""

    class Kind(models.TextChoices):
        IMAGE = "image", _("照片")
        VOICE = "voice", _("语音")
        VIDEO = "video", _("视频")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="photos")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.IMAGE)
    media_id = models.CharField(max_length=200)
    # A video's first frame (ThumbMediaId), fetched with it and kept as the case's poster of the video.
    thumb_media_id = models.CharField(max_length=200, blank=True)
    pic_url = models.URLField(max_length=1000, blank=True)
    file = models.FileField(upload_to="wechat/drafts/%Y/%m/", blank=True)
    thumb_file = models.FileField(upload_to="wechat/drafts/%Y/%m/", blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)
    fetched_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "media_id"], name="draftphoto_unique_media")
        ]

    def __str__(self) -> str:
        return self.media_id
