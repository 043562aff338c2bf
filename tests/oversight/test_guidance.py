"""业务指导通知 (Art. 14): the city centre publishes guidance to the district bureaus; the addressed bureaus'
staff read it (first reading recorded per user); the city centre sees which bureaus have read it."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from eco12369.audit.models import AuditEntry
from eco12369.orgs.models import Agency
from eco12369.oversight.models import GuidanceNotice, GuidanceNoticeRead

from .conftest import Bureau, City, login

LIST = reverse("oversight:guidance")
NEW = reverse("oversight:guidance_new")
READ, UNREAD = 'tag-approved">已读', 'tag-pending">未读'


def bureau_agency(district: str) -> Agency:
    return Agency.objects.get(region__name=district, kind=Agency.Kind.DISTRICT_BUREAU)


def publish(client: Any, user: Any, **data: Any) -> Any:
    login(client, user)
    return client.post(NEW, {"title": "关于规范答复意见的通知", "body": "答复意见须包含五项内容。", **data})


def detail(notice: GuidanceNotice) -> str:
    return reverse("oversight:guidance_detail", kwargs={"pk": notice.pk})


def test_city_operator_publishes_to_all_bureaus_with_an_audit_entry(
    client: Any, city: City, heping: Bureau, hedong: Bureau
) -> None:
    response = publish(client, city.operator)
    notice = GuidanceNotice.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(notice)
    assert notice.to_all
    addressed = set(notice.recipients.values_list("pk", flat=True))
    assert {bureau_agency("和平区").pk, bureau_agency("河东区").pk} <= addressed
    assert not notice.recipients.filter(kind=Agency.Kind.CITY_CENTRE).exists()
    entry = AuditEntry.objects.get(action="guidance_notice.publish")
    assert entry.actor == city.operator and entry.object_id == str(notice.pk)
    assert entry.detail["title"] == "关于规范答复意见的通知" and entry.detail["to_all"] is True


def test_only_the_city_centre_operator_or_head_may_publish(
    client: Any, city: City, heping: Bureau, outsiders: dict[str, Any]
) -> None:
    for user in (city.reviewer, city.handler, heping.head, heping.operator, *outsiders.values()):
        assert publish(client, user).status_code == 403
    assert not GuidanceNotice.objects.exists()
    assert not AuditEntry.objects.filter(action="guidance_notice.publish").exists()
    assert publish(client, city.head).status_code == 302


def test_empty_title_is_refused_with_422_and_typed_text_is_kept(
    client: Any, city: City, heping: Bureau
) -> None:
    response = publish(client, city.operator, title="  ", body="请各区认真核查现场。")
    assert response.status_code == 422
    body = response.content.decode()
    assert "请填写通知标题。" in body and "请各区认真核查现场。" in body
    assert not GuidanceNotice.objects.exists()


def test_targeted_notice_is_read_only_by_the_addressed_bureau(
    client: Any, city: City, heping: Bureau, hedong: Bureau
) -> None:
    publish(client, city.operator, recipients=[bureau_agency("和平区").pk])
    notice = GuidanceNotice.objects.get()
    assert not notice.to_all
    assert list(notice.recipients.all()) == [bureau_agency("和平区")]
    # 和平区: listed, unread, readable.
    login(client, heping.handler)
    body = client.get(LIST).content.decode()
    assert "关于规范答复意见的通知" in body and UNREAD in body
    assert client.get(detail(notice)).status_code == 200
    # 河东区: not listed, 404 on the notice, and no receipt written.
    for user in (hedong.head, hedong.operator):
        login(client, user)
        assert "关于规范答复意见的通知" not in client.get(LIST).content.decode()
        assert client.get(detail(notice)).status_code == 404
    assert not GuidanceNoticeRead.objects.filter(user__in=[hedong.head, hedong.operator]).exists()


def test_outsiders_see_no_notice(client: Any, city: City, heping: Bureau, outsiders: dict[str, Any]) -> None:
    publish(client, city.operator)
    notice = GuidanceNotice.objects.get()
    for user in outsiders.values():
        login(client, user)
        assert client.get(LIST).status_code == 403
        assert client.get(detail(notice)).status_code == 403


def test_opening_records_the_first_reading_and_the_city_sees_receipts(
    client: Any, city: City, heping: Bureau, hedong: Bureau
) -> None:
    publish(client, city.operator)
    notice = GuidanceNotice.objects.get()
    login(client, heping.handler)
    client.get(detail(notice))
    first = GuidanceNoticeRead.objects.get(user=heping.handler)
    client.get(detail(notice))  # a second opening keeps the first time
    assert GuidanceNoticeRead.objects.get(user=heping.handler).read_at == first.read_at
    assert first.agency == bureau_agency("和平区")
    body = client.get(LIST).content.decode()
    assert UNREAD not in body and READ in body
    # The city centre's reading leaves no receipt; its pages show 和平区 read, 河东区 not.
    login(client, city.reviewer)
    body = client.get(detail(notice)).content.decode()
    assert not GuidanceNoticeRead.objects.filter(user=city.reviewer).exists()
    heping_row = body.split(bureau_agency("和平区").short_name or "和平区", 1)[1].split("</tr>", 1)[0]
    hedong_row = body.split(bureau_agency("河东区").short_name or "河东区", 1)[1].split("</tr>", 1)[0]
    assert READ in heping_row and UNREAD in hedong_row
    bureaus = notice.recipients.count()
    assert f"1 / {bureaus}" in client.get(LIST).content.decode()


def test_district_list_is_newest_first(client: Any, city: City, heping: Bureau) -> None:
    publish(client, city.operator, title="第一号通知")
    publish(client, city.operator, title="第二号通知")
    login(client, heping.operator)
    body = client.get(LIST).content.decode()
    assert body.index("第二号通知") < body.index("第一号通知")


@pytest.mark.parametrize("who", ["city", "district"])
def test_list_query_count_is_bounded(
    client: Any, city: City, heping: Bureau, django_assert_max_num_queries: Any, who: str
) -> None:
    for i in range(12):
        publish(client, city.operator, title=f"通知{i}")
    user = city.head if who == "city" else heping.reviewer
    login(client, user)
    client.get(LIST)
    with django_assert_max_num_queries(10):
        assert client.get(LIST).status_code == 200
    notice = GuidanceNotice.objects.first()
    assert notice is not None
    with django_assert_max_num_queries(14):
        assert client.get(detail(notice)).status_code == 200


def test_the_staff_menu_links_the_notices_for_who_may_read_them(
    client: Any, city: City, heping: Bureau, outsiders: dict[str, Any]
) -> None:
    link = f'href="{LIST}"'
    for user in (heping.handler, heping.head, city.reviewer):
        assert link in login(client, user).get(reverse("workbench:home"), follow=True).content.decode()
    for user in outsiders.values():
        assert link not in login(client, user).get(reverse("workbench:home"), follow=True).content.decode()
