"""The outbox: everything a reporter is told, one row per message, written in the same transaction as the
change that causes it (DESIGN §9), and the record of every try to deliver it.

It sits below ``cases`` so that the case services can write the row themselves; the channels that deliver
it (today WeChat: ``wechat.delivery``) sit above and register how they are woken (``services``). The tables
keep their names from when these models lived in ``wechat`` (``wechat_outboxmessage``,
``wechat_deliveryattempt``): moving them changed no data.

The reporter's openid is protected as on the case (Art. 17 of docs/regulation.zh.txt): encrypted, looked up
through its blind index ``openid_digest``."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eco12369.crypto import BlindIndexField, EncryptedTextField


class OutboxMessage(models.Model):
    """Everything a reporter is told. Written in the same transaction as the state change that causes it;
    delivered later by a Huey task, swept periodically so a dead worker loses nothing."""

    class Template(models.TextChoices):
        ACKNOWLEDGED = "acknowledged", _("受理回执")
        ACCEPTED = "accepted", _("已受理")
        HANDED_OVER = "handed_over", _("已移交")
        EXTENDED = "extended", _("已延期")
        CLOSED = "closed", _("已办结")
        ANSWERED = "answered", _("已答复")
        DUPLICATE = "duplicate", _("重复举报")
        WITHDRAWN = "withdrawn", _("已撤回")
        STATUS = "status", _("进度查询")
        WELCOME = "welcome", _("关注欢迎")
        HELP = "help", _("使用说明")

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENDING = "sending", _("发送中")
        SENT = "sent", _("已发送")
        WAITING = (
            "waiting",
            _("微信暂不能发送"),
        )  # no channel open now: sent or shown when the reporter next writes
        FAILED = "failed", _("发送失败")

    class Channel(models.TextChoices):
        PASSIVE = "passive", _("被动回复")
        CUSTOM = "custom", _("客服消息")
        SUBSCRIBE = "subscribe", _("订阅通知")
        H5 = "h5", _("H5页面")

    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="outbox_messages"
    )
    reply = models.ForeignKey(
        "cases.Reply", null=True, blank=True, on_delete=models.PROTECT, related_name="outbox_messages"
    )
    openid = EncryptedTextField(_("举报人微信标识"))
    openid_digest = BlindIndexField(source="openid")
    template = models.CharField(_("模板"), max_length=20, choices=Template.choices)
    text = models.TextField(_("内容"))
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.PENDING)
    channel = models.CharField(_("通道"), max_length=20, blank=True, choices=Channel.choices)
    channel_reason = models.CharField(_("通道说明"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker owns a row while it sends it: ``claim_token`` fences its final write, ``claimed_at`` lets
    # the sweep take the row back when the worker died (the lease ran out).
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "wechat_outboxmessage"  # the table kept its name when the model left wechat
        verbose_name = _("待发消息")
        verbose_name_plural = _("待发消息")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_status_next"),
            models.Index(fields=["openid_digest", "status"], name="outbox_digest_status"),
            models.Index(fields=["openid_digest", "channel", "sent_at"], name="outbox_digest_channel_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_template_display()} #{self.pk}"


class DeliveryAttempt(models.Model):
    """One try to deliver an outbox message, successful or not (issue #3: every attempt is recorded)."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="delivery_attempts")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    channel = models.CharField(_("通道"), max_length=20, choices=OutboxMessage.Channel.choices, blank=True)
    ok = models.BooleanField(_("成功"), default=False)
    errcode = models.IntegerField(null=True, blank=True)
    error = models.TextField(_("错误"), blank=True)
    worker = models.CharField(max_length=100, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "wechat_deliveryattempt"
        verbose_name = _("发送记录")
        verbose_name_plural = _("发送记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.message_id} {self.channel} {'ok' if self.ok else 'fail'}"
