"""Messages to reporters (outbox) and the callback's de-duplication record."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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
        STATUS = "status", _("进度查询")
        WELCOME = "welcome", _("关注欢迎")
        HELP = "help", _("使用说明")

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        WAITING = "waiting", _("等待可用通道")
        FAILED = "failed", _("发送失败")

    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="outbox_messages"
    )
    reply = models.ForeignKey(
        "cases.Reply", null=True, blank=True, on_delete=models.PROTECT, related_name="outbox_messages"
    )
    openid = models.CharField(max_length=200)
    template = models.CharField(_("模板"), max_length=20, choices=Template.choices)
    text = models.TextField(_("内容"))
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.PENDING)
    channel = models.CharField(_("通道"), max_length=20, blank=True)
    channel_reason = models.CharField(_("通道说明"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("待发消息")
        verbose_name_plural = _("待发消息")
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_status_next")]

    def __str__(self) -> str:
        return f"{self.get_template_display()} → {self.openid[:6]}…"
