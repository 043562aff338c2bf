"""Staff-only data of the workbench: internal notes on a case (内部备注) and the staff notification centre.

Both live here, in the top (UI) layer, because nothing below needs them: a note is written through the case
page, notifications are created by the note service (mentions) and by the periodic alert scan
(``tasks.alerts_scan``: due soon, overdue, supervision orders), which reads cases and never writes them.
Nothing of this is ever shown to a reporter, through Open311 or in a public disclosure."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CaseNote(models.Model):
    """An internal note on a case, seen only by staff who may see the case."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("备注内容"), max_length=2000)
    created_at = models.DateTimeField(_("时间"))
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)

    class Meta:
        verbose_name = _("内部备注")
        verbose_name_plural = _("内部备注")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="casenote_case_at")]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.author_id} · {self.created_at:%Y-%m-%d %H:%M}"


class NotificationKind(models.TextChoices):
    MENTION = "mention", _("备注中提及我")
    DUE_SOON = "due_soon", _("即将到期")
    OVERDUE = "overdue", _("已超期")
    SUPERVISION = "supervision", _("督办")
    RETURNED = "returned", _("退单")


class StaffNotification(models.Model):
    """One entry of a member of staff's notification centre. ``key`` makes an alert once per person, case and
    kind (``overdue:confirm``, ``supervision:12``); mentions have none (each note is its own)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_notifications"
    )
    kind = models.CharField(_("类型"), max_length=20, choices=NotificationKind.choices)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+", null=True, blank=True)
    note = models.ForeignKey(CaseNote, on_delete=models.CASCADE, related_name="+", null=True, blank=True)
    key = models.CharField(max_length=60, blank=True)
    text = models.CharField(_("内容"), max_length=300)
    created_at = models.DateTimeField(_("时间"))
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("邮件摘要发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="staffnotif_unread")]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "case", "key"], condition=~Q(key=""), name="staffnotif_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} · {self.kind} · {self.text[:20]}"


class NotificationPreference(models.Model):
    """What one person chooses to receive; no row means everything in the centre and the daily digest."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    muted_kinds = models.JSONField(_("不接收的通知类型"), default=list, blank=True)
    email_digest = models.BooleanField(_("每日邮件摘要"), default=True)

    class Meta:
        verbose_name = _("通知设置")
        verbose_name_plural = _("通知设置")

    def __str__(self) -> str:
        return f"{self.user_id} · {self.muted_kinds}"


class AgencyAlertChannel(models.Model):
    """An agency's optional WeCom (企业微信) group-robot webhook: its due, overdue, supervision and 退单 alerts
    are also posted to the group (set by the system administrator in the admin site)."""

    agency = models.OneToOneField("orgs.Agency", on_delete=models.CASCADE, related_name="alert_channel")
    wecom_webhook = models.URLField(_("企业微信群机器人 Webhook 地址"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("机构提醒渠道")
        verbose_name_plural = _("机构提醒渠道")

    def __str__(self) -> str:
        return f"{self.agency_id} · {'WeCom' if self.wecom_webhook else '-'}"


class SavedView(models.Model):
    """A list as filtered and sorted, saved under a name (我的视图): the list (``search`` or a queue's key)
    and its URL's query string, checked by the list's form when saved. ``shared``: the other people of the
    owner's agency see it in their menu too (only the owner renames, shares or deletes it)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    agency = models.ForeignKey("orgs.Agency", on_delete=models.CASCADE, related_name="+")
    list_key = models.CharField(_("列表"), max_length=20)
    name = models.CharField(_("视图名称"), max_length=40)
    query = models.CharField(_("筛选条件"), max_length=2000, blank=True)
    shared = models.BooleanField(_("本机构共享"), default=False)
    created_at = models.DateTimeField(_("创建时间"))
    updated_at = models.DateTimeField(_("修改时间"))

    class Meta:
        verbose_name = _("保存的视图")
        verbose_name_plural = _("保存的视图")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["agency", "shared"], name="savedview_agency_shared")]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="savedview_owner_name")]

    def __str__(self) -> str:
        return f"{self.owner_id} · {self.name}"
