"""Reporters' photos are stored without their metadata (PIPL: data minimisation; Art. 17: the reporter's
confidentiality). A phone photo carries the GPS position of the phone (often the reporter's home or
workplace), the device make and model and the time it was taken, in EXIF, XMP, ICC and comment blocks, and
sometimes a whole second file appended (motion photos). ``photo_clean`` is the one place that removes them:
every channel that stores a reporter's photo (the H5 form, photos fetched from WeChat chat, the hotline's
attachments) passes the bytes through it before anything is written. ``photo_upload_check`` is the one
check of an uploaded photo in a form (the H5 report and 补充材料, the hotline's call form): the Chinese
message of a refusal, the cleaned photo otherwise; ``photo_stored`` what is stored of it.

The picture is decoded and encoded again from its pixels alone, so nothing that is not the picture
survives: the EXIF orientation is applied first (a photo taken sideways still looks upright), colours
described by an ICC profile are converted to sRGB, and the result is written with no metadata at all, in
the format it came in (JPEG at quality 90, PNG, WebP at quality 90). Only the first frame of an animated
PNG or WebP, or the first picture of a multi-picture JPEG, is kept.
"""

from __future__ import annotations

import io
import logging
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_REPORT_PHOTOS = 9  # photos sent with a report (the H5 form, the hotline's call form), or added at once
MAX_PIXELS = 80_000_000  # well above any phone camera; refuses decompression bombs
JPEG_QUALITY = 90
WEBP_QUALITY = 90

# Pillow format → (content type, extension). The only formats a reporter's photo is stored in.
FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
# What Pillow may call a file that is stored as one of those: a JPEG with further pictures appended in
# the Multi-Picture format (depth maps, HDR gain maps of recent phones) is a JPEG; its first picture is kept.
_STORED_AS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}

NOT_IMAGE = "不是有效的图片，只能上传 JPEG、PNG 或 WebP 格式的照片。"


class PhotoRejected(ValueError):
    """The data is not a photo that can be stored. ``code`` is ``not_image``, ``too_large`` or
    ``too_many_pixels`` (``pixels`` then gives width and height); ``message`` is the Chinese text to show."""

    def __init__(self, code: str, message: str, *, pixels: tuple[int, int] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.pixels = pixels


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes = field(repr=False)
    content_type: str
    extension: str


def photo_clean(data: bytes) -> CleanPhoto:
    """The photo in ``data`` (JPEG, PNG or WebP, judged by content, not by any name or declared type),
    upright and encoded again without any metadata. Raises ``PhotoRejected`` for anything else: not an
    image, another format, corrupt or truncated data, more than 10 MB or more than ``MAX_PIXELS`` pixels."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejected("too_large", f"照片大小为 {len(data) / 1024 / 1024:.1f} MB，超过 10 MB 的上限。")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                image_format = _STORED_AS.get(probe.format or "", "")
                if not image_format:
                    raise PhotoRejected("not_image", NOT_IMAGE)
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise PhotoRejected(
                        "too_many_pixels",
                        f"照片的像素过大（{width}×{height}），请压缩后重新上传。",
                        pixels=(width, height),
                    )
                probe.verify()  # structure and checksums, before any pixel is decoded
            with Image.open(io.BytesIO(data)) as image:
                cleaned = _encode(_pixels_only(image), image_format)
    except PhotoRejected:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,  # truncated or corrupt image data
        SyntaxError,
        ValueError,
        EOFError,
    ) as exc:
        raise PhotoRejected("not_image", NOT_IMAGE) from exc
    content_type, extension = FORMATS[image_format]
    return CleanPhoto(data=cleaned, content_type=content_type, extension=extension)


def _pixels_only(image: Image.Image) -> Image.Image:
    """The first frame, turned as its EXIF orientation says, colours in sRGB, with no metadata left
    (Pillow's encoders write what ``info`` holds, such as the comment or the ICC profile)."""
    upright = ImageOps.exif_transpose(image)  # decodes the pixels: corrupt data raises here
    icc = upright.info.get("icc_profile")
    if icc and upright.mode in ("RGB", "RGBA", "CMYK"):
        upright = _to_srgb(upright, icc)
    transparency = upright.info.get("transparency")
    upright.info = {} if transparency is None else {"transparency": transparency}
    return upright


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """Convert to sRGB so the colours stay right once the profile is gone; if the profile cannot be
    used, the pixels are kept as they are (as a browser shows an image without a profile)."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=output_mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        logger.info("photo colour profile not applied: %s", exc)
        return image
    assert converted is not None
    return converted


def _encode(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    if image_format == "JPEG":
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        image.save(out, format="JPEG", quality=JPEG_QUALITY)
    elif image_format == "WEBP":
        image.save(out, format="WEBP", quality=WEBP_QUALITY)
    else:
        image.save(out, format="PNG")
    return out.getvalue()


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Zero to many uploads in one form field; the form checks each with ``photo_upload_check``."""

    widget = MultiplePhotoInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [item for item in items if item]


def upload_display_name(upload: UploadedFile) -> str:
    """The name of an upload as the reporter or operator knows it (no path), for messages."""
    name = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name[:60] or "照片"


def photo_upload_check(upload: UploadedFile) -> CleanPhoto:
    """Raise a ``ValidationError`` with a Chinese message naming the file unless ``upload`` is a real JPEG,
    PNG or WebP image of at most 10 MB; return it cleaned of its metadata, ready to be stored."""
    name = upload_display_name(upload)
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
        return photo_clean(upload.read())
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


def photo_stored(photo: CleanPhoto) -> UploadedFile:
    """What is stored of an upload: the cleaned photo (no EXIF, GPS or other metadata of the phone), under
    a random name with the type found in the content, whatever the phone called it."""
    return SimpleUploadedFile(uuid.uuid4().hex + photo.extension, photo.data, content_type=photo.content_type)
