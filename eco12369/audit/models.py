"""Append-only, hash-chained audit trail (Art. 15, 17; MLPS 2.0 level 3 security audit).

The trail is several chains (``stream`` 1..``ECO_AUDIT_STREAMS``, chosen by a hash of the entry's object):
each entry carries the keyed MAC (HMAC-SM3 by default) of the previous entry of its stream (services.py);
one ``AuditHead`` row per stream holds that stream's last hash and serialises the stream's appends, so
writes about different cases do not wait on each other. ``manage.py verify_audit`` recomputes every chain
and finds any edited, inserted, deleted or reordered row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    """The audit trail's own events (``AuditEntry.action``). The case's events are written as
    ``case.<action>`` with the cases app's ``Action`` and the monthly report's as ``monthly_report.<action>``;
    those apps register their names (``display.register_action_labels``). The stored strings are the values."""

    LOGIN = "login", _("登录")
    LOGOUT = "logout", _("退出")
    LOGIN_FAILED = "login_failed", _("登录失败")
    OTP_ENROLLED = "otp_enrolled", _("绑定动态口令")
    OTP_VERIFIED = "otp_verified", _("动态口令验证")
    OTP_FAILED = "otp_failed", _("动态口令错误")
    REVEAL = "reveal", _("查看举报人信息")
    REVEAL_REFUSED = "reveal_refused", _("查看举报人信息被拒绝")
    EXPORT = "export", _("导出")
    ROLE_CHANGE = "role_change", _("角色变更")
    API_KEY_CREATE = "api_key_create", _("签发接口密钥")
    API_KEY_REVOKE = "api_key_revoke", _("吊销接口密钥")
    AUDIT_VIEW = "audit_view", _("查看审计日志")
    AUDIT_EXPORT = "audit_export", _("导出审计日志")
    USER_CREATE = "user_create", _("创建账号")
    ADMIN_CHANGE = "admin_change", _("系统管理变更")
    CASE_PUBLIC_SUMMARY = "case.public_summary", _("修改公开摘要")
    RETENTION_ERASE = "retention_erase", _("删除到期的举报人信息")
    RETENTION_ERASE_CHAT = "retention_erase_chat", _("删除到期的微信对话")
    KEY_ROTATION = "key_rotation", _("更换字段加密密钥")
    PHOTOS_CLEAN = "photos.clean", _("清理过期的暂存照片")
    OUTBOX_RETRY = "wechat.outbox_retry", _("重新发送告知")
    SPOT_CHECK_DRAW = "spot_check.draw", _("抽取抽查件")
    SPOT_CHECK_REVIEW = "spot_check.review", _("抽查评查")
    ASSESSMENT_SCHEME_CHANGE = "assessment_scheme.change", _("修改考核方案")
    GUIDANCE_NOTICE_PUBLISH = "guidance_notice.publish", _("发布业务指导")
    STAFF_MERIT_RECORD = "staff_merit.record", _("记录表彰与惩处")
    HOTLINE_IMPORT_CONFIRM = "hotline.import_confirm", _("确认导入转办件")
    HOTLINE_IMPORT_DONE = "hotline.import_done", _("转办件导入完成")
    HOTLINE_REPLIES_EXPORT = "hotline.replies_export", _("导出转办件答复")
    SAVED_VIEW_SAVE = "saved_view.save", _("保存列表视图")
    SAVED_VIEW_DELETE = "saved_view.delete", _("删除列表视图")
    REPLY_TEMPLATE_CREATE = "reply_template.create", _("新建答复模板")
    REPLY_TEMPLATE_CHANGE = "reply_template.change", _("修改答复模板")
    REPLY_TEMPLATE_DELETE = "reply_template.delete", _("删除答复模板")
    CALENDAR_IMPORT = "calendar.import", _("导入节假日安排")


class AppendOnlyError(Exception):
    pass


class AuditEntry(models.Model):
    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.PROTECT
    )
    actor_label = models.CharField(_("操作人账号"), max_length=150, blank=True)
    action = models.CharField(_("事件"), max_length=50, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=50, blank=True)
    object_id = models.CharField(_("对象"), max_length=64, blank=True, db_index=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    ip = models.CharField(_("来源地址"), max_length=45, blank=True)
    # The chain this entry belongs to (services.stream_for); entries written before streams existed: 1.
    stream = models.PositiveSmallIntegerField(default=1)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # How ``hash`` was made (services.entry_hash): "hmac-sm3" / "hmac-sha256" with the key ``key_id`` of
    # ECO_AUDIT_KEYS, or "sha256" (a bare hash: entries written before the chain had a key).
    alg = models.CharField(max_length=16, default="sha256")
    key_id = models.CharField(max_length=16, blank=True)

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.actor_label}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries cannot be deleted")


class AuditHead(models.Model):
    """One row per stream (``id`` is the stream's number): the hash of its newest entry and its number of
    entries. Locked while appending to that stream so the stream's chain stays linear."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64)
    count = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.count} · {self.last_hash[:12]}"
