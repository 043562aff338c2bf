"""The case's public summary (Art. 13): drafted by the handler with the reply, edited and approved by the
reviewer, published on the monthly disclosure; refused when it carries personal data (Art. 17). Replies
still carrying a reply template's 【请填写：…】 marker are refused at submission and at approval."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from eco12369.audit.models import AuditEntry
from eco12369.cases import services
from eco12369.cases.models import Case, CaseEvent, Reply, State
from eco12369.stats import services as stats_services
from eco12369.stats.figures import Month

from .conftest import FIVE_PARTS, MONDAY, TZ, Bureau, advance, page_text

pytestmark = pytest.mark.django_db

NAME, PHONE = "王小明", "13812345678"
DRAFT = "反映某化工企业夜间排放废水，经查属实，已责令改正并立案处罚。"
EDITED = "反映化工企业夜间超标排放废水，经现场检查属实，已责令停产整改并依法立案处罚。"


def act(client: Client, case: Case, action: str, data: dict[str, str]):
    url = reverse(f"workbench:case_{action}", args=[case.number])
    return client.post(url, {f"{action}-{k}": v for k, v in data.items()})


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def handling(make_case: Callable[..., Case], heping: Bureau) -> Case:
    with time_machine.travel(MONDAY, tick=False):
        case = make_case("和平区", reporter_name=NAME, reporter_phone=PHONE)
        return advance(case, heping, "handling")


def _textarea(html: str, name: str) -> str:
    match = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, f"no textarea {name}"
    return match.group(1).strip()


def test_summary_is_drafted_edited_at_approval_and_published(handling: Case, heping: Bureau) -> None:
    with time_machine.travel(MONDAY + dt.timedelta(days=3), tick=False):
        handler = login(heping.handler)
        form = page_text(handler.get(reverse("workbench:case", args=[handling.number])))
        assert "公开摘要" in form and "不得包含举报人姓名" in form  # the field and its help text
        response = act(handler, handling, "submit_reply", {**FIVE_PARTS, "public_summary": DRAFT})
        assert response.status_code == 303
        reply = Reply.objects.get(case=handling)
        assert reply.public_summary == DRAFT
        assert fresh(handling).public_summary == ""  # nothing is public before approval
        assert handling.events.get(action="submit_reply").data["public_summary"] == DRAFT

    with time_machine.travel(MONDAY + dt.timedelta(days=4), tick=False):
        reviewer = login(heping.reviewer)
        page = page_text(reviewer.get(reverse("workbench:case", args=[handling.number])))
        assert _textarea(page, "approve-public_summary") == DRAFT  # the reviewer starts from the draft
        response = act(reviewer, handling, "approve", {"note": "同意", "public_summary": EDITED})
        assert response.status_code == 303
    case = fresh(handling)
    assert case.state == State.CLOSED and case.public_summary == EDITED
    event = case.events.get(action="approve")
    assert event.data["public_summary"] == EDITED and event.data["summary_edited"] is True
    entry = AuditEntry.objects.get(action="case.public_summary", object_id=case.number)
    assert entry.actor == heping.reviewer and entry.detail["summary"] == EDITED
    # The reporter's message is the reply, not the summary (which is for the public).
    assert EDITED not in case.outbox_messages.get(template="closed").text

    march = Month(2025, 3)
    with time_machine.travel(dt.datetime(2025, 4, 2, 10, 0, tzinfo=TZ), tick=False):
        report = stats_services.monthly_report_generate(
            actor=heping.operator, region=case.region, month=march
        )
        report = stats_services.monthly_report_edit_analysis(
            actor=heping.operator, report=report, analysis="本月情况。"
        )
        report = stats_services.monthly_report_send_for_approval(actor=heping.operator, report=report)
        stats_services.monthly_report_approve(actor=heping.head, report=report)
    public = page_text(Client().get(reverse("disclosure:month", args=["2025-03"])))
    item = re.search(rf'<li class="pub-case">(?:(?!</li>).)*?{case.number}.*?</li>', public, re.S)
    assert item and EDITED in item.group(0)
    assert DRAFT not in public and "反映水环境问题" not in item.group(0)  # not the fallback line


def test_approval_without_an_edit_publishes_the_draft(handling: Case, heping: Bureau) -> None:
    act(login(heping.handler), handling, "submit_reply", {**FIVE_PARTS, "public_summary": DRAFT})
    page = page_text(login(heping.reviewer).get(reverse("workbench:case", args=[handling.number])))
    response = act(
        login(heping.reviewer),
        handling,
        "approve",
        {"public_summary": _textarea(page, "approve-public_summary")},
    )
    assert response.status_code == 303
    assert fresh(handling).public_summary == DRAFT
    assert fresh(handling).events.get(action="approve").data["summary_edited"] is False


@pytest.mark.parametrize(
    "summary",
    [
        f"{NAME}反映化工企业夜间排放废水，经查属实。",  # the reporter's name
        "王 小明反映化工企业排放废水。",  # spaced out
        f"举报人（电话{PHONE}）反映化工企业排放废水。",  # the reporter's phone
        "反映化工企业排放废水，联系电话022-23456789。",  # any phone-like number
        "反映身份证号120101199001011234的个体户排放废水。",  # an ID-like number
    ],
)
def test_summary_with_personal_data_is_refused_at_submission(
    handling: Case, heping: Bureau, summary: str
) -> None:
    response = act(login(heping.handler), handling, "submit_reply", {**FIVE_PARTS, "public_summary": summary})
    assert response.status_code == 409
    text = page_text(response)
    assert "公开摘要将在月度举报办理情况中向社会公开，不能包含举报人的姓名、电话" in text
    assert FIVE_PARTS["decision"] in text  # what was typed is kept
    assert fresh(handling).state == State.HANDLING
    assert not Reply.objects.filter(case=handling).exists()
    assert not CaseEvent.objects.filter(case=handling, action="submit_reply").exists()


def test_summary_with_personal_data_is_refused_at_approval(handling: Case, heping: Bureau) -> None:
    act(login(heping.handler), handling, "submit_reply", {**FIVE_PARTS, "public_summary": DRAFT})
    reviewer = login(heping.reviewer)
    response = act(reviewer, handling, "approve", {"public_summary": f"{DRAFT}举报人{NAME}对结果满意。"})
    assert response.status_code == 409
    assert "不能包含举报人的姓名、电话" in page_text(response)
    case = fresh(handling)
    assert case.state == State.IN_REVIEW and case.public_summary == ""
    assert Reply.objects.get(case=case).status == Reply.Status.SUBMITTED
    assert not case.outbox_messages.filter(template="closed").exists()
    assert not AuditEntry.objects.filter(action="case.public_summary").exists()


def test_summary_longer_than_the_limit_is_a_form_error(handling: Case, heping: Bureau) -> None:
    response = act(
        login(heping.handler), handling, "submit_reply", {**FIVE_PARTS, "public_summary": "反映问题。" * 50}
    )
    assert response.status_code == 422
    assert not Reply.objects.filter(case=handling).exists()


def test_unfilled_template_marker_is_refused_at_submission(handling: Case, heping: Bureau) -> None:
    parts = {**FIVE_PARTS, "inspection": "执法人员于【请填写：检查日期】对该公司进行了现场检查。"}
    response = act(login(heping.handler), handling, "submit_reply", parts)
    assert response.status_code == 409
    text = page_text(response)
    assert "答复意见中还有未填写的模板内容：“现场检查及核实情况”中的“【请填写：检查日期】”" in text
    assert fresh(handling).state == State.HANDLING
    assert not Reply.objects.filter(case=handling).exists()


def test_unfilled_template_marker_is_refused_in_an_answer(
    make_case: Callable[..., Case], heping: Bureau
) -> None:
    case = make_case("和平区", kind="consultation")
    response = act(
        login(heping.operator), case, "answer", {"text": "您咨询的问题请联系【请填写：承办部门】。"}
    )
    assert response.status_code == 409
    assert "“答复意见”中的“【请填写：承办部门】”" in page_text(response)
    assert fresh(case).state == State.RECEIVED and not Reply.objects.filter(case=case).exists()


def test_unfilled_template_marker_is_refused_at_approval(handling: Case, heping: Bureau) -> None:
    """A reply drafted before the rule existed (or changed outside the workbench) still carries a marker:
    it cannot be approved, only returned."""
    case = services.case_submit_reply(case=handling, actor=heping.handler, **FIVE_PARTS)
    Reply.objects.filter(case=case).update(decision="责令于【请填写：整改期限】前改正。")
    reviewer = login(heping.reviewer)
    page = page_text(reviewer.get(reverse("workbench:case", args=[case.number])))
    message = "“环保部门处理意见”中的“【请填写：整改期限】”。不能审核同意，请退回修改。"
    assert message in page  # shown on the reply
    response = act(reviewer, case, "approve", {"note": "同意"})
    assert response.status_code == 403
    assert message in page_text(response)
    case = fresh(case)
    assert case.state == State.IN_REVIEW and not case.outbox_messages.filter(template="closed").exists()
    assert Reply.objects.get(case=case).status == Reply.Status.SUBMITTED
    assert act(reviewer, case, "return", {"note": "请补充整改期限。"}).status_code == 303
    assert fresh(case).state == State.HANDLING
