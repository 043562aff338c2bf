"""A batch of forwarded cases (转办导入): the uploaded file between preview and confirmation, and the
progress of its import. The file holds reporters' names and phones, so it is kept encrypted and emptied
once imported (or when the batch is abandoned, see ``services.import_batches_purge``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from eco12369.cases.models import Source
from eco12369.crypto import EncryptedTextField


class ImportBatch(models.Model):
    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("待确认")
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("导入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    source = models.CharField(_("转办来源"), max_length=20, choices=Source.choices)
    file_name = models.CharField(_("文件名"), max_length=200)
    # The uploaded bytes, base64, encrypted at rest; emptied after the import.
    content = EncryptedTextField(_("文件内容"), blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"))
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.PREVIEWED)
    total = models.PositiveIntegerField(_("行数"), default=0)
    valid = models.PositiveIntegerField(_("可导入行数"), default=0)
    done = models.PositiveIntegerField(_("已处理"), default=0)
    created = models.PositiveIntegerField(_("新建"), default=0)
    skipped = models.PositiveIntegerField(_("已存在跳过"), default=0)
    failed = models.PositiveIntegerField(_("有错误未导入"), default=0)
    error = models.TextField(_("错误"), blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("转办导入批次")
        verbose_name_plural = _("转办导入批次")
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.file_name}"

    @property
    def percent(self) -> int:
        return 100 if not self.valid else min(100, round(100 * self.done / self.valid))

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
