"""Photos are served only through the authorised view, to users who may see the case."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def photo_case(settings, tmp_path, make_case):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    case = make_case(
        "和平区",
        photos=[
            SimpleUploadedFile("现场.png", PNG, content_type="image/png"),
            SimpleUploadedFile("evil.html", b"<script>alert(1)</script>", content_type="text/html"),
        ],
    )
    return case


def photo_url(case, attachment) -> str:
    return reverse("workbench:case_photo", args=[case.number, attachment.pk])


def test_owner_sees_the_photo(client: Client, heping, photo_case) -> None:
    png = photo_case.attachments.get(content_type="image/png")
    client.force_login(heping.operator)
    page = client.get(reverse("workbench:case", args=[photo_case.number])).content.decode()
    assert photo_url(photo_case, png) in page
    response = client.get(photo_url(photo_case, png))
    assert response.status_code == 200 and isinstance(response, FileResponse)  # streamed from the disk
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "private" in response["Cache-Control"]


def test_non_image_is_downloaded_not_rendered(client: Client, heping, photo_case) -> None:
    html = photo_case.attachments.get(content_type="text/html")
    client.force_login(heping.operator)
    response = client.get(photo_url(photo_case, html))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


def test_other_district_and_anonymous_get_nothing(
    client: Client, heping, hexi, photo_case, make_case
) -> None:
    png = photo_case.attachments.get(content_type="image/png")
    client.force_login(hexi.operator)
    assert client.get(photo_url(photo_case, png)).status_code == 404
    client.logout()
    response = client.get(photo_url(photo_case, png))
    assert response.status_code == 302 and reverse("workbench:login") in response["Location"]


def test_photo_of_another_case_cannot_be_reached_through_a_visible_case(
    client: Client, heping, hexi, photo_case, make_case
) -> None:
    """The attachment id is looked up only among the case's own attachments."""
    png = photo_case.attachments.get(content_type="image/png")
    mine = make_case("河西区")
    client.force_login(hexi.operator)
    assert client.get(reverse("workbench:case_photo", args=[mine.number, png.pk])).status_code == 404


def test_uploads_are_not_under_static_or_web_root(settings, photo_case) -> None:
    png = photo_case.attachments.get(content_type="image/png")
    path = png.file.path
    assert path.startswith(str(settings.MEDIA_ROOT))
    assert not path.startswith(str(settings.STATIC_ROOT))
