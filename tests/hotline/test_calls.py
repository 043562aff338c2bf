"""Hotline intake (电话代录, issue 14 item 1) through HTTP: a call becomes a case (phone channel, the caller
encrypted, received at the time of the call, routed by district), a call about an open case becomes a repeat
report of it, the category is guessed from the text, and only operators record, within their scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from eco12369.audit.models import AuditEntry
from eco12369.cases import services
from eco12369.cases.models import Case, CaseEvent, Channel
from eco12369.followup.models import Follow
from eco12369.orgs.models import User
from tests.photo_metadata import assert_clean_and_upright, phone_jpeg

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def heping_op(make_user: Callable[..., User]) -> User:
    return make_user("operator", district_name="和平区", display_name="和平区接线员")


def call_data(**extra: str) -> dict[str, str]:
    data = {
        "received_at": "2026-12-03T08:47",
        "phone": "13612345678",
        "name": "李阿姨",
        "kind": "report",
        "description": "楼下饭馆油烟直接往居民楼排，呛得没法开窗。",
        "category": "air",
        "category_touched": "",
        "reported_party": "老街坊家常菜馆",
        "address": "和平区西康路与成都道交口",
        "district": "",
        "latitude": "",
        "longitude": "",
        "occurred_at": "",
    }
    data.update(extra)
    return data


def test_a_call_becomes_a_case_received_at_the_time_of_the_call(client: Client, heping_op: User) -> None:
    client.force_login(heping_op)
    resp = client.post("/hotline/call/", call_data())
    assert resp.status_code == 302, resp.content.decode()[:2000]
    case = Case.objects.get()
    assert resp["Location"] == f"/hotline/call/done/{case.number}/"
    assert case.channel == Channel.PHONE and case.region.name == "和平区"  # named in the typed address
    assert case.received_at == dt.datetime(2026, 12, 3, 8, 47, tzinfo=TZ)
    assert case.reporter_phone == "13612345678" and case.reporter_name == "李阿姨"
    with connection.cursor() as cursor:  # encrypted at rest, as a WeChat reporter's are
        cursor.execute("SELECT reporter_phone, reporter_name FROM cases_case WHERE id = %s", [case.pk])
        stored = cursor.fetchone()
    assert "13612345678" not in stored[0] and "李阿姨" not in stored[1]
    receive = CaseEvent.objects.get(case=case, action="receive")
    assert receive.actor == heping_op
    assert AuditEntry.objects.get(action="case.receive", object_id=case.number).actor == heping_op
    done = client.get(resp["Location"]).content.decode()
    assert case.number in done and "请向来电人读出" in done


def test_anonymous_calls_keep_no_name_or_number(client: Client, heping_op: User) -> None:
    client.force_login(heping_op)
    client.post("/hotline/call/", call_data(anonymous="on", phone="", name=""))
    case = Case.objects.get()
    assert case.anonymous and case.reporter_phone == "" and case.reporter_name == ""


def test_a_phone_is_needed_unless_anonymous(client: Client, heping_op: User) -> None:
    client.force_login(heping_op)
    resp = client.post("/hotline/call/", call_data(phone=""))
    assert resp.status_code == 422 and "请填写来电号码" in resp.content.decode()
    assert not Case.objects.exists()


def test_a_call_about_another_district_is_routed_there(client: Client, heping_op: User) -> None:
    """A 和平区 operator takes a call about a point in 蓟州区 (picked on the map): the case goes to 蓟州区's
    bureau by the outline; the operator can still read the number back."""
    client.force_login(heping_op)
    resp = client.post(
        "/hotline/call/",
        call_data(
            address="山里的采石场", latitude="40.045700", longitude="117.408200", reported_party="某采石场"
        ),
    )
    case = Case.objects.get()
    assert case.region.name == "蓟州区" and case.agency.region.name == "蓟州区"
    done = client.get(resp["Location"])
    assert done.status_code == 200 and case.number in done.content.decode()
    assert client.get(f"/cases/{case.number}/").status_code == 404  # not theirs any more


def test_category_is_guessed_from_the_text_unless_the_operator_chose(client: Client, heping_op: User) -> None:
    client.force_login(heping_op)
    guess = client.get(
        "/hotline/call/category/", {"description": "半夜工地打桩，噪音太大", "category": "other"}
    )
    assert 'value="noise" selected' in guess.content.decode()
    kept = client.get(
        "/hotline/call/category/",
        {"description": "半夜工地打桩，噪音太大", "category": "air", "category_touched": "1"},
    )
    assert 'value="air" selected' in kept.content.decode()


def test_candidates_show_open_cases_and_one_click_attaches_the_call(
    client: Client, heping_op: User, make_case: Callable[..., Case]
) -> None:
    existing = make_case(
        "和平区",
        category="air",
        reported_party="老街坊家常菜馆",
        address="和平区西康路与成都道交口",
        description="饭馆油烟扰民，我是张先生13800001111",
        reporter_name="张先生",
    )
    existing = services.case_accept(case=existing, actor=heping_op)  # only accepted cases are suggested (L6)
    client.force_login(heping_op)
    found = client.get("/hotline/call/candidates/", {"reported_party": "老街坊家常菜馆", "district": ""})
    html = found.content.decode()
    assert existing.number in html and "记为重复来电" in html
    assert "张先生" not in html and "13800001111" not in html
    token = html.split(f'value="{existing.number}|')[1].split('"')[0]
    resp = client.post("/hotline/call/attach/", call_data(attach=f"{existing.number}|{token}"))
    assert resp.status_code == 302 and resp["Location"].startswith(
        f"/hotline/call/followed/{existing.number}/"
    )
    assert Case.objects.count() == 1  # no new case
    follow = Follow.objects.get()
    assert (follow.case, follow.channel, follow.caller_phone, follow.recorded_by) == (
        existing,
        Channel.PHONE,
        "13612345678",
        heping_op,
    )
    assert follow.created_at == dt.datetime(2026, 12, 3, 8, 47, tzinfo=TZ)
    assert CaseEvent.objects.filter(case=existing, action="follow", actor=heping_op).exists()
    assert AuditEntry.objects.filter(
        action="case.follow", object_id=existing.number, actor=heping_op
    ).exists()
    # the same caller again: nothing new
    resp = client.post("/hotline/call/attach/", call_data(attach=f"{existing.number}|{token}"))
    assert resp["Location"].endswith("?again=1") and Follow.objects.count() == 1
    # a forged token is refused
    resp = client.post("/hotline/call/attach/", call_data(attach=f"{existing.number}|forged"))
    assert resp.status_code == 409 and Follow.objects.count() == 1
    # the caller's number left out (and not anonymous): what was typed does not pass, 422, not a conflict
    resp = client.post("/hotline/call/attach/", call_data(attach=f"{existing.number}|{token}", phone=""))
    assert resp.status_code == 422 and "来电号码" in resp.content.decode() and Follow.objects.count() == 1


def test_only_operators_record_calls(client: Client, make_user: Callable[..., User]) -> None:
    for roles in (("handler",), ("reviewer",), ("head",)):
        client.force_login(make_user(*roles, district_name="和平区"))
        assert client.get("/hotline/call/").status_code == 404
        assert client.post("/hotline/call/", call_data()).status_code == 404
    client.logout()
    assert client.get("/hotline/call/").status_code == 302  # to the login page
    assert not Case.objects.exists()


def test_the_map_outlines_are_served_to_operators(client: Client, heping_op: User) -> None:
    client.force_login(heping_op)
    resp = client.get("/hotline/districts.geojson")
    body = b"".join(resp.streaming_content)  # type: ignore[attr-defined]
    assert resp.status_code == 200 and b"FeatureCollection" in body and "和平区".encode() in body


def test_the_read_back_gives_the_number_and_the_query_code(
    client: Client, heping_op: User, make_user: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    """The caller is read the number and the unguessable query code (the number alone is guessable); a
    colleague of the same district may open the page, another district's operator may not, and the page
    never shows the code of a case from another channel."""
    client.force_login(heping_op)
    resp = client.post("/hotline/call/", call_data())
    case = Case.objects.get()
    page = client.get(resp["Location"]).content.decode()
    assert f'id="read-back-number">{case.number}<' in page
    assert f'id="read-back-code" aria-describedby="code-hint">{case.query_code}<' in page
    assert f"查询 {case.number} {case.query_code}" in page
    colleague = make_user("operator", district_name="和平区", display_name="和平区夜班接线员")
    client.force_login(colleague)
    assert case.query_code in client.get(resp["Location"]).content.decode()
    client.force_login(make_user("operator", district_name="河西区", display_name="河西区接线员"))
    assert client.get(resp["Location"]).status_code == 404
    wechat_case = make_case("和平区", description="排污口晚上冒白沫，味道刺鼻")
    client.force_login(heping_op)
    assert client.get(f"/hotline/call/done/{wechat_case.number}/").status_code == 404


def test_a_repeat_call_read_back_for_any_operator_of_the_district(
    client: Client, heping_op: User, make_user: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    """The same caller phones twice and two operators of 和平区 take the calls: the second is told the call
    is already recorded (it was 404 before: the follow was the first operator's). Another district's
    operator still gets 404."""
    existing = make_case("和平区", reported_party="老街坊家常菜馆", address="和平区西康路与成都道交口")
    existing = services.case_accept(case=existing, actor=heping_op)
    colleague = make_user("operator", district_name="和平区", display_name="和平区夜班接线员")
    for who in (heping_op, colleague):
        client.force_login(who)
        html = client.get("/hotline/call/candidates/", {"reported_party": "老街坊家常菜馆"}).content.decode()
        token = html.split(f'value="{existing.number}|')[1].split('"')[0]
        resp = client.post("/hotline/call/attach/", call_data(attach=f"{existing.number}|{token}"))
        assert resp.status_code == 302
        page = client.get(resp["Location"])
        assert page.status_code == 200 and existing.number in page.content.decode()
        assert existing.query_code not in page.content.decode()  # the code is the first reporter's
    assert resp["Location"].endswith("?again=1")
    assert "此前已就此件来电" in page.content.decode() and Follow.objects.count() == 1
    client.force_login(make_user("operator", district_name="河西区", display_name="河西区接线员"))
    assert client.get(f"/hotline/call/followed/{existing.number}/").status_code == 404


def test_call_attachments_get_the_portals_photo_check(
    client: Client, heping_op: User, settings: Any, tmp_path: Path
) -> None:
    """The hotline's attachments go through the one photo check of cases/photos.py, as the H5 form's do:
    stored without the phone's metadata under a random name; a file that is not a photo, or an empty one,
    is refused with the file named, and nothing is created."""
    settings.MEDIA_ROOT = tmp_path / "uploads"
    client.force_login(heping_op)
    fake = SimpleUploadedFile("现场照片.jpg", b"<?php system($_GET['c']); ?>", content_type="image/jpeg")
    resp = client.post("/hotline/call/", {**call_data(), "attachments": [fake]})
    assert resp.status_code == 422
    assert (
        "文件“现场照片.jpg”不是有效的图片，只能上传 JPEG、PNG 或 WebP 格式的照片。" in resp.content.decode()
    )
    empty = SimpleUploadedFile("空.jpg", b"", content_type="image/jpeg")
    resp = client.post("/hotline/call/", {**call_data(), "attachments": [empty]})
    assert resp.status_code == 422 and "照片“空.jpg”是空文件" in resp.content.decode()
    assert not Case.objects.exists()
    photo = SimpleUploadedFile("IMG_20261203_0847.jpg", phone_jpeg(), content_type="image/jpeg")
    resp = client.post("/hotline/call/", {**call_data(), "attachments": [photo]})
    assert resp.status_code == 302
    attachment = Case.objects.get().attachments.get()
    assert "IMG_20261203" not in attachment.file.name and "IMG_20261203" not in attachment.original_name
    with attachment.file.open("rb") as fh:
        assert_clean_and_upright(fh.read())
