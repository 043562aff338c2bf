"""Reply templates: placeholders filled from the case, unknown ones refused on save, the content rules,
bureau scoping (a bureau sees and edits only its own; the city centre's are everyone's defaults), and the
pre-fill of the submit-reply form on the case page."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from eco12369.audit.models import AuditEntry
from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.followup.models import ReplyTemplate
from eco12369.followup.services import FollowupError, reply_template_save
from eco12369.followup.templating import fill, placeholder_errors, placeholder_values, template_check
from eco12369.orgs.models import User

from .conftest import MONDAY, People

pytestmark = pytest.mark.django_db

PARTS = {
    "party_facts": "{被举报对象}位于{地址}，属{所在区}。",
    "inspection": "{承办部门}于{检查日期}对{被举报对象}进行了现场检查。",
    "violations": "未发现{污染类别}污染环境违法问题。",
    "decision": "{机构}将持续关注。",
    "communication": "已于{受理日期}受理您的举报（编号 {编号}），现将办理情况答复如下。",
}


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "大气类未发现问题",
        "kind": "report",
        "category": "air",
        "active": "on",
        **PARTS,
        **overrides,
    }


@pytest.fixture
def handling_case(make_case: Callable[..., Case], people: People) -> Case:
    with time_machine.travel(MONDAY, tick=False):
        case = make_case(
            "和平区", category="air", reported_party="天津宏达化工有限公司", address="和平区南京路100号"
        )
        case = services.case_accept(case=case, actor=people.hp.operator)
        return services.case_assign(case=case, actor=people.hp.operator, department=people.hp.department)


def test_placeholders_are_filled_from_the_case(handling_case: Case, people: People) -> None:
    values = placeholder_values(handling_case)
    filled = {part: fill(text, values) for part, text in PARTS.items()}
    department = people.hp.department.name
    assert filled["party_facts"] == "天津宏达化工有限公司位于和平区南京路100号，属和平区。"
    assert filled["inspection"] == f"{department}于【请填写：检查日期】对天津宏达化工有限公司进行了现场检查。"
    assert filled["violations"] == "未发现大气污染环境违法问题。"
    assert filled["decision"] == "天津市和平区生态环境局将持续关注。"
    assert (
        filled["communication"]
        == f"已于2025年3月3日受理您的举报（编号 {handling_case.number}），现将办理情况答复如下。"
    )


def test_unknown_placeholders_and_stray_braces_are_refused() -> None:
    assert placeholder_errors("{被举报对象}｛编号｝") == []  # full-width braces are fine
    errors = placeholder_errors("{举报人姓名}于{日期}举报")
    assert len(errors) == 1 and errors[0].startswith(
        "未知的占位符：{举报人姓名}、{日期}。可用的占位符：{被举报对象}"
    )
    assert placeholder_errors("{被举报对象") == ["花括号不成对：占位符应写成 {被举报对象} 这样的形式。"]


def test_the_content_rules_refuse_personal_data() -> None:
    assert template_check("请联系13812345678核实") == [
        "模板中不能包含电话号码、身份证号码等个人信息（第十七条）。"
    ]
    assert template_check("身份证120101199001011234") != []
    assert template_check("{被举报对象}已整改。") == []


def test_saving_refuses_unknown_placeholders_with_a_clear_message(people: People) -> None:
    client = login(people.hp.operator)
    response = client.post(reverse("followup:template_new"), form_data(decision="请{举报人电话}回复"))
    body = html.unescape(response.content.decode())
    assert response.status_code == 422
    assert "环保部门处理意见：未知的占位符：{举报人电话}。可用的占位符：" in body
    response = client.post(reverse("followup:template_new"), form_data(inspection="请拨打022-23456789"))
    assert response.status_code == 422
    assert "现场检查及核实情况：模板中不能包含电话号码" in response.content.decode()
    assert not ReplyTemplate.objects.exists()
    assert client.post(reverse("followup:template_new"), form_data()).status_code == 302
    template = ReplyTemplate.objects.get()
    assert template.agency_id == people.hp.operator.agency_id and template.inspection == PARTS["inspection"]


def test_bureaus_see_and_edit_only_their_own_templates(people: People) -> None:
    own = reply_template_save(actor=people.hp.reviewer, name="和平区模板", kind="", category="", parts=PARTS)
    other = login(people.hx.operator)
    assert "和平区模板" not in other.get(reverse("followup:templates")).content.decode()
    assert other.get(reverse("followup:template_edit", args=[own.pk])).status_code == 404
    assert (
        other.post(reverse("followup:template_edit", args=[own.pk]), form_data(name="改掉")).status_code
        == 404
    )
    assert other.post(reverse("followup:template_delete", args=[own.pk])).status_code == 404
    with pytest.raises(FollowupError, match="只能修改本机构的答复模板"):
        reply_template_save(
            actor=people.hx.head, template=own, name="改掉", kind="", category="", parts=PARTS
        )
    own.refresh_from_db()
    assert own.name == "和平区模板"
    # The owner edits it; handlers use templates but do not manage them.
    mine = login(people.hp.head)
    assert "和平区模板" in mine.get(reverse("followup:templates")).content.decode()
    assert (
        mine.post(reverse("followup:template_edit", args=[own.pk]), form_data(name="改名")).status_code == 302
    )
    own.refresh_from_db()
    assert own.name == "改名"
    assert login(people.hp.handler).get(reverse("followup:templates")).status_code == 403


def _textarea(body: str, name: str) -> str:
    match = re.search(rf'<textarea name="submit_reply-{name}"[^>]*>(.*?)</textarea>', body, re.S)
    assert match is not None, name
    return html.unescape(match.group(1)).strip()


def test_choosing_a_template_prefills_the_submit_reply_form(handling_case: Case, people: People) -> None:
    own = reply_template_save(
        actor=people.hp.operator, name="和平区大气模板", kind="report", category="air", parts=PARTS
    )
    city = reply_template_save(
        actor=people.city_op,
        name="全市通用模板",
        kind="",
        category="",
        parts={**PARTS, "decision": "{机构}依法处理。"},
    )
    water = reply_template_save(
        actor=people.hp.operator, name="水类模板", kind="", category="water", parts=PARTS
    )
    other = reply_template_save(
        actor=people.hx.operator, name="河西区模板", kind="", category="", parts=PARTS
    )
    client = login(people.hp.handler)
    url = reverse("workbench:case", args=[handling_case.number])
    page = client.get(url).content.decode()
    assert "和平区大气模板" in page and "全市通用模板（全市通用）" in page
    assert "水类模板" not in page and "河西区模板" not in page  # another category; another bureau
    assert _textarea(page, "party_facts") == ""

    filled = client.get(url, {"reply_template": own.pk}).content.decode()
    assert _textarea(filled, "party_facts") == "天津宏达化工有限公司位于和平区南京路100号，属和平区。"
    assert "【请填写：检查日期】" in _textarea(filled, "inspection")
    assert _textarea(filled, "communication").endswith(
        f"（编号 {handling_case.number}），现将办理情况答复如下。"
    )
    assert 'data-action="submit_reply"' in filled  # the reply editor, always open in the main column
    city_filled = client.get(url, {"reply_template": city.pk}).content.decode()
    assert _textarea(city_filled, "decision") == "天津市和平区生态环境局依法处理。"
    for refused in (water, other):  # not usable on this case: nothing is filled in
        assert (
            _textarea(client.get(url, {"reply_template": refused.pk}).content.decode(), "party_facts") == ""
        )

    # The handler edits the pre-filled text and submits it through the ordinary action.
    data = {
        f"submit_reply-{part}": fill(text, placeholder_values(handling_case)) for part, text in PARTS.items()
    }
    data["submit_reply-inspection"] = "承办部门于3月4日进行了现场检查。"
    response = client.post(reverse("workbench:case_submit_reply", args=[handling_case.number]), data)
    assert response.status_code == 303
    reply = handling_case.replies.get()
    assert reply.inspection == "承办部门于3月4日进行了现场检查。"
    assert reply.party_facts == "天津宏达化工有限公司位于和平区南京路100号，属和平区。"


def test_the_chooser_is_shown_only_with_the_submit_reply_action(handling_case: Case, people: People) -> None:
    reply_template_save(actor=people.hp.operator, name="和平区大气模板", kind="", category="", parts=PARTS)
    url = reverse("workbench:case", args=[handling_case.number])
    assert "和平区大气模板" not in login(people.hp.operator).get(url).content.decode()
    assert "和平区大气模板" in login(people.hp.handler).get(url).content.decode()


def test_choosing_a_template_keeps_what_the_handler_typed(handling_case: Case, people: People) -> None:
    """ "填入模板" posts the form as typed: the template fills only the empty parts, nothing is submitted,
    and the typed parts and the drafted public summary come back unchanged (also without JavaScript)."""
    own = reply_template_save(actor=people.hp.operator, name="和平区模板", kind="", category="", parts=PARTS)
    client = login(people.hp.handler)
    page = client.get(reverse("workbench:case", args=[handling_case.number])).content.decode()
    # The chooser is part of the submit-reply form (its button posts what was typed), not a separate GET.
    action = reverse("workbench:case_submit_reply", args=[handling_case.number])
    form = re.search(rf'<form method="post" action="{action}".*?</form>', page, re.S)
    assert form and 'name="reply_template"' in form.group(0)
    assert re.search(r'<button type="submit" name="fill_template"[^>]*formnovalidate', form.group(0))
    typed = "承办部门于3月4日对该公司进行了现场检查，未发现异常排放。"
    response = client.post(
        reverse("workbench:case_submit_reply", args=[handling_case.number]),
        {
            "fill_template": "1",
            "reply_template": str(own.pk),
            "submit_reply-inspection": typed,
            "submit_reply-public_summary": "反映企业排放废气，经查未发现违法问题。",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert _textarea(body, "inspection") == typed  # kept, not replaced by the template's text
    assert _textarea(body, "party_facts") == "天津宏达化工有限公司位于和平区南京路100号，属和平区。"
    assert _textarea(body, "public_summary") == "反映企业排放废气，经查未发现违法问题。"
    assert 'data-action="submit_reply"' in body
    assert not handling_case.replies.exists()  # choosing a template submits nothing
    handling_case.refresh_from_db()
    assert handling_case.state == "handling"


def test_the_template_form_names_the_field_that_is_wrong(people: People) -> None:
    """Issue 12, D12: "请填写模板名称。", not Django's "这个字段是必填项。"; the limit said with the field."""
    client = login(people.hp.operator)
    url = reverse("followup:template_new")
    unnamed = client.post(url, form_data(name=""))
    body = html.unescape(unnamed.content.decode())
    assert unnamed.status_code == 422 and "请填写模板名称。" in body and "这个字段是必填项" not in body
    long_name = "大气类现场检查未发现问题、已告知举报人的通用答复" * 5  # 120 characters
    too_long = client.post(url, form_data(name=long_name))
    body = html.unescape(too_long.content.decode())
    assert too_long.status_code == 422 and "模板名称最多100个字，请删减后再提交。" in body
    assert "确保该变量" not in body and long_name in body  # what was typed is kept
    forged = client.post(url, form_data(category="smell"))
    body = html.unescape(forged.content.decode())
    assert forged.status_code == 422 and "所选的适用污染类别无效，请重新选择。" in body
    assert not ReplyTemplate.objects.exists()


