"""Append-only, hash-chained audit trail (Art. 15, 17; MLPS 2.0 level 3 security audit).

Each entry carries the keyed MAC (HMAC-SM3 by default) of the previous entry (services.py); ``AuditHead`` holds the last hash and serialises
appends. ``manage.py verify_audit`` recomputes the chain and finds any edited, inserted or deleted row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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
    """One row: the hash of the newest entry. Locked while appending so the chain stays linear."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64)
    count = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.count} · {self.last_hash[:12]}"
