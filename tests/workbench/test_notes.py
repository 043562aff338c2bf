"""Internal notes (内部备注) with @mentions: staff only, scoped, audited, and notifying the person named."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from eco12369.audit.models import AuditEntry
from eco12369.workbench.models import CaseNote, StaffNotification

from .conftest import advance


def note_url(case) -> str:
    return reverse("workbench:case_note_add", args=[case.number])


def case_url(case) -> str:
    return reverse("workbench:case", args=[case.number])


@pytest.fixture
def handling_case(heping, make_case):
    return advance(
        make_case("和平区", reported_party="XX金属表面处理厂", description="半夜酸味呛人，窗户都不敢开"),
        heping,
        "handling",
    )


def test_a_note_with_a_mention_by_name_notifies_that_person(client: Client, heping, handling_case) -> None:
    client.force_login(heping.operator)
    body = "@和平区承办人 麻烦明早再去趟现场，举报人说晚上11点以后才排"
    response = client.post(note_url(handling_case), {"body": body})
    assert response.status_code == 302 and response["Location"].endswith("#notes")

    note = CaseNote.objects.get(case=handling_case)
    assert note.author == heping.operator and list(note.mentions.all()) == [heping.handler]
    notif = StaffNotification.objects.get(recipient=heping.handler)
    assert notif.kind == "mention" and notif.case == handling_case and notif.note == note
    assert handling_case.number in notif.text
    assert not StaffNotification.objects.filter(recipient=heping.operator).exists()  # not the author

    entry = AuditEntry.objects.filter(action="case.note_add").get()
    assert entry.object_id == handling_case.number and entry.detail["mentions"] == [heping.handler.username]
    assert "酸味" not in str(entry.detail)  # the note's text stays with the case

    client.force_login(heping.handler)
    page = client.get(case_url(handling_case)).content.decode()
    assert "麻烦明早再去趟现场" in page


def test_a_mention_by_username_and_a_reviewer_at_the_city_centre(
    client: Client, heping, handling_case, make_user
) -> None:
    city = make_user("operator", district_name=None, display_name="市中心 刘某某", username="liu_city")
    client.force_login(heping.handler)
    body = f"已复查。@{heping.reviewer.username} 请审核；@liu_city 抄送市中心，企业说是隔壁厂排的（待核实）"
    assert client.post(note_url(handling_case), {"body": body}).status_code == 302
    assert set(StaffNotification.objects.values_list("recipient__username", flat=True)) == {
        heping.reviewer.username,
        city.username,
    }


def refusal(typed: str) -> str:
    """The one refusal of a mention, whether nobody or someone who may not see the case is named: it echoes
    what was typed and names no account."""
    return f"无法提及“@{typed}”：该用户不存在或无权查看此举报件。"


def test_a_mention_of_someone_who_may_not_see_the_case_is_refused_plainly(
    client: Client, heping, hexi, handling_case
) -> None:
    client.force_login(heping.operator)
    response = client.post(note_url(handling_case), {"body": "@河西区承办人 你们那边也有类似的吗？"})
    assert response.status_code == 422
    text = response.content.decode()
    assert refusal("河西区承办人") in text
    assert "你们那边也有类似的吗" in text  # what was typed is kept in the form
    assert not CaseNote.objects.exists() and not StaffNotification.objects.exists()


def test_a_refused_mention_discloses_no_account_of_another_district_or_the_platform(
    client: Client, heping, hexi, handling_case, make_user
) -> None:
    """Other districts' staff, the administrator and the auditor are named by username (the writer typed
    nothing of their names): the refusal is the one an unknown name gets, their names appear nowhere."""
    admin = make_user("admin", district_name=None, display_name="系统管理员老周", username="zhou_admin")
    auditor = make_user("auditor", district_name=None, display_name="审计员小吴", username="wu_audit")
    client.force_login(heping.handler)
    for other in (hexi.head, hexi.operator, admin, auditor):
        response = client.post(note_url(handling_case), {"body": f"@{other.username} 请看一下"})
        assert response.status_code == 422, other.username
        text = response.content.decode()
        assert refusal(other.username) in text, other.username
        assert other.display_name not in text, other.username
    unknown = client.post(note_url(handling_case), {"body": "@nobody_here 请看一下"})
    assert refusal("nobody_here") in unknown.content.decode()  # not told apart from the accounts above
    assert not CaseNote.objects.exists() and not StaffNotification.objects.exists()
    # A colleague who may see the case is still mentioned, by username and by name, in the same note.
    body = f"@{heping.head.username} 请阅；@和平区分管领导 请审核"
    assert client.post(note_url(handling_case), {"body": body}).status_code == 302
    assert set(StaffNotification.objects.values_list("recipient", flat=True)) == {
        heping.head.pk,
        heping.reviewer.pk,
    }


def test_an_unknown_mention_is_refused_and_an_email_address_is_not_a_mention(
    client: Client, heping, handling_case
) -> None:
    client.force_login(heping.operator)
    response = client.post(note_url(handling_case), {"body": "@王小二 看一下"})
    assert response.status_code == 422 and refusal("王小二") in response.content.decode()
    ok = client.post(note_url(handling_case), {"body": "企业环保员邮箱 hb_zhang@xx-metal.com，已发函"})
    assert ok.status_code == 302 and CaseNote.objects.count() == 1
    assert not StaffNotification.objects.exists()


def test_notes_are_for_staff_who_see_the_case_only(client: Client, heping, hexi, handling_case) -> None:
    client.force_login(hexi.operator)
    assert client.post(note_url(handling_case), {"body": "路过看看"}).status_code == 404
    people = reverse("workbench:case_mentionable", args=[handling_case.number])
    assert client.get(people, {"q": "和平"}).status_code == 404
    assert not CaseNote.objects.exists()


def test_hostile_note_text_is_escaped(client: Client, heping, handling_case) -> None:
    client.force_login(heping.operator)
    client.post(note_url(handling_case), {"body": "<script>alert('x')</script> 企业老板说“随便查”"})
    page = client.get(case_url(handling_case)).content.decode()
    assert "<script>alert('x')</script>" not in page and "&lt;script&gt;" in page


def test_mention_autocomplete_lists_only_people_who_may_see_the_case(
    client: Client, heping, hexi, handling_case, make_user
) -> None:
    make_user("reviewer", district_name=None, display_name="市中心王科长")
    client.force_login(heping.operator)
    url = reverse("workbench:case_mentionable", args=[handling_case.number])
    names = {p["name"] for p in client.get(url, {"q": ""}).json()["people"]}
    assert {"和平区承办人", "和平区分管领导", "和平区负责人", "市中心王科长"} <= names
    assert "河西区承办人" not in names and "和平区操作员" not in names  # not the author either
    found = client.get(url, {"q": "@承办"}).json()["people"]
    assert [p["username"] for p in found] == [heping.handler.username]


def test_notes_never_reach_open311(client: Client, heping, handling_case) -> None:
    client.force_login(heping.operator)
    client.post(note_url(handling_case), {"body": "内部：举报人疑似竞争对手，注意措辞"})
    client.logout()
    for suffix in ("json", "xml"):
        response = client.get(f"/open311/v2/requests/{handling_case.number}.{suffix}")
        assert response.status_code == 200 and handling_case.number in response.content.decode()
        assert "竞争对手" not in response.content.decode()
