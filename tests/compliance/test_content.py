"""Outbound content rules (Art. 16): no sensitive word reaches a reporter. Checked when a reply, an answer,
a hand-over or an extension reason is submitted (refused with the words and where they are), again when
it is approved (a blocked reply cannot be approved, the reviewer sees why), and on reply templates. The
list is the administrator's to edit; a starter list is loaded by a migration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from eco12369.audit.models import AuditEntry
from eco12369.cases import services
from eco12369.cases.models import Case, Extension, Reply, State
from eco12369.cases.workflow import TransitionError, allowed_actions
from eco12369.compliance.content import content_check
from eco12369.compliance.models import SensitiveWord
from eco12369.followup.services import FollowupError, reply_template_save
from eco12369.orgs.models import User

from .conftest import Staff

FIVE = {
    "party_facts": "该公司主要生产涂料。",
    "inspection": "执法人员赴现场检查并采样。",
    "violations": "超标排放废水。",
    "decision": "责令停产整改，依法立案处罚。",
    "communication": "已电话告知举报人处理情况。",
}


def act(client: Client, case: Case, action: str, data: dict[str, Any]) -> Any:
    url = reverse(f"workbench:case_{action}", args=[case.number])
    return client.post(url, {f"{action}-{k}": v for k, v in data.items()})


def handling(case: Case, staff: Staff) -> Case:
    case = services.case_accept(case=case, actor=staff.operator)
    return services.case_assign(case=case, actor=staff.operator, department=staff.handler.department)


# ------------------------------------------------------------------------------------------ matching
def test_matching_normalises_and_lists_each_word_once_in_order() -> None:
    words = ("绝密", "机密", "代开发票", "ABC")
    assert content_check("", words=words) == []
    assert content_check("该企业已整改到位。", words=words) == []
    assert content_check("此件 机 密，另有绝密材料；机密！", words=words) == ["机密", "绝密"]
    assert content_check("全角ＡＢＣ和小写abc", words=words) == ["ABC"]
    assert content_check("代开\u200b发票", words=words) == ["代开发票"]  # zero-width space
    assert content_check("秘密级", words=("秘密", "秘密级")) == ["秘密级"]  # longest first


@pytest.mark.django_db
def test_starter_list_is_loaded_and_edits_take_effect_at_once() -> None:
    assert {"绝密", "机密", "秘密级"} <= set(SensitiveWord.objects.values_list("word", flat=True))
    assert content_check("本件涉及机密信息") == ["机密"]
    SensitiveWord.objects.filter(word="机密").update(active=False)
    assert content_check("本件涉及机密信息") == []
    SensitiveWord.objects.create(word="内部通报", category="secret")
    assert content_check("见内部通报") == ["内部通报"]


# ------------------------------------------------------------------------------------- at submit
def test_reply_with_a_sensitive_word_is_refused_with_the_words_and_where(
    staff: Staff, make_case: Callable[..., Case], login: Callable[[User], Client]
) -> None:
    case = handling(make_case(), staff)
    audit_before = AuditEntry.objects.filter(action__startswith="case.").count()
    response = act(
        login(staff.handler), case, "submit_reply", {**FIVE, "decision": "依据机密文件，责令整改。"}
    )
    assert response.status_code == 409
    text = response.content.decode()
    assert "“环保部门处理意见”中的“机密”" in text and "第十六条" in text and "请修改后再提交" in text
    assert "依据机密文件，责令整改。" in text  # what was typed is kept to be corrected
    assert Case.objects.get(pk=case.pk).state == State.HANDLING
    assert not Reply.objects.filter(case=case).exists()
    assert AuditEntry.objects.filter(action__startswith="case.").count() == audit_before  # nothing happened
    assert act(login(staff.handler), case, "submit_reply", FIVE).status_code == 303


@pytest.mark.parametrize("action", ["answer", "hand_over"])
def test_answers_and_hand_overs_are_checked(
    staff: Staff, make_case: Callable[..., Case], login: Callable[[User], Client], action: str
) -> None:
    from eco12369.orgs.models import Agency

    case = make_case(kind="consultation", category="other")
    data: dict[str, Any] = {"text": "您好，他妈的这不归我们管。"}
    if action == "hand_over":
        data["handover_agency"] = Agency.objects.filter(kind=Agency.Kind.OUTSIDE).first().pk  # type: ignore[union-attr]
    else:
        data.update(kind="consultation", category="other")
    response = act(login(staff.operator), case, action, data)
    assert response.status_code == 409, response.content.decode()[:500]
    assert "“他妈的”" in response.content.decode()
    assert Case.objects.get(pk=case.pk).state == State.RECEIVED and not Reply.objects.exists()


def test_extension_reason_is_checked_at_request_and_at_approval(
    staff: Staff, make_case: Callable[..., Case]
) -> None:
    case = handling(make_case(), staff)
    with pytest.raises(TransitionError, match=r"延期理由含有.*“绝密”"):
        services.case_request_extension(case=case, actor=staff.handler, days=10, reason="涉及绝密事项需会商")
    assert not Extension.objects.exists()
    case = services.case_request_extension(case=case, actor=staff.handler, days=10, reason="需第三方检测")
    SensitiveWord.objects.create(word="第三方检测", category="other")  # the list changed meanwhile
    ext = Extension.objects.get()
    with pytest.raises(TransitionError, match="不能批准"):
        services.case_decide_extension(case=case, actor=staff.head, extension=ext, approved=True)
    ext.refresh_from_db()
    assert ext.status == Extension.Status.PENDING
    services.case_decide_extension(case=case, actor=staff.head, extension=ext, approved=False)
    ext.refresh_from_db()
    assert ext.status == Extension.Status.REJECTED


# ------------------------------------------------------------------------------------- at approval
def test_a_blocked_reply_cannot_be_approved_and_the_reviewer_sees_why(
    staff: Staff, make_case: Callable[..., Case], login: Callable[[User], Client]
) -> None:
    case = handling(make_case(), staff)
    case = services.case_submit_reply(
        case=case, actor=staff.handler, **{**FIVE, "violations": "超标排放，见内部通报。"}
    )
    SensitiveWord.objects.create(word="内部通报", category="secret")  # added after the reply was submitted
    assert "approve" not in {rule.action for rule in allowed_actions(case, staff.reviewer)}
    reviewer = login(staff.reviewer)
    page = reviewer.get(reverse("workbench:case", args=[case.number])).content.decode()
    assert "reply-blocked" in page
    assert "“存在的环境违法问题”中的“内部通报”" in page and "不能审核同意，请退回修改" in page
    assert 'id="action-approve"' not in page and 'id="action-return"' in page
    response = act(reviewer, case, "approve", {"note": "同意"})
    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).state == State.IN_REVIEW
    assert Reply.objects.get(case=case).status == Reply.Status.SUBMITTED
    with pytest.raises(TransitionError, match="内部通报"):
        services.case_approve(case=case, actor=staff.reviewer)
    # Returned, corrected and submitted again, it can be approved.
    case = services.case_return(case=case, actor=staff.reviewer, note="请删除内部通报的表述")
    case = services.case_submit_reply(case=case, actor=staff.handler, **FIVE)
    case = services.case_approve(case=case, actor=staff.reviewer)
    assert case.state == State.CLOSED


# --------------------------------------------------------------------------------- templates, admin
def test_reply_templates_pass_the_same_rules(staff: Staff) -> None:
    with pytest.raises(FollowupError, match="“机密”"):
        reply_template_save(
            actor=staff.operator,
            name="水污染办结",
            kind="report",
            category="water",
            parts={**FIVE, "decision": "按机密程序处理。"},
        )
    template = reply_template_save(
        actor=staff.operator, name="水污染办结", kind="report", category="water", parts=FIVE
    )
    assert template.pk is not None


def test_the_administrator_edits_the_list_in_the_admin_and_it_is_audited(
    staff: Staff, login: Callable[[User], Client]
) -> None:
    admin = login(staff.admin)
    assert admin.get("/admin/compliance/sensitiveword/").status_code == 200
    response = admin.post(
        "/admin/compliance/sensitiveword/add/",
        {"word": "小道消息", "category": "other", "active": "on", "note": "", "_save": "保存"},
    )
    assert response.status_code == 302
    assert content_check("据小道消息称") == ["小道消息"]
    entry = AuditEntry.objects.get(action="admin_change", object_type="sensitiveword")
    assert entry.actor_id == staff.admin.pk and entry.detail["object"] == "小道消息"
    assert LogEntry.objects.filter(user=staff.admin).exists()
    for user in (staff.operator, staff.city_head, staff.auditor):
        assert login(user).get("/admin/compliance/sensitiveword/").status_code in (302, 403), user
