"""The editable sensitive-word list of the outbound content rules (Art. 16: 不得使用平台发送涉密信息、
不良信息及垃圾信息). The system administrator edits it in the Django admin."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SensitiveWord(models.Model):
    class Category(models.TextChoices):
        SECRET = "secret", _("涉密标识")
        VULGAR = "vulgar", _("不良用语")
        SPAM = "spam", _("垃圾信息")
        OTHER = "other", _("其他")

    word = models.CharField(_("敏感词"), max_length=50, unique=True)
    category = models.CharField(_("类别"), max_length=20, choices=Category.choices, default=Category.OTHER)
    active = models.BooleanField(_("启用"), default=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("添加时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("敏感词")
        verbose_name_plural = _("敏感词")
        ordering = ["category", "word"]

    def __str__(self) -> str:
        return self.word
