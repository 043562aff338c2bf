"""The H5 form keeps no metadata of the reporter's phone: every photo stored (attached to the case, or kept
while the form is corrected) is upright and without EXIF (GPS, make, model, time), XMP, ICC or comments."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse
from django.test import Client
from PIL import Image

from eco12369.cases.models import Attachment, Case
from eco12369.portal.models import StagedPhoto
from tests.photo_metadata import assert_clean_and_upright, phone_jpeg, phone_png, phone_webp

from .helpers import form_data

pytestmark = pytest.mark.django_db
Reporter = Callable[[str], Client]


def token_of(response: Any) -> str:
    match = re.search(r'name="token" value="([0-9a-f]{32})"', response.content.decode())
    assert match
    return match.group(1)


@pytest.mark.parametrize(
    ("make", "name", "content_type", "fmt", "mode"),
    [
        (phone_jpeg, "IMG_0001.jpg", "image/jpeg", "JPEG", "RGB"),
        (lambda: phone_jpeg(icc=False), "IMG_0001.jpg", "image/jpeg", "JPEG", "RGB"),
        (phone_png, "Screenshot.png", "image/png", "PNG", "RGB"),
        (lambda: phone_png("L", icc=True), "Scan.png", "image/png", "PNG", "L"),
        (phone_webp, "IMG_0002.webp", "image/webp", "WEBP", "RGB"),
    ],
    ids=["jpeg", "jpeg-without-colour-profile", "png", "greyscale-png-with-colour-profile", "webp"],
)
def test_photo_attached_to_the_case_has_no_metadata_and_stands_upright(
    reporter: Reporter,
    media_root: Path,
    make: Callable[[], bytes],
    name: str,
    content_type: str,
    fmt: str,
    mode: str,
) -> None:
    client = reporter("oEXIF")
    token = token_of(client.get("/portal/report/"))
    upload = SimpleUploadedFile(name, make(), content_type=content_type)
    response = client.post("/portal/report/", form_data(token=token, photos=[upload]))
    assert response.status_code == 302
    attachment = Case.objects.get().attachments.get()
    with attachment.file.open("rb") as fh:
        stored = fh.read()
    assert_clean_and_upright(stored, fmt, mode)
    assert attachment.content_type == content_type  # the format is kept
    assert attachment.size == len(stored)


def test_photo_kept_while_the_form_is_corrected_has_no_metadata_from_the_start(
    reporter: Reporter, media_root: Path
) -> None:
    client = reporter("oEXIFSTAGE")
    token = token_of(client.get("/portal/report/"))
    upload = SimpleUploadedFile("IMG_0003.jpg", phone_jpeg(), content_type="image/jpeg")
    first = client.post("/portal/report/", form_data(token=token, description="", photos=[upload]))
    assert first.status_code == 422
    staged = StagedPhoto.objects.get()
    with staged.file.open("rb") as fh:
        on_disk = fh.read()
    assert_clean_and_upright(on_disk)
    assert staged.size == len(on_disk)
    # What the reporter's browser gets back to show the kept photo is the cleaned one too.
    shown = client.get(f"/portal/report/photo/{staged.key}/")
    assert shown.status_code == 200 and isinstance(shown, FileResponse)
    assert b"".join(shown.streaming_content) == on_disk

    second = client.post("/portal/report/", form_data(token=token))
    assert second.status_code == 302
    with Case.objects.get().attachments.get().file.open("rb") as fh:
        assert_clean_and_upright(fh.read())


def test_every_file_written_under_media_root_is_clean(reporter: Reporter, media_root: Path) -> None:
    """Whatever path a photo takes (staged, then attached; or attached at once), no file on disk keeps
    the phone's metadata."""
    client = reporter("oEXIFDISK")
    token = token_of(client.get("/portal/report/"))
    written: dict[Path, bytes] = {}

    def look() -> None:
        written.update({p: p.read_bytes() for p in media_root.rglob("*") if p.is_file()})

    jpeg = SimpleUploadedFile("a.jpg", phone_jpeg(), content_type="image/jpeg")
    client.post("/portal/report/", form_data(token=token, description="", photos=[jpeg]))
    look()
    later = SimpleUploadedFile("b.jpg", phone_jpeg(), content_type="image/jpeg")
    assert client.post("/portal/report/", form_data(token=token, photos=[later])).status_code == 302
    look()
    assert len(written) == 3  # the staged one, and both attached
    for data in written.values():
        assert_clean_and_upright(data)
    assert Attachment.objects.count() == 2


def test_a_photo_of_too_many_pixels_is_refused_before_it_is_decoded(
    reporter: Reporter, media_root: Path
) -> None:
    buf = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buf, format="PNG")  # 81 million pixels in a few kilobytes
    bomb = SimpleUploadedFile("bomb.png", buf.getvalue(), content_type="image/png")
    response = reporter("oBOMB").post("/portal/report/", form_data(photos=[bomb]))
    assert response.status_code == 422
    assert "照片“bomb.png”的像素过大（9000×9000），请压缩后重新上传。" in response.content.decode()
    assert not Case.objects.exists() and not StagedPhoto.objects.exists()
