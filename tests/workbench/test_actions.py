"""Each action posts to its own view, which validates the input and calls the matching service.
Refusals and service errors show their Chinese message and change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from eco12369.audit.models import AuditEntry
from eco12369.cases import services
from eco12369.cases.models import Case, CaseEvent, Extension, Reply, State, SupervisionOrder
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.models import Agency

from .conftest import FIVE_PARTS, advance, page_text

pytestmark = pytest.mark.django_db


def act(client: Client, case: Case, action: str, data: dict | None = None, **extra):
    url = reverse(f"workbench:case_{action}", args=[case.number])
    return client.post(url, {f"{action}-{k}": v for k, v in (data or {}).items()}, **extra)


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def test_accept_happy_path(client: Client, heping, make_case) -> None:
    case = make_case("和平区", category="other")
    client.force_login(heping.operator)
    response = act(client, case, "accept", {"kind": "report", "category": "air", "note": "属于受理范围"})
    assert response.status_code == 303
    assert response["Location"] == reverse("workbench:case", args=[case.number])
    case = fresh(case)
    assert case.state == State.ACCEPTED
    assert case.category == "air"
    assert case.close_due is not None
    event = case.events.get(action="accept")
    assert event.actor == heping.operator and event.note == "属于受理范围"
    page = client.get(response["Location"]).content.decode()
    assert "“受理”已完成" in page


def test_accept_of_a_case_outside_art_6_needs_a_category_or_the_confirmation(
    client: Client, heping, make_case
) -> None:
    case = make_case("和平区", category="other")
    client.force_login(heping.operator)
    page = client.get(reverse("workbench:case", args=[case.number])).content.decode()
    assert "受理范围" in page and "不在第六条所列范围" in page
    assert 'name="accept-scope_confirmed"' in page
    response = act(client, case, "accept", {"note": "受理"})
    assert response.status_code == 409
    text = response.content.decode()
    assert "不在第六条所列受理范围" in text and "直接答复" in text and "移交其他部门" in text
    assert fresh(case).state == State.RECEIVED
    response = act(client, case, "accept", {"note": "土壤污染，属本局职责", "scope_confirmed": "on"})
    assert response.status_code == 303
    assert fresh(case).state == State.ACCEPTED
    page = client.get(reverse("workbench:case", args=[case.number])).content.decode()
    assert "受理范围：操作人员确认属于环境保护主管部门职责范围" in page
    # A case of a category Art. 6 lists says so.
    in_scope = make_case("和平区", category="noise")
    page = client.get(reverse("workbench:case", args=[in_scope.number])).content.decode()
    assert "属于第六条受理范围" in page


def test_assign_then_submit_reply_then_approve(client: Client, heping, make_case) -> None:
    case = advance(make_case("和平区"), heping, "accepted")
    client.force_login(heping.operator)
    assert act(client, case, "assign", {"department": heping.department.pk}).status_code == 303
    assert fresh(case).state == State.HANDLING and fresh(case).department == heping.department

    client.force_login(heping.handler)
    assert act(client, case, "submit_reply", FIVE_PARTS).status_code == 303
    reply = Reply.objects.get(case=case)
    assert reply.inspection == FIVE_PARTS["inspection"] and reply.status == Reply.Status.SUBMITTED
    assert fresh(case).state == State.IN_REVIEW

    client.force_login(heping.reviewer)
    assert act(client, case, "approve", {"note": "同意"}).status_code == 303
    case = fresh(case)
    assert case.state == State.CLOSED and case.outcome == "handled"
    reply.refresh_from_db()
    assert reply.status == Reply.Status.APPROVED and reply.reviewed_by == heping.reviewer


def test_missing_reply_part_is_a_form_error(client: Client, heping, make_case) -> None:
    case = advance(make_case("和平区"), heping, "handling")
    client.force_login(heping.handler)
    response = act(client, case, "submit_reply", {**FIVE_PARTS, "violations": " "})
    assert response.status_code == 422
    text = response.content.decode()
    assert "请检查填写的内容" in text
    assert "请填写存在的环境违法问题。" in text and "这个字段是必填项" not in text  # issue 12, D12
    # What was typed is kept.
    assert FIVE_PARTS["decision"] in text
    assert fresh(case).state == State.HANDLING
    assert not Reply.objects.filter(case=case).exists()


def test_wrong_role_post_is_refused_and_changes_nothing(client: Client, heping, make_case) -> None:
    case = make_case("和平区")
    client.force_login(heping.handler)
    events = CaseEvent.objects.filter(case=case).count()
    response = act(client, case, "accept")
    assert response.status_code == 403
    assert "您没有“平台操作人员”权限，不能执行“受理”。" in response.content.decode()
    assert fresh(case).state == State.RECEIVED
    assert CaseEvent.objects.filter(case=case).count() == events


def test_wrong_state_post_is_refused(client: Client, heping, make_case) -> None:
    case = make_case("和平区")
    client.force_login(heping.reviewer)
    response = act(client, case, "approve")
    assert response.status_code == 403
    assert "不能审核同意并办结" in response.content.decode()
    assert fresh(case).state == State.RECEIVED


def test_service_error_is_shown_and_changes_nothing(client: Client, heping, make_case) -> None:
    first = make_case("和平区")
    later = make_case("和平区")
    client.force_login(heping.operator)
    # Only an earlier case can be the original of a duplicate: the service refuses.
    response = act(client, first, "mark_duplicate", {"duplicate_of": later.number})
    assert response.status_code == 409
    assert "只能标记为与更早的举报件重复" in response.content.decode()
    assert fresh(first).state == State.RECEIVED
    # The right way round works.
    assert act(client, later, "mark_duplicate", {"duplicate_of": first.number}).status_code == 303
    assert fresh(later).state == State.CLOSED and fresh(later).duplicate_of == first


def test_duplicate_of_an_invisible_case_is_not_found(client: Client, heping, hexi, make_case) -> None:
    other = make_case("河西区")
    case = make_case("和平区")
    client.force_login(heping.operator)
    response = act(client, case, "mark_duplicate", {"duplicate_of": other.number})
    assert response.status_code == 422
    assert "未找到该编号的举报件" in response.content.decode()


def test_duplicate_of_a_case_merged_into_an_invisible_one_is_refused(
    client: Client, heping, hexi, make_case, make_user
) -> None:
    """The case is pointed at the first report of the matter (the chain's root) and its reporter told that
    case's number and status: the root must be visible to the operator too, not only the case they typed.
    Here the city centre merged an escalated 和平区 case into an earlier 河西区 one."""
    city_operator = make_user("operator", district_name=None)
    hexi_case = make_case("河西区")
    escalated = services.case_escalate(case=make_case("和平区"), actor=heping.operator, reason="跨区")
    escalated = services.case_mark_duplicate(case=escalated, actor=city_operator, duplicate_of=hexi_case)
    assert escalated.duplicate_of == hexi_case
    case = make_case("和平区")
    client.force_login(heping.operator)
    assert client.get(reverse("workbench:case", args=[escalated.number])).status_code == 200  # visible
    events = CaseEvent.objects.filter(case=case).count()
    audited = AuditEntry.objects.count()
    response = act(client, case, "mark_duplicate", {"duplicate_of": escalated.number})
    assert response.status_code == 409
    assert "目标举报件已并入您无权查看的举报件，不能标记为与其重复。" in page_text(response)
    assert hexi_case.number not in page_text(response)
    case = fresh(case)
    assert (case.state, case.duplicate_of_id, case.closed_at) == (State.RECEIVED, None, None)
    assert CaseEvent.objects.filter(case=case).count() == events
    assert AuditEntry.objects.count() == audited
    assert not OutboxMessage.objects.filter(case=case, template="duplicate").exists()
    # Within the district the chain still resolves to the first report.
    first = make_case("和平区")
    second = services.case_mark_duplicate(case=make_case("和平区"), actor=heping.operator, duplicate_of=first)
    later = make_case("和平区")
    assert act(client, later, "mark_duplicate", {"duplicate_of": second.number}).status_code == 303
    later = fresh(later)
    assert (later.state, later.duplicate_of) == (State.CLOSED, first)
    # The city centre sees every district: it may still mark against the merged case.
    client.force_login(city_operator)
    other = services.case_escalate(case=make_case("和平区"), actor=heping.operator, reason="跨区")
    assert act(client, other, "mark_duplicate", {"duplicate_of": escalated.number}).status_code == 303
    assert fresh(other).duplicate_of == hexi_case


def test_answer_and_return(client: Client, heping, make_case) -> None:
    case = make_case("和平区", kind="consultation")
    client.force_login(heping.operator)
    assert act(client, case, "answer", {"text": "您咨询的事项答复如下……"}).status_code == 303
    assert fresh(case).state == State.IN_REVIEW
    client.force_login(heping.reviewer)
    assert act(client, case, "return", {"note": "请补充法律依据"}).status_code == 303
    assert fresh(case).state == State.RECEIVED
    assert Reply.objects.get(case=case).status == Reply.Status.RETURNED


def test_hand_over(client: Client, heping, make_case) -> None:
    case = make_case("和平区", category="other")
    water = Agency.objects.get(name="天津市水务局")
    client.force_login(heping.operator)
    assert (
        act(client, case, "hand_over", {"handover_agency": water.pk, "text": "已移交市水务局"}).status_code
        == 303
    )
    assert fresh(case).state == State.IN_REVIEW and fresh(case).handover_agency == water


def test_escalate_and_reroute_leave_the_district(client: Client, heping, make_case) -> None:
    case = make_case("和平区")
    client.force_login(heping.operator)
    response = act(client, case, "escalate", {"reason": "涉及跨区域污染"})
    assert response.status_code == 303
    case = fresh(case)
    assert case.state == State.ESCALATED and case.agency.is_city_centre

    other = make_case("和平区")
    hexi_bureau = Agency.objects.get(region__name="河西区", kind=Agency.Kind.DISTRICT_BUREAU)
    response = act(client, other, "reroute", {"target_agency": hexi_bureau.pk, "reason": "污染源位于河西区"})
    # The case is no longer this user's to see: back to the queues.
    assert response.status_code == 303
    assert response["Location"] == reverse("workbench:queue")
    assert fresh(other).agency == hexi_bureau
    # With htmx the browser is told to navigate.
    third = make_case("和平区")
    response = act(
        client,
        third,
        "reroute",
        {"target_agency": hexi_bureau.pk, "reason": "污染源位于河西区"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="case-main",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("workbench:queue")


def test_extension_request_and_decision(client: Client, heping, make_case) -> None:
    case = advance(make_case("和平区"), heping, "handling")
    due = fresh(case).close_due
    assert due is not None
    client.force_login(heping.handler)
    assert act(client, case, "request_extension", {"days": 15, "reason": "需第三方检测"}).status_code == 303
    ext = Extension.objects.get(case=case)
    client.force_login(heping.head)
    page = client.get(reverse("workbench:case", args=[case.number])).content.decode()
    assert "action-decide_extension" in page and "需第三方检测" in page
    response = act(client, case, "decide_extension", {"extension": ext.pk, "approved": "1", "note": "同意"})
    assert response.status_code == 303
    ext.refresh_from_db()
    assert ext.status == Extension.Status.APPROVED
    extended = fresh(case)
    assert extended.extension_days == 15
    assert extended.close_due is not None and extended.close_due > due


def test_a_handler_of_another_department_cannot_request_an_extension(
    client: Client, heping, make_user, make_case
) -> None:
    case = advance(make_case("和平区"), heping, "handling")
    assert case.department_id is not None
    other_department = case.agency.departments.exclude(pk=case.department_id).order_by("id").first()
    other = make_user("handler", district_name="和平区", department=other_department)
    client.force_login(other)
    page = client.get(reverse("workbench:case", args=[case.number])).content.decode()
    assert "action-request_extension" not in page
    response = act(client, case, "request_extension", {"days": 15, "reason": "需第三方检测"})
    assert response.status_code == 403
    assert "该举报件未批转给您所在的承办部门，不能申请延期。" in response.content.decode()
    assert not Extension.objects.filter(case=case).exists()


def test_extension_over_the_cap_is_refused(client: Client, heping, make_case) -> None:
    case = advance(make_case("和平区"), heping, "handling")
    client.force_login(heping.operator)
    response = act(client, case, "request_extension", {"days": 31, "reason": "太复杂"})
    assert response.status_code == 422
    assert not Extension.objects.filter(case=case).exists()


def test_supervision_and_answer(client: Client, heping, make_user, make_case) -> None:
    case = advance(make_case("和平区"), heping, "handling")
    city = make_user("operator", district_name=None)
    client.force_login(city)
    due = (timezone.localdate() + dt.timedelta(days=5)).isoformat()
    assert act(client, case, "supervise", {"instruction": "请加快办理", "answer_due": due}).status_code == 303
    order = SupervisionOrder.objects.get(case=case)
    # The city operator is not the owner: the case stays visible (city centre sees all) and the page says so.
    client.force_login(heping.operator)
    assert (
        act(
            client, case, "answer_supervision", {"order": order.pk, "answer": "已安排执法人员复查"}
        ).status_code
        == 303
    )
    order.refresh_from_db()
    assert order.answered_by == heping.operator and order.answer == "已安排执法人员复查"


def test_htmx_action_returns_the_case_fragment(client: Client, heping, make_case) -> None:
    case = advance(make_case("和平区"), heping, "handling")
    client.force_login(heping.handler)
    response = act(
        client,
        case,
        "submit_reply",
        {**FIVE_PARTS, "party_facts": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="case-main",
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert text.lstrip().startswith('<div id="case-main"')
    assert "<html" not in text


def test_get_on_an_action_url_goes_back_to_the_case(client: Client, heping, make_case) -> None:
    case = make_case("和平区")
    client.force_login(heping.operator)
    response = client.get(reverse("workbench:case_accept", args=[case.number]))
    assert response.status_code == 302
    assert fresh(case).state == State.RECEIVED


def test_escalating_through_the_page_hands_the_case_to_the_city_centre(
    client: Client, heping, make_case, make_user
) -> None:
    """The escalate view does what the escalate service does (Art. 8), seen through HTTP: the city centre
    finds the case in its confirmation queue with its own 2 working days, the reason is on the timeline
    for both sides, and the district can no longer confirm it."""
    case = make_case("和平区", reported_party="某某化工（跨区）")
    reason = "污染源在和平、河西两区交界，需市里协调 <b>急</b>"
    shown = escape(reason)  # as text, never as markup
    client.force_login(heping.operator)
    assert act(client, case, "escalate", {"reason": reason}).status_code == 303
    text = page_text(client.get(reverse("workbench:case", args=[case.number])))
    assert "申请上级协调" in text and shown in text and reason not in text
    assert "等待市举报受理中心协调处理" in text
    assert 'id="action-accept"' not in text  # nothing left for the district to confirm
    assert act(client, case, "accept", {"note": "受理"}).status_code == 403
    assert case.number not in client.get(reverse("workbench:queue_tab", args=["confirm"])).content.decode()

    city = make_user("operator", district_name=None)
    client.force_login(city)
    queue = client.get(reverse("workbench:queue_tab", args=["confirm"])).content.decode()
    assert case.number in queue and "剩余" in _row_of(queue, case.number)
    text = page_text(client.get(reverse("workbench:case", args=[case.number])))
    assert shown in text and 'id="action-accept"' in text and 'id="action-reroute"' in text
    assert act(client, case, "accept", {"note": "市中心受理，协调两区"}).status_code == 303
    assert fresh(case).state == State.ACCEPTED


def _row_of(html: str, number: str) -> str:
    start = html.index(f'href="/cases/{number}/"')
    return html[start : html.index("</tr>", start)]


def _count(text: str, message: str) -> int:
    return text.count(message)


def test_a_refused_action_says_why_once(client: Client, heping, make_case) -> None:
    """Issue 12, D15: every refusal showed its message twice (top of the page and in the form)."""
    case = advance(make_case("和平区", description="楼顶那个大烟囱冒黄烟 隔老远都能闻到"), heping, "handling")
    client.force_login(heping.handler)
    response = act(client, case, "submit_reply", {**FIVE_PARTS, "violations": " "})
    assert response.status_code == 422
    assert _count(response.content.decode(), "请检查填写的内容。") == 1
    response = act(client, case, "accept")  # not the handler's, and not in this state
    assert response.status_code == 403
    text = response.content.decode()
    assert 'class="alert alert-error"' in text and text.count('role="alert"') == 1


def test_extension_error_says_how_many_of_the_30_days_are_left(client: Client, heping, make_case) -> None:
    """Issue 12, D12: Django's "确保该值小于或等于30" gave way to the days left of the 30."""
    case = advance(make_case("和平区"), heping, "handling")
    client.force_login(heping.operator)
    assert (
        act(client, case, "request_extension", {"days": 12, "reason": "等第三方检测报告"}).status_code == 303
    )
    services.case_decide_extension(
        case=fresh(case), actor=heping.head, extension=Extension.objects.get(case=case), approved=True
    )
    response = act(client, case, "request_extension", {"days": 20, "reason": "还要补充监测"})
    assert response.status_code == 422
    text = response.content.decode()
    assert "延期总计不得超过30日，已延期12日，最多还可申请18日。" in text
    assert "确保该值" not in text and "这个字段是必填项" not in text
    assert Extension.objects.filter(case=case).count() == 1
    response = act(client, case, "request_extension", {"days": "", "reason": ""})
    text = response.content.decode()
    assert "请填写延长天数。" in text and "请填写延期理由。" in text


def test_assign_has_a_plain_placeholder(client: Client, heping, make_case) -> None:
    case = advance(make_case("和平区"), heping, "accepted")
    client.force_login(heping.operator)
    text = client.get(f"/cases/{case.number}/").content.decode()
    assert '<option value="" selected>请选择承办部门</option>' in text and "---------" not in text


def test_after_assignment_the_operator_sees_reassignment_with_a_reason(
    client: Client, heping, make_case
) -> None:
    """Issue 12, D17: a pre-filled 批转承办部门 form stayed after assignment; now it is 改派, to another
    department, with a reason, and audited."""
    case = advance(make_case("和平区"), heping, "handling")
    other = heping.department.agency.departments.exclude(pk=heping.department.pk).order_by("id").first()
    assert other is not None
    client.force_login(heping.operator)
    text = client.get(f"/cases/{case.number}/").content.decode()
    form = text[text.index('id="action-assign"') :]
    form = form[: form.index("</details>")]
    assert "<summary>改派承办部门</summary>" in form and "批转承办部门" not in form
    assert f'value="{heping.department.pk}"' not in form and "selected>请选择新的承办部门" in form
    assert "改派理由" in form
    response = act(client, case, "assign", {"department": other.pk, "note": ""})
    assert response.status_code == 422 and "请填写改派理由。" in response.content.decode()
    assert fresh(case).department_id == heping.department.pk
    response = act(client, case, "assign", {"department": other.pk, "note": "该厂属大气科管辖，原批转有误"})
    assert response.status_code == 303
    assert fresh(case).department_id == other.pk
    assert AuditEntry.objects.filter(action="case.assign", object_id=case.number).count() == 2
    event = CaseEvent.objects.filter(case=case, action="assign").order_by("-id").first()
    assert event is not None and event.note == "该厂属大气科管辖，原批转有误"


def test_staff_texts_have_one_length_limit_in_the_form_and_the_service(
    client: Client, heping, make_case
) -> None:
    """Issue 11, L7: an accept note, an answer or a reply part over TEXT_MAX (the H5 form's 2000) is refused
    with a message, in the form and (for any other caller) in the service; nothing is changed."""
    case = make_case("和平区", category="air")
    client.force_login(heping.operator)
    long_note = "经现场核实，" + "某化工厂夜间排污情况属实。" * 200  # 2,006 characters
    refused = act(client, case, "accept", {"kind": "report", "category": "air", "note": long_note})
    page = refused.content.decode()
    assert refused.status_code in (200, 400, 422) and "2000" in page
    assert fresh(case).state == State.RECEIVED and not case.events.filter(action="accept").exists()
    with pytest.raises(services.TransitionError, match="不能超过2000字"):
        services.case_answer(case=case, actor=heping.operator, text="答" * 2001)
    assert fresh(case).state == State.RECEIVED
    accepted = act(client, case, "accept", {"kind": "report", "category": "air", "note": long_note[:2000]})
    assert accepted.status_code == 303 and fresh(case).state == State.ACCEPTED
