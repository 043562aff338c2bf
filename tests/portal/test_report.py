"""Filing a report through the H5 form: the happy path, and every bad input refused clearly with no write."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from eco12369.cases.models import Attachment, Case
from eco12369.cases.selectors import cases_of_reporter
from eco12369.crypto import blind_q
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.models import Agency
from eco12369.portal.models import StagedPhoto

from .helpers import form_data, image_bytes, photo

pytestmark = pytest.mark.django_db
Reporter = Callable[[str], Client]
TEN_MB = 10 * 1024 * 1024


def html(response: Any) -> str:
    return str(response.content.decode())


def token_of(response: Any) -> str:
    match = re.search(r'name="token" value="([0-9a-f]{32})"', html(response))
    assert match, "the form carries its submission token"
    return match.group(1)


def test_form_shows_confidentiality_promise_scope_and_all_districts(reporter: Reporter) -> None:
    page = html(reporter("oA").get("/portal/report/"))
    assert "我们将依法对举报人信息严格保密" in page
    assert "第十七条" in page
    assert "冒黑烟" in page and "排黑水" in page and "危险废物" in page  # Art. 6 scope
    assert "csrfmiddlewaretoken" in page
    districts = re.findall(r'<option value="(\d{6})"', page)
    assert len(districts) == 16
    assert "不确定" in page
    for label in ("举报", "咨询", "建议", "大气", "水", "噪声", "危险废物", "匿名举报", "使用当前位置"):
        assert label in page
    assert 'accept="image/jpeg,image/png,image/webp"' in page


def test_happy_path_with_two_photos_creates_one_case_with_two_attachments(
    reporter: Reporter, media_root: Path
) -> None:
    client = reporter("oHAPPY")
    token = token_of(client.get("/portal/report/"))
    data = form_data(
        token=token,
        photos=[
            photo("IMG_0001 张三家门口.png"),
            photo("IMG_0002.jpg", fmt="JPEG", content_type="image/jpeg"),
        ],
    )
    response = client.post("/portal/report/", data)
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/report/done/{case.number}/"
    assert case.channel == "wechat_h5"
    assert case.reporter_openid == "oHAPPY"
    assert case.kind == "report" and case.category == "air"
    assert case.region.name == "和平区"
    assert case.agency.kind == Agency.Kind.DISTRICT_BUREAU and case.agency.region.name == "和平区"
    assert case.latitude == Decimal("39.117721") and case.longitude == Decimal("117.196612")
    assert case.reporter_name == "张三" and case.reporter_phone == "13812345678"
    assert case.occurred_at is not None

    attachments = list(case.attachments.order_by("id"))
    assert len(attachments) == 2
    assert [a.content_type for a in attachments] == ["image/png", "image/jpeg"]
    for attachment in attachments:
        stored = Path(attachment.file.path)
        assert stored.is_file() and media_root in stored.parents
        assert re.fullmatch(r"[0-9a-f]{32}\.(png|jpg)", stored.name), stored.name  # random, nothing personal
        assert "张三" not in attachment.file.name and "IMG_" not in attachment.file.name
    assert (
        OutboxMessage.objects.filter(blind_q("openid", "oHAPPY"), case=case, template="acknowledged").count()
        == 1
    )

    done = html(client.get(response["Location"]))
    assert case.number in done
    assert "举报已提交" in done
    # The query code a stranger needs besides the number (issue 11, M4), shown only here and to the reporter.
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{10}", case.query_code)
    assert f'<b class="done__code" id="query-code">{case.query_code}</b>' in done


def test_anonymous_report_keeps_no_name_or_phone_even_if_typed(reporter: Reporter) -> None:
    client = reporter("oANON")
    response = client.post(
        "/portal/report/", form_data(anonymous="1", reporter_name="李四", reporter_phone="not a phone")
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.anonymous is True
    assert case.reporter_name == "" and case.reporter_phone == ""


def test_district_unsure_goes_to_the_city_centre(reporter: Reporter) -> None:
    reporter("oUNSURE").post("/portal/report/", form_data(district="", latitude="", longitude=""))
    case = Case.objects.get()
    assert case.agency.kind == Agency.Kind.CITY_CENTRE
    assert case.latitude is None


@pytest.mark.parametrize(
    ("phone", "stored"),
    [("138 1234 5678", "13812345678"), ("+8613812345678", "13812345678"), ("022-23456789", "022-23456789")],
)
def test_phone_formats_accepted_and_normalised(reporter: Reporter, phone: str, stored: str) -> None:
    reporter("oPHONE").post("/portal/report/", form_data(reporter_phone=phone))
    assert Case.objects.get().reporter_phone == stored


def _gif() -> bytes:
    return image_bytes("GIF")


BAD_INPUTS: list[tuple[str, Callable[[], dict[str, Any]], str]] = [
    ("missing description", lambda: form_data(description=""), "请描述您看到的情况"),
    ("blank description", lambda: form_data(description="    "), "请描述您看到的情况"),
    ("too short description", lambda: form_data(description="冒烟"), "情况描述太短"),
    ("too long description", lambda: form_data(description="污" * 2001), "情况描述最多2000个字"),
    ("bad phone", lambda: form_data(reporter_phone="12345"), "电话号码格式不正确"),
    ("letters as phone", lambda: form_data(reporter_phone="1381234567x"), "电话号码格式不正确"),
    ("no category", lambda: form_data(category=""), "请选择污染类别"),
    ("unknown kind", lambda: form_data(kind="complaint"), "请选择反映类型"),
    ("unknown district", lambda: form_data(district="999999"), "请从列表中选择所在区"),
    ("future time", lambda: form_data(occurred_at="2999-01-01T10:00"), "发生时间不能晚于现在"),
    ("garbage time", lambda: form_data(occurred_at="昨天晚上"), "请填写正确的发生时间"),
    ("latitude out of range", lambda: form_data(latitude="123.5"), "定位信息无效"),
    ("half a location", lambda: form_data(longitude=""), "定位信息不完整"),
    (
        "oversized photo",
        lambda: form_data(
            photos=[
                SimpleUploadedFile("big.png", image_bytes()[:64] + b"\0" * TEN_MB, content_type="image/png")
            ]
        ),
        "超过 10 MB 的上限",
    ),
    (
        "text disguised as .jpg",
        lambda: form_data(
            photos=[SimpleUploadedFile("photo.jpg", b"<?php system($_GET['c']); ?>", "image/jpeg")]
        ),
        "不是有效的图片，只能上传 JPEG、PNG 或 WebP",
    ),
    (
        "html disguised as .png",
        lambda: form_data(
            photos=[SimpleUploadedFile("a.png", b"<html><script>x</script></html>", "image/png")]
        ),
        "不是有效的图片",
    ),
    (
        "gif is not accepted",
        lambda: form_data(photos=[SimpleUploadedFile("anim.jpg", _gif(), content_type="image/jpeg")]),
        "不是有效的图片",
    ),
    (
        "truncated jpeg",
        lambda: form_data(
            photos=[SimpleUploadedFile("cut.jpg", image_bytes("JPEG", size=(300, 300))[:200], "image/jpeg")]
        ),
        "不是有效的图片",
    ),
    ("empty file", lambda: form_data(photos=[SimpleUploadedFile("e.jpg", b"", "image/jpeg")]), "请重新选择"),
    (
        "ten photos",
        lambda: form_data(photos=[photo(f"p{i}.png") for i in range(10)]),
        "最多上传9张照片，您一共选择了10张",
    ),
]


@pytest.mark.parametrize(("label", "make_data", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_refused_clearly_and_nothing_is_written(
    reporter: Reporter, label: str, make_data: Callable[[], dict[str, Any]], message: str
) -> None:
    client = reporter("oBAD")
    response = client.post("/portal/report/", make_data())
    assert response.status_code == 422
    page = html(response)
    assert message in page, label
    assert "还不能提交，请修改下面标红的内容" in page
    assert not Case.objects.exists()
    assert not Attachment.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_refused_form_keeps_every_typed_value(reporter: Reporter) -> None:
    client = reporter("oKEEP")
    data = form_data(
        kind="consultation",
        category="noise",
        district="120103",
        reported_party="河西某建筑工地",
        address="河西区友谊路8号",
        occurred_at="2025-03-01T21:30",
        description="",
        anonymous="0",
        reporter_name="王五",
        reporter_phone="022-23456789",
    )
    page = html(client.post("/portal/report/", data))
    assert 'value="consultation" checked' in page or re.search(r'value="consultation"[^>]*checked', page)
    assert re.search(r'value="noise"[^>]*checked', page)
    assert re.search(r'<option value="120103" selected>', page)
    for typed in (
        "河西某建筑工地",
        "河西区友谊路8号",
        "2025-03-01T21:30",
        "王五",
        "022-23456789",
        "39.117721",
    ):
        assert typed in page, typed


def test_good_photos_are_kept_while_the_reporter_corrects_the_form(
    reporter: Reporter, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    client = reporter("oSTAGE")
    token = token_of(client.get("/portal/report/"))
    first = client.post(
        "/portal/report/",
        form_data(token=token, description="", photos=[photo("a.png"), photo("b.png"), photo("c.png")]),
    )
    assert first.status_code == 422
    page = html(first)
    assert "已上传的 3 张照片也已保存" in page
    assert token_of(first) == token
    staged = list(StagedPhoto.objects.order_by("id"))
    assert len(staged) == 3 and not Case.objects.exists()
    # The reporter sees the kept photos, and no one else can.
    assert client.get(f"/portal/report/photo/{staged[0].key}/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(
            "/portal/report/",
            form_data(
                token=token, remove_staged=[staged[1].key], photos=[photo("d.jpg", "JPEG", "image/jpeg")]
            ),
        )
    assert second.status_code == 302
    case = Case.objects.get()
    assert case.attachments.count() == 3  # a and c kept, b removed, d added
    assert sorted(a.content_type for a in case.attachments.all()) == ["image/jpeg", "image/png", "image/png"]
    assert not StagedPhoto.objects.exists()
    assert not list((media_root / "portal-staging").rglob("*.*"))


def test_staged_photos_count_towards_the_nine_photo_limit(reporter: Reporter) -> None:
    client = reporter("oLIMIT")
    token = token_of(client.get("/portal/report/"))
    client.post("/portal/report/", form_data(token=token, description="", photos=[photo() for _ in range(5)]))
    response = client.post("/portal/report/", form_data(token=token, photos=[photo() for _ in range(5)]))
    assert "最多上传9张照片，您一共选择了10张" in html(response)
    assert not Case.objects.exists()


def test_staged_photo_is_private_to_its_reporter(reporter: Reporter) -> None:
    owner = reporter("oOWNER")
    token = token_of(owner.get("/portal/report/"))
    owner.post("/portal/report/", form_data(token=token, description="", photos=[photo()]))
    key = StagedPhoto.objects.get().key
    other = reporter("oOTHER")
    assert other.get(f"/portal/report/photo/{key}/").status_code == 404
    assert Client().get(f"/portal/report/photo/{key}/").status_code == 302  # not identified: authorise first


def test_same_form_sent_twice_makes_one_case(reporter: Reporter) -> None:
    client = reporter("oTWICE")
    token = token_of(client.get("/portal/report/"))
    first = client.post("/portal/report/", form_data(token=token, photos=[photo()]))
    second = client.post("/portal/report/", form_data(token=token, photos=[photo()]))
    case = Case.objects.get()
    assert first["Location"] == f"/portal/report/done/{case.number}/"
    assert second["Location"] == f"/portal/report/done/{case.number}/?again=1"
    assert Attachment.objects.count() == 1
    assert "这份表单已经提交过了" in html(client.get(second["Location"]))


def test_going_back_and_writing_something_else_is_a_new_report(reporter: Reporter) -> None:
    client = reporter("oBACK")
    token = token_of(client.get("/portal/report/"))
    client.post("/portal/report/", form_data(token=token))
    again = client.post("/portal/report/", form_data(token=token, description="另一处：河边有人倾倒黑渣。"))
    assert Case.objects.count() == 2
    newer = Case.objects.get(description="另一处：河边有人倾倒黑渣。")
    assert again["Location"] == f"/portal/report/done/{newer.number}/"


def test_photos_kept_for_forms_never_sent_are_purged_after_a_day(
    reporter: Reporter, media_root: Path, time_machine: Any
) -> None:
    from eco12369.portal.tasks import purge_staged_photos

    time_machine.move_to(dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC), tick=False)
    client = reporter("oPURGE")
    token = token_of(client.get("/portal/report/"))
    client.post("/portal/report/", form_data(token=token, description="", photos=[photo(), photo()]))
    assert StagedPhoto.objects.count() == 2
    files = list((media_root / "portal-staging").rglob("*.png"))
    assert len(files) == 2
    purge_staged_photos()
    assert StagedPhoto.objects.count() == 2  # not yet a day old
    time_machine.shift(dt.timedelta(hours=25))
    purge_staged_photos()
    assert not StagedPhoto.objects.exists()
    assert not any(f.exists() for f in files)


def test_another_reporters_token_does_not_hijack_their_form(reporter: Reporter) -> None:
    alice = reporter("oALICE")
    token = token_of(alice.get("/portal/report/"))
    alice.post("/portal/report/", form_data(token=token))
    bob = reporter("oBOB")
    response = bob.post("/portal/report/", form_data(token=token, description="另一件事：河道发臭，有死鱼。"))
    assert response.status_code == 302
    assert Case.objects.count() == 2
    assert cases_of_reporter(openid="oBOB").count() == 1


SCRIPT = "<script>alert('x')</script>"


def test_html_and_script_are_stored_as_text_and_escaped_everywhere(reporter: Reporter) -> None:
    client = reporter("oXSS")
    response = client.post(
        "/portal/report/",
        form_data(
            description=f"黑烟{SCRIPT}很浓", reported_party='<img src=x onerror="alert(1)">', address=SCRIPT
        ),
    )
    case = Case.objects.get()
    assert case.description == f"黑烟{SCRIPT}很浓"  # stored as typed
    assert case.reported_party == '<img src=x onerror="alert(1)">'
    for url in (response["Location"], f"/portal/mine/{case.number}/", "/portal/mine/"):
        page = html(client.get(url))
        assert "<script>alert" not in page and "<img src=x" not in page, url
    detail = html(client.get(f"/portal/mine/{case.number}/"))
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in detail
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in detail


def test_script_in_a_refused_form_comes_back_escaped(reporter: Reporter) -> None:
    page = html(reporter("oXSS2").post("/portal/report/", form_data(description="", address=SCRIPT)))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_post_without_csrf_token_is_refused(reporter: Reporter) -> None:
    client = reporter("oCSRF")
    client.handler.enforce_csrf_checks = True
    response = client.post("/portal/report/", form_data())
    assert response.status_code == 403
    assert not Case.objects.exists()


def test_control_characters_are_dropped_from_the_reporters_text(reporter: Reporter) -> None:
    """A vertical tab or an escape pasted into the form is invisible and would break every XML document
    showing the text (Open311's requests.xml): the form stores the text without it, keeping newlines."""
    client = reporter("oCONTROL")
    token = token_of(client.get("/portal/report/"))
    data = form_data(
        token=token,
        address="和平区南京路\x0b100号",
        reported_party="天津某\x1b某化工有限公司",
        description="工厂烟囱每天夜里\x0c冒黑烟，\n气味刺鼻。",
        reporter_name="张\x07三",
    )
    response = client.post("/portal/report/", data)
    assert response.status_code == 302, html(response)[:2000]
    case = Case.objects.get()
    assert case.address == "和平区南京路100号"
    assert case.reported_party == "天津某某化工有限公司"
    assert case.description == "工厂烟囱每天夜里冒黑烟，\n气味刺鼻。"
    assert case.reporter_name == "张三"