def test_creating_changing_and_deleting_a_template_is_audited(
    people: People, make_user: Callable[..., User]
) -> None:
    """The bureau's outbound reply texts are a change like any other: each save and delete is in the audit
    trail (who, which template, what it covers, which parts changed), never the texts themselves."""
    client = login(people.hp.operator)
    assert client.post(reverse("followup:template_new"), form_data()).status_code == 302
    template = ReplyTemplate.objects.get()
    created = AuditEntry.objects.get(action="reply_template.create")
    assert (created.actor_id, created.object_type, created.object_id) == (
        people.hp.operator.pk,
        "reply_template",
        str(template.pk),
    )
    assert created.detail == {
        "name": "大气类未发现问题",
        "agency": people.hp.operator.agency_id,
        "kind": "report",
        "category": "air",
        "active": True,
    }
    # The head renames it, rewrites one part and switches it off.
    head = login(people.hp.head)
    edited = form_data(name="大气类已整改", decision="{机构}责令立即整改。")
    del edited["active"]
    assert head.post(reverse("followup:template_edit", args=[template.pk]), edited).status_code == 302
    changed = AuditEntry.objects.get(action="reply_template.change")
    assert (changed.actor_id, changed.object_id) == (people.hp.head.pk, str(template.pk))
    assert changed.detail["changed"] == ["name", "active", "decision"]
    assert changed.detail["previous_name"] == "大气类未发现问题"
    assert (changed.detail["name"], changed.detail["active"]) == ("大气类已整改", False)
    # A refused edit (another bureau; a text with a phone number) writes nothing.
    other = login(people.hx.operator)
    assert other.post(reverse("followup:template_edit", args=[template.pk]), form_data()).status_code == 404
    bad = head.post(
        reverse("followup:template_edit", args=[template.pk]), form_data(inspection="请拨打022-23456789")
    )
    assert bad.status_code == 422
    assert other.post(reverse("followup:template_delete", args=[template.pk])).status_code == 404
    assert AuditEntry.objects.filter(object_type="reply_template").count() == 2
    # The reviewer deletes it.
    reviewer = login(people.hp.reviewer)
    assert reviewer.post(reverse("followup:template_delete", args=[template.pk])).status_code == 302
    assert not ReplyTemplate.objects.exists()
    deleted = AuditEntry.objects.get(action="reply_template.delete")
    assert (deleted.actor_id, deleted.object_id) == (people.hp.reviewer.pk, str(template.pk))
    assert deleted.detail["name"] == "大气类已整改"
    # None of the entries copies a template text.
    for entry in AuditEntry.objects.filter(object_type="reply_template"):
        for text in (*PARTS.values(), "{机构}责令立即整改。"):
            assert text not in str(entry.detail)
    # The auditor reads them by name.
    auditor = login(make_user("auditor", district_name=None))
    page = auditor.get("/audit/", {"object": str(template.pk)}).content.decode()
    for label in ("新建答复模板", "修改答复模板", "删除答复模板", "答复模板", "原名称：大气类未发现问题"):
        assert label in page
