"""API keys of the channels that file reports through Open311, and the request tokens they receive."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiKey(models.Model):
    """A partner channel's key. Only its SHA-256 digest is stored; the key is shown once when created."""

    channel = models.CharField(_("渠道名称"), max_length=100)
    prefix = models.CharField(_("密钥前缀"), max_length=8, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口密钥")
        verbose_name_plural = _("接口密钥")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.channel}（{self.prefix}…）"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class RequestToken(models.Model):
    """The token returned with each POST requests; records which key (channel) filed the case."""

    token = models.CharField(max_length=40, unique=True)
    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="open311_token")
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="requests")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.token
