"""Report photos: what is accepted (JPEG, PNG, WebP, judged by content, not by name), how big, and under
which name they are stored (random, so nothing about the reporter or the original file leaks into paths)."""

from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, UnidentifiedImageError

MAX_PHOTOS = 9
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 80_000_000  # well above any phone camera; refuses decompression bombs

FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}


@dataclass(frozen=True)
class CheckedPhoto:
    content_type: str
    extension: str


def display_name(upload: UploadedFile) -> str:
    name = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name[:60] or "照片"


def photo_check(upload: UploadedFile) -> CheckedPhoto:
    """Raise a ``ValidationError`` with a Chinese message unless ``upload`` is a real JPEG, PNG or WebP image
    of at most 10 MB."""
    name = display_name(upload)
    size = upload.size or 0
    if size > MAX_PHOTO_BYTES:
        raise ValidationError(
            f"照片“{name}”大小为 {size / 1024 / 1024:.1f} MB，超过 10 MB 的上限，请压缩或换一张后重新上传。",
            code="photo_too_large",
        )
    if size == 0:
        raise ValidationError(f"照片“{name}”是空文件，请重新选择。", code="photo_empty")
    not_image = ValidationError(
        f"文件“{name}”不是有效的图片，只能上传 JPEG、PNG 或 WebP 格式的照片。", code="photo_not_image"
    )
    try:
        upload.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                image_format = image.format or ""
                if image_format not in FORMATS:
                    raise not_image
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ValidationError(
                        f"照片“{name}”的像素过大（{width}×{height}），请压缩后重新上传。",
                        code="photo_too_many_pixels",
                    )
                image.verify()
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise not_image from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt image data
        raise not_image from exc
    finally:
        upload.seek(0)
    content_type, extension = FORMATS[image_format]
    return CheckedPhoto(content_type=content_type, extension=extension)


def random_name(checked: CheckedPhoto) -> str:
    return uuid.uuid4().hex + checked.extension
