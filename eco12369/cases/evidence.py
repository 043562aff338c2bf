"""Evidence of the handling (调查取证材料, Art. 9, 10): inspection photos and scanned records (检查笔录,
处罚决定书) that the handling department attaches to a case before it submits its reply. Reviewers and
spot checkers see them on the case page; the spot check's 有调查取证材料 reads them.

Every file is judged by its content, never by its name or declared type: a JPEG, PNG or WebP photo passes
``photos.photo_clean`` (decoded and encoded again, without metadata, like a reporter's photo); a PDF must
start with the PDF header and end with its end-of-file marker. Anything else, and anything above
``MAX_EVIDENCE_BYTES``, is refused with a Chinese message. Files are stored like case photos
(``services.attachment_add``: random name, outside the web root, served only through the scoped view).
"""

from __future__ import annotations

from http import HTTPStatus

from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile

from eco12369.audit.services import audit_record
from eco12369.orgs.models import User

from .models import Attachment, Case
from .photos import PhotoRejected, photo_clean
from .services import attachment_add
from .workflow import TransitionError, refusal

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
PDF_TYPE = "application/pdf"
NOT_EVIDENCE = "只能上传 PDF 文件或 JPEG、PNG、WebP 格式的照片（按文件内容判断，与文件名无关）。"


class EvidenceRejected(TransitionError):
    """The file cannot be attached; ``message`` says why, in Chinese (422: the file; 403: the user may not
    attach evidence to the case now)."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY


def _is_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]


def can_attach_evidence(*, case: Case, user: User) -> bool:
    """Whoever may submit the handling reply now (the handling department) attaches its evidence."""
    return refusal(case, user, "submit_reply") is None


def evidence_add(*, case: Case, actor: User, upload: UploadedFile | None) -> Attachment:
    """Check ``upload`` by its content and size, store it as the case's evidence and audit it."""
    reason = refusal(case, actor, "submit_reply")
    if reason is not None:
        raise EvidenceRejected(reason, status=HTTPStatus.FORBIDDEN)
    if upload is None:
        raise EvidenceRejected("请选择要上传的文件。")
    size = upload.size or 0
    if size > MAX_EVIDENCE_BYTES:
        raise EvidenceRejected(
            f"文件大小为 {size / 1024 / 1024:.1f} MB，超过 10 MB 的上限，请压缩或分页扫描后上传。"
        )
    data = upload.read(MAX_EVIDENCE_BYTES + 1)
    if len(data) > MAX_EVIDENCE_BYTES:
        raise EvidenceRejected("文件超过 10 MB 的上限，请压缩或分页扫描后上传。")
    name = (upload.name or "").rsplit("/", 1)[-1]
    if _is_pdf(data):
        stem, content_type, extension = name.rsplit(".", 1)[0] if "." in name else name, PDF_TYPE, ".pdf"
    else:
        try:
            clean = photo_clean(data)
        except PhotoRejected as exc:
            raise EvidenceRejected(NOT_EVIDENCE if exc.code == "not_image" else exc.message) from exc
        data, content_type, extension = clean.data, clean.content_type, clean.extension
        stem = name.rsplit(".", 1)[0] if "." in name else name
    stored = SimpleUploadedFile((stem or "取证材料") + extension, data, content_type=content_type)
    attachment = attachment_add(case=case, photo=stored, kind=Attachment.Kind.EVIDENCE, uploaded_by=actor)
    audit_record(
        action="case.evidence_add",
        actor=actor,
        object_type="case",
        object_id=case.number,
        detail={"attachment": attachment.pk, "type": content_type, "size": len(data)},
    )
    return attachment
