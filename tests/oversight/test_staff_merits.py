"""表彰和惩处 (Art. 18): the head of an agency records commendations and penalties for the agency's staff,
the city centre's head for anyone; the records show on the performance page next to the person and to the
person themselves."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from eco12369.audit.models import AuditEntry
from eco12369.oversight.models import StaffMerit
from eco12369.oversight.periods import previous_month

from .conftest import Bureau, City, login

PERFORMANCE = reverse("oversight:performance")
MINE = reverse("oversight:my_merits")


def new(person: Any) -> str:
    return reverse("oversight:staff_merit_new", kwargs={"pk": person.pk})


def record(client: Any, actor: Any, person: Any, **data: Any) -> Any:
    login(client, actor)
    payload = {"kind": "commendation", "period": previous_month().key, "reason": "按期办结率全市第一。"}
    return client.post(new(person), {**payload, **data})


def test_a_district_head_records_for_own_staff_with_an_audit_entry(client: Any, heping: Bureau) -> None:
    response = record(client, heping.head, heping.handler)
    assert response.status_code == 302
    merit = StaffMerit.objects.get()
    assert (merit.person, merit.kind, merit.period, merit.recorded_by) == (
        heping.handler,
        "commendation",
        previous_month().key,
        heping.head,
    )
    entry = AuditEntry.objects.get(action="staff_merit.record")
    assert entry.actor == heping.head and entry.object_id == str(merit.pk)
    assert entry.detail["person"] == heping.handler.username and entry.detail["kind"] == "commendation"


def test_a_district_head_cannot_record_for_another_bureau(
    client: Any, heping: Bureau, hedong: Bureau
) -> None:
    assert record(client, heping.head, hedong.handler).status_code == 404
    assert login(client, heping.head).get(new(hedong.handler)).status_code == 404
    assert not StaffMerit.objects.exists()


def test_the_city_head_records_for_anyone_but_others_may_not(
    client: Any, city: City, heping: Bureau, hedong: Bureau, outsiders: dict[str, Any]
) -> None:
    for user in (city.reviewer, city.operator, heping.reviewer, heping.operator, heping.handler,
                 *outsiders.values()):  # fmt: skip
        assert record(client, user, heping.handler).status_code == 403
    assert not StaffMerit.objects.exists()
    assert (
        record(client, city.head, hedong.operator, kind="criticism", reason="多次超期。").status_code == 302
    )
    assert (
        record(client, city.head, heping.head, kind="penalty", reason="泄露举报人信息。").status_code == 302
    )
    assert StaffMerit.objects.count() == 2
    assert AuditEntry.objects.filter(action="staff_merit.record", actor=city.head).count() == 2


def test_empty_reason_is_refused_with_422_and_the_typed_text_kept(client: Any, heping: Bureau) -> None:
    response = record(client, heping.head, heping.handler, reason="   ", kind="criticism")
    assert response.status_code == 422
    assert "请填写表彰或惩处的事由。" in response.content.decode()
    assert not StaffMerit.objects.exists()
    response = record(client, heping.head, heping.handler, reason="答复不及时。", period="1999-13")
    assert response.status_code == 422
    assert "答复不及时。" in response.content.decode()
    assert not StaffMerit.objects.exists() and not AuditEntry.objects.filter(action="staff_merit.record")


def test_records_show_on_the_performance_page_within_its_scope(
    client: Any, city: City, heping: Bureau, hedong: Bureau
) -> None:
    record(client, heping.head, heping.handler, reason="和平区承办表彰事由")
    record(client, hedong.head, hedong.handler, kind="criticism", reason="河东区通报批评事由")
    period = {"period": previous_month().key}
    body = login(client, heping.head).get(PERFORMANCE, period).content.decode()
    assert "和平区承办表彰事由" in body and "河东区通报批评事由" not in body
    body = login(client, city.reviewer).get(PERFORMANCE, period).content.decode()
    assert "和平区承办表彰事由" in body and "河东区通报批评事由" in body and "通报批评" in body
    assert login(client, heping.handler).get(PERFORMANCE).status_code == 403


def test_the_person_sees_their_own_records_only(client: Any, heping: Bureau, hedong: Bureau) -> None:
    record(client, heping.head, heping.handler, reason="和平区承办表彰事由")
    record(client, hedong.head, hedong.handler, kind="penalty", reason="河东区惩处事由")
    body = login(client, heping.handler).get(MINE).content.decode()
    assert "和平区承办表彰事由" in body and "河东区惩处事由" not in body
    body = login(client, hedong.handler).get(MINE).content.decode()
    assert "河东区惩处事由" in body and "和平区承办表彰事由" not in body and "惩处" in body
    body = login(client, heping.operator).get(MINE).content.decode()
    assert "暂无表彰与惩处记录" in body
    client.logout()
    assert client.get(MINE).status_code == 302  # to the login page


def test_lists_query_counts_are_bounded(
    client: Any, city: City, heping: Bureau, django_assert_max_num_queries: Any
) -> None:
    for person in (heping.handler, heping.operator, heping.reviewer):
        for i in range(3):
            record(client, city.head, person, reason=f"事由{i}")
    login(client, city.head)
    client.get(PERFORMANCE)
    with django_assert_max_num_queries(13):
        assert client.get(PERFORMANCE).status_code == 200
    login(client, heping.handler)
    client.get(MINE)
    with django_assert_max_num_queries(9):
        assert client.get(MINE).status_code == 200


def test_the_staff_menu_links_my_records(client: Any, heping: Bureau) -> None:
    body = login(client, heping.handler).get(reverse("workbench:home"), follow=True).content.decode()
    assert f'href="{MINE}"' in body and "我的表彰与惩处" in body
