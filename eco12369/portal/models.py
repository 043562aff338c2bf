"""The H5 form's own bookkeeping: one row per filled-in form (so a re-sent form never makes a second case)
and the photos kept while the reporter corrects other fields (so nothing is lost on bad input)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from eco12369.crypto import BlindIndexField, EncryptedTextField


class Submission(models.Model):
    """One H5 report form, identified by the random token it was rendered with. The reporter's openid is
    encrypted and looked up by its blind index (``crypto.blind_q("submission__openid", openid)``)."""

    token = models.CharField(max_length=64, unique=True)
    openid = EncryptedTextField(_("举报人微信标识"))
    openid_digest = BlindIndexField(source="openid", db_index=True)
    case = models.OneToOneField(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="portal_submission"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("H5表单提交")
        verbose_name_plural = _("H5表单提交")

    def __str__(self) -> str:
        return self.token[:8]


class StagedPhoto(models.Model):
    """A checked photo of a form that came back for correction; attached to the case on submit."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="staged_photos")
    key = models.CharField(max_length=32, unique=True)
    file = models.FileField(upload_to="portal-staging/%Y/%m/")
    original_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("暂存照片")
        verbose_name_plural = _("暂存照片")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.key
