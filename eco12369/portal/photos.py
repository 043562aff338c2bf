"""Report photos: what is accepted (JPEG, PNG, WebP, judged by content, not by name), how big, and under
which name they are stored (random, so nothing about the reporter or the original file leaks into paths).
What is stored is the cleaned photo (``cases.photos.photo_clean``): upright, without EXIF, GPS or any other
metadata of the reporter's phone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile

from eco12369.cases.photos import MAX_PHOTO_BYTES, PhotoRejected, photo_clean

MAX_PHOTOS = 9


@dataclass(frozen=True)
class CheckedPhoto:
    content_type: str
    extension: str
    data: bytes = field(repr=False)  # the photo as stored: cleaned of its metadata


def display_name(upload: UploadedFile) -> str:
    name = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name[:60] or "照片"


def photo_check(upload: UploadedFile) -> CheckedPhoto:
    """Raise a ``ValidationError`` with a Chinese message unless ``upload`` is a real JPEG, PNG or WebP image
    of at most 10 MB; return it cleaned of its metadata, ready to be stored."""
    name = display_name(upload)
    size = upload.size or 0
    if size > MAX_PHOTO_BYTES:
        raise ValidationError(
            f"照片“{name}”大小为 {size / 1024 / 1024:.1f} MB，超过 10 MB 的上限，请压缩或换一张后重新上传。",
            code="photo_too_large",
        )
    if size == 0:
        raise ValidationError(f"照片“{name}”是空文件，请重新选择。", code="photo_empty")
    try:
        upload.seek(0)
        cleaned = photo_clean(upload.read())
    except PhotoRejected as exc:
        if exc.code == "too_many_pixels" and exc.pixels:
            width, height = exc.pixels
            raise ValidationError(
                f"照片“{name}”的像素过大（{width}×{height}），请压缩后重新上传。",
                code="photo_too_many_pixels",
            ) from exc
        raise ValidationError(
            f"文件“{name}”不是有效的图片，只能上传 JPEG、PNG 或 WebP 格式的照片。", code="photo_not_image"
        ) from exc
    finally:
        upload.seek(0)
    return CheckedPhoto(content_type=cleaned.content_type, extension=cleaned.extension, data=cleaned.data)


def random_name(checked: CheckedPhoto) -> str:
    return uuid.uuid4().hex + checked.extension


def photo_stored(checked: CheckedPhoto) -> UploadedFile:
    """What is stored of an upload: the cleaned photo (no EXIF, GPS or other metadata of the phone), under
    a random name with the type found in the content, whatever the phone called it."""
    return SimpleUploadedFile(random_name(checked), checked.data, content_type=checked.content_type)
