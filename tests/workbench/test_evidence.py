"""Evidence of the handling (issue 12, D7): the handling department uploads inspection photos and scanned
records (PDF, JPEG); the file is judged by its content and size; reviewers and spot checkers see it; no one
attaches anything to another district's case."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse
from django.test import Client
from django.urls import reverse
from PIL import Image

from eco12369.audit.models import AuditEntry
from eco12369.cases import services
from eco12369.cases.models import Attachment, Case
from eco12369.orgs.models import User
from eco12369.oversight.models import SpotCheck
from eco12369.oversight.periods import current_month
from eco12369.oversight.spotchecks import checklist_auto

from .conftest import FIVE_PARTS, Bureau, advance, page_text

pytestmark = pytest.mark.django_db

# A small but well-formed one-page PDF, as a scanner writes it (header, one page, trailer, end marker).
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 200
    + b"This program cannot be run in DOS mode."
)


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "#5a8").save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def handling_case(settings: Any, tmp_path: Any, make_case: Callable[..., Case], heping: Bureau) -> Case:
    settings.MEDIA_ROOT = tmp_path / "uploads"
    case = make_case("和平区", description="某某印染厂偷排废水，河面发红，还有股怪味儿")
    return advance(case, heping, "handling")


def upload(client: Client, case: Case, name: str, data: bytes, content_type: str) -> Any:
    url = reverse("workbench:case_evidence", args=[case.number])
    return client.post(url, {"file": SimpleUploadedFile(name, data, content_type=content_type)})


def test_a_scanned_pdf_and_an_inspection_photo_are_attached_and_shown_to_the_reviewer(
    client: Client, handling_case: Case, heping: Bureau
) -> None:
    client.force_login(heping.handler)
    assert (
        upload(client, handling_case, "检查笔录（2025.3.4）.pdf", PDF, "application/pdf").status_code == 303
    )
    assert upload(client, handling_case, "现场照片1.JPG", jpeg(), "image/jpeg").status_code == 303
    evidence = list(handling_case.attachments.filter(kind=Attachment.Kind.EVIDENCE).order_by("id"))
    assert [(a.content_type, a.original_name, a.uploaded_by) for a in evidence] == [
        ("application/pdf", "检查笔录（2025.3.4）.pdf", heping.handler),
        ("image/jpeg", "现场照片1.jpg", heping.handler),
    ]
    assert AuditEntry.objects.filter(action="case.evidence_add", object_id=handling_case.number).count() == 2

    client.force_login(heping.reviewer)
    page = page_text(client.get(reverse("workbench:case", args=[handling_case.number])))
    assert "调查取证材料" in page and "检查笔录（2025.3.4）.pdf" in page and "现场照片1.jpg" in page
    assert 'name="file"' not in page  # the reviewer reads, the handling department uploads
    pdf = client.get(reverse("workbench:case_photo", args=[handling_case.number, evidence[0].pk]))
    assert pdf.status_code == 200 and isinstance(pdf, FileResponse)
    assert b"".join(pdf.streaming_content) == PDF
    assert pdf["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    ("name", "data", "content_type", "message"),
    [
        ("处罚决定书.pdf", EXE, "application/pdf", "只能上传 PDF 文件或 JPEG"),  # a renamed .exe
        ("现场.jpg", EXE, "image/jpeg", "只能上传 PDF 文件或 JPEG"),
        ("笔录.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024), "application/pdf", "超过 10 MB 的上限"),
    ],
)
def test_a_disguised_or_oversized_file_is_refused(
    client: Client,
    handling_case: Case,
    heping: Bureau,
    name: str,
    data: bytes,
    content_type: str,
    message: str,
) -> None:
    client.force_login(heping.handler)
    response = upload(client, handling_case, name, data, content_type)
    assert response.status_code == 422
    assert message in page_text(response)
    assert not handling_case.attachments.filter(kind=Attachment.Kind.EVIDENCE).exists()


def test_another_districts_case_is_refused(
    client: Client, handling_case: Case, hexi: Bureau, heping: Bureau, make_case: Callable[..., Case]
) -> None:
    client.force_login(hexi.handler)
    assert upload(client, handling_case, "笔录.pdf", PDF, "application/pdf").status_code == 404
    # Not in handling (nor the handling department's) any more: nothing is attached either.
    client.force_login(heping.operator)
    assert upload(client, handling_case, "笔录.pdf", PDF, "application/pdf").status_code == 403
    assert not handling_case.attachments.exists()


def test_the_spot_check_reads_the_evidence_attachments(
    client: Client, handling_case: Case, heping: Bureau, make_case: Callable[..., Case]
) -> None:
    client.force_login(heping.handler)
    upload(client, handling_case, "处罚决定书 津和环罚〔2025〕12号.pdf", PDF, "application/pdf")
    with_evidence = close(handling_case, heping)
    without = close(
        advance(make_case("和平区", description="工地半夜打桩，吵得睡不着"), heping, "handling"), heping
    )
    checks = checklist_auto([with_evidence.pk, without.pk])
    assert (checks[with_evidence.pk]["evidence"], checks[without.pk]["evidence"]) == (True, False)


def test_the_spot_checker_opens_the_attachments_from_the_spot_check(
    client: Client, handling_case: Case, heping: Bureau, make_user: Callable[..., User]
) -> None:
    """The city centre's spot check (drawn by an operator, reviewed by a reviewer) links each sampled case to
    its page, where the evidence is listed and opens, the same as for the district's reviewer."""
    client.force_login(heping.handler)
    upload(client, handling_case, "检查笔录 和平区某印染厂.pdf", PDF, "application/pdf")
    close(handling_case, heping)
    client.force_login(make_user("operator", district_name=None))
    drawn = client.post(
        reverse("oversight:spot_checks"), {"month": current_month().key, "per_district": 5, "seed": 3}
    )
    assert drawn.status_code in (302, 303)
    check = SpotCheck.objects.get()
    client.force_login(make_user("reviewer", district_name=None))
    sheet = page_text(client.get(reverse("oversight:spot_check", args=[check.pk])))
    case_url = reverse("workbench:case", args=[handling_case.number])
    assert f'href="{case_url}"' in sheet
    page = page_text(client.get(case_url))
    assert "调查取证材料" in page and "检查笔录 和平区某印染厂.pdf" in page
    assert 'name="file"' not in page  # the spot checker reads, the handling department uploads
    evidence = handling_case.attachments.get(kind=Attachment.Kind.EVIDENCE)
    scan = client.get(reverse("workbench:case_photo", args=[handling_case.number, evidence.pk]))
    assert scan.status_code == 200 and isinstance(scan, FileResponse)
    assert b"".join(scan.streaming_content) == PDF


def close(case: Case, staff: Bureau) -> Case:
    case = services.case_submit_reply(case=Case.objects.get(pk=case.pk), actor=staff.handler, **FIVE_PARTS)
    return services.case_approve(case=case, actor=staff.reviewer)
