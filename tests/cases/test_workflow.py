"""Every workflow action through the services: the allowed path, and refusals for the wrong role, the wrong
agency or district, the wrong state and missing input. A refusal raises TransitionError with a Chinese
message and changes nothing (no state change, no timeline event, no outbox message, no related rows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from eco12369.audit.models import AuditEntry
from eco12369.cases import deadlines, services
from eco12369.cases.events import case_event_record
from eco12369.cases.models import Action, Case, Extension, Outcome, Reply, State, SupervisionOrder
from eco12369.cases.selectors import cases_visible_to
from eco12369.cases.workflow import (
    RULES,
    UNCHANGED,
    TransitionError,
    allowed_actions,
    refusal,
    transition,
)
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.models import Region, User

from .conftest import (
    FIVE_PARTS,
    Staff,
    accepted,
    assert_refused,
    closed,
    events,
    handling,
    in_review,
    outbox,
    snapshot,
)

pytestmark = pytest.mark.django_db

MakeCase = Callable[..., Case]


# ------------------------------------------------------------------------------------------ general
def test_the_rule_table_covers_every_action_of_the_design() -> None:
    assert set(RULES) >= {
        "accept",
        "answer",
        "hand_over",
        "escalate",
        "reroute",
        "mark_duplicate",
        "assign",
        "submit_reply",
        "approve",
        "return",
        "request_extension",
        "decide_extension",
        "supervise",
        "answer_supervision",
    }
    assert RULES[Action.SUBMIT_REPLY].required == Reply.FIVE_PARTS


def test_operator_sees_exactly_the_confirmation_actions_on_a_new_case(
    make_case: MakeCase, staff: Staff
) -> None:
    case = make_case()
    assert {r.action for r in allowed_actions(case, staff.op)} == {
        "accept",
        "answer",
        "hand_over",
        "escalate",
        "reroute",
        "mark_duplicate",
    }
    assert allowed_actions(case, staff.op_hd) == []
    assert allowed_actions(case, staff.handler) == []
    assert allowed_actions(case, staff.admin) == []
    assert {r.action for r in allowed_actions(case, staff.city_op)} == {"supervise"}


def test_inactive_staff_are_refused(make_case: MakeCase, staff: Staff) -> None:
    case = make_case()
    staff.op.is_active = False
    staff.op.save()
    assert_refused(lambda: services.case_accept(case=case, actor=staff.op), case, "账号已停用")


def test_a_stale_case_object_is_rechecked_under_the_lock(make_case: MakeCase, staff: Staff) -> None:
    case = in_review(make_case(), staff)
    services.case_approve(case=case, actor=staff.reviewer)
    # ``case`` still says in_review; the transition re-reads the row under the lock and refuses.
    assert case.state == State.IN_REVIEW
    assert_refused(lambda: services.case_approve(case=case, actor=staff.reviewer), case, "已办结")
    assert events(case).count("approve") == 1


def test_the_passed_case_object_is_not_modified(make_case: MakeCase, staff: Staff) -> None:
    case = make_case()
    result = services.case_accept(case=case, actor=staff.op)
    assert case.state == State.RECEIVED
    assert result.state == State.ACCEPTED


# ------------------------------------------------------------------------------------------- accept
def test_accept(make_case: MakeCase, staff: Staff) -> None:
    case = make_case()
    case = services.case_accept(case=case, actor=staff.op, category="air", note="属于受理范围")
    assert case.state == State.ACCEPTED
    assert case.category == "air"
    assert case.accepted_at is not None and case.confirmed_at is not None
    assert case.close_due == deadlines.closing_deadline(case.accepted_at).at
    assert case.due_at == case.close_due
    assert case.warn_at == deadlines.warn_moment(case.accepted_at, case.close_due)
    assert events(case) == ["receive", "accept"]
    event = case.events.get(action="accept")
    assert (event.actor, event.actor_agency, event.from_state, event.to_state) == (
        staff.op,
        staff.hp,
        State.RECEIVED,
        State.ACCEPTED,
    )
    assert event.note == "属于受理范围"
    assert outbox(case) == ["acknowledged", "accepted"]
    message = OutboxMessage.objects.get(case=case, template="accepted")
    assert case.number in message.text and "和平区" in message.text


def test_accept_without_a_wechat_reporter_writes_no_outbox(make_case: MakeCase, staff: Staff) -> None:
    case = make_case(channel="phone", reporter_openid="")
    case = services.case_accept(case=case, actor=staff.op)
    assert case.state == State.ACCEPTED
    assert outbox(case) == []


def test_accept_reclassifies_a_consultation_that_is_a_report(make_case: MakeCase, staff: Staff) -> None:
    case = make_case(kind="consultation")
    assert_refused(lambda: services.case_accept(case=case, actor=staff.op), case, "只有举报类事项可以受理")
    case = services.case_accept(case=case, actor=staff.op, kind="report")
    assert (case.state, case.kind) == (State.ACCEPTED, "report")


def test_accept_requires_a_case_in_the_scope_of_art_6(make_case: MakeCase, staff: Staff) -> None:
    """Art. 6, 7: a report of category "other" is not accepted as it stands: the operator re-classifies it,
    confirms it is the bureau's responsibility, or answers / hands it over instead (DESIGN §3)."""
    case = make_case(category="other")
    assert not case.in_scope
    message = assert_refused(lambda: services.case_accept(case=case, actor=staff.op), case, "第六条")
    assert "直接答复" in message and "移交其他部门" in message
    # Re-classified on acceptance into a category Art. 6 lists: accepted, nothing to confirm.
    case = services.case_accept(case=case, actor=staff.op, category="hazardous_waste")
    assert case.state == State.ACCEPTED and case.in_scope
    assert "scope" not in case.events.get(action="accept").data
    # Confirmed by the operator: accepted, and the confirmation is on the timeline.
    other = services.case_accept(case=make_case(category="other"), actor=staff.op, scope_confirmed=True)
    assert (other.state, other.category, other.in_scope) == (State.ACCEPTED, "other", False)
    assert other.events.get(action="accept").data["scope"] == "操作人员确认属于环境保护主管部门职责范围"
    # Out of scope and not confirmed: answered instead, which still works.
    answered = services.case_answer(
        case=make_case(category="other"), actor=staff.op, text="请向城管部门反映。"
    )
    assert answered.state == State.IN_REVIEW


def test_accept_refusals(make_case: MakeCase, staff: Staff) -> None:
    case = make_case()
    for actor in (staff.handler, staff.reviewer, staff.head, staff.admin, staff.auditor):
        assert_refused(partial(services.case_accept, case=case, actor=actor), case, "平台操作人员")
    assert_refused(
        lambda: services.case_accept(case=case, actor=staff.op_hd), case, "天津市和平区生态环境局负责"
    )
    # The city centre cannot take a district's case over without it being escalated or re-routed.
    assert_refused(lambda: services.case_accept(case=case, actor=staff.city_op), case, "您不能受理")
    case = services.case_accept(case=case, actor=staff.op)
    assert_refused(lambda: services.case_accept(case=case, actor=staff.op), case, "“待批转”状态")


# ------------------------------------------------------------------------------------------- answer
def test_answer_then_approve(make_case: MakeCase, staff: Staff) -> None:
    case = make_case(kind="consultation", category="other")
    case = services.case_answer(case=case, actor=staff.op, text="噪声扰民属于公安部门职责，请拨打110。")
    assert case.state == State.IN_REVIEW
    assert case.confirmed_at is not None and case.accepted_at is None
    assert case.due_at == case.confirm_due  # before acceptance the confirmation deadline applies
    reply = case.replies.get()
    assert (reply.kind, reply.status, reply.return_state) == (
        Reply.Kind.ANSWER,
        Reply.Status.SUBMITTED,
        "received",
    )
    assert outbox(case) == ["acknowledged"]  # nothing reaches the reporter before review
    case = services.case_approve(case=case, actor=staff.reviewer)
    assert (case.state, case.outcome) == (State.CLOSED, Outcome.ANSWERED)
    assert case.due_at is None and case.closed_at is not None
    message = OutboxMessage.objects.get(case=case, template="answered")
    assert message.reply == reply and "请拨打110" in message.text
    reply.refresh_from_db()
    assert (reply.status, reply.reviewed_by) == (Reply.Status.APPROVED, staff.reviewer)


def test_answer_refusals(make_case: MakeCase, staff: Staff) -> None:
    case = make_case(kind="consultation")
    assert_refused(
        lambda: services.case_answer(case=case, actor=staff.op, text="  "), case, "请填写：答复意见"
    )
    assert_refused(
        lambda: services.case_answer(case=case, actor=staff.handler, text="答复"), case, "平台操作人员"
    )
    assert_refused(
        lambda: services.case_answer(case=case, actor=staff.op_hd, text="答复"), case, "您不能直接答复"
    )
    done = accepted(make_case(), staff)
    assert_refused(lambda: services.case_answer(case=done, actor=staff.op, text="答复"), done, "状态")


# ---------------------------------------------------------------------------------------- hand over
def test_hand_over_then_approve(make_case: MakeCase, staff: Staff) -> None:
    case = make_case(category="other", description="小区门口餐馆油烟很大。")
    case = services.case_hand_over(
        case=case, actor=staff.op, handover_agency=staff.outside, text="餐饮油烟由城市管理部门负责查处。"
    )
    assert case.state == State.IN_REVIEW and case.handover_agency == staff.outside
    assert outbox(case) == ["acknowledged"]
    case = services.case_approve(case=case, actor=staff.reviewer)
    assert (case.state, case.outcome) == (State.CLOSED, Outcome.HANDED_OVER)
    message = OutboxMessage.objects.get(case=case, template="handed_over")
    assert staff.outside.name in message.text and "城市管理部门" in message.text


def test_hand_over_refusals(make_case: MakeCase, staff: Staff) -> None:
    case = make_case()
    hand_over = services.case_hand_over
    assert_refused(
        lambda: hand_over(case=case, actor=staff.op, handover_agency=None, text="移交"),
        case,
        "请填写：移交机构",
    )
    assert_refused(
        lambda: hand_over(case=case, actor=staff.op, handover_agency=staff.outside, text=""), case, "答复意见"
    )
    assert_refused(
        lambda: hand_over(case=case, actor=staff.op, handover_agency=staff.hd, text="移交"), case, "改派"
    )
    assert_refused(
        lambda: hand_over(case=case, actor=staff.reviewer, handover_agency=staff.outside, text="移交"),
        case,
        "平台操作人员",
    )
    assert_refused(
        lambda: hand_over(case=case, actor=staff.op_hd, handover_agency=staff.outside, text="移交"),
        case,
        "负责",
    )
    done = handling(make_case(), staff)
    assert_refused(
        lambda: hand_over(case=done, actor=staff.op, handover_agency=staff.outside, text="移交"),
        done,
        "办理中",
    )


# ----------------------------------------------------------------------------------------- escalate
def test_escalate_gives_the_city_centre_its_own_confirmation_period(
    make_case: MakeCase, staff: Staff
) -> None:
    case = make_case()
    region = case.region
    case = services.case_escalate(case=case, actor=staff.op, reason="涉及跨区排污，需市级协调。")
    assert case.state == State.ESCALATED
    assert case.agency == staff.city and case.region == region  # still in the district
    assert case.routed_at is not None
    assert case.confirm_due == deadlines.confirmation_deadline(case.routed_at).at
    assert case.due_at == case.confirm_due
    assert case.confirmed_at is None
    assert events(case) == ["receive", "escalate"]
    assert outbox(case) == ["acknowledged"]
    # The district still reads it, but the city centre decides now.
    assert cases_visible_to(user=staff.op).filter(pk=case.pk).exists()
    assert refusal(case, staff.op, "accept") is not None
    assert {r.action for r in allowed_actions(case, staff.city_op)} >= {"accept", "answer", "reroute"}
    case = services.case_reroute(
        case=case, actor=staff.city_op, target_agency=staff.hd, reason="污染源在河东区。"
    )
    assert (case.state, case.agency, case.region.name) == (State.RECEIVED, staff.hd, "河东区")


def test_escalate_refusals(make_case: MakeCase, staff: Staff) -> None:
    case = make_case()
    assert_refused(lambda: services.case_escalate(case=case, actor=staff.op, reason=""), case, "请填写：理由")
    assert_refused(
        lambda: services.case_escalate(case=case, actor=staff.head, reason="协调"), case, "平台操作人员"
    )
    assert_refused(lambda: services.case_escalate(case=case, actor=staff.op_hd, reason="协调"), case, "负责")
    escalated = services.case_escalate(case=case, actor=staff.op, reason="协调")
    assert_refused(
        lambda: services.case_escalate(case=escalated, actor=staff.city_op, reason="协调"), escalated, "状态"
    )
    city_case = make_case(district_name=None)
    assert_refused(
        lambda: services.case_escalate(case=city_case, actor=staff.city_op, reason="协调"),
        city_case,
        "最高协调层级",
    )
    done = accepted(make_case(), staff)
    assert_refused(lambda: services.case_escalate(case=done, actor=staff.op, reason="协调"), done, "状态")


# ------------------------------------------------------------------------------------------ reroute
def test_reroute_from_the_city_centre_to_the_district(make_case: MakeCase, staff: Staff) -> None:
    case = make_case(district_name=None)
    assert case.agency == staff.city
    case = services.case_reroute(case=case, actor=staff.city_op, target_agency=staff.hp, reason="位于和平区")
    assert (case.state, case.agency, case.region.name) == (State.RECEIVED, staff.hp, "和平区")
    assert case.confirm_due == deadlines.confirmation_deadline(case.confirm_from).at
    assert events(case) == ["receive", "reroute"]
    assert case.events.get(action="reroute").data["to"] == staff.hp.name
    assert cases_visible_to(user=staff.op).filter(pk=case.pk).exists()


def test_a_district_sends_a_case_back_to_the_city_and_no_longer_sees_it(
    make_case: MakeCase, staff: Staff
) -> None:
    case = make_case()
    case = services.case_reroute(case=case, actor=staff.op, target_agency=staff.city, reason="不在本区")
    assert (case.agency, case.region.level) == (staff.city, Region.Level.CITY)
    assert not cases_visible_to(user=staff.op).filter(pk=case.pk).exists()
    assert cases_visible_to(user=staff.city_op).filter(pk=case.pk).exists()


def test_reroute_refusals(make_case: MakeCase, staff: Staff) -> None:
    case = make_case()
    reroute = services.case_reroute
    assert_refused(
        lambda: reroute(case=case, actor=staff.op, target_agency=None, reason="x"), case, "改派机构"
    )
    assert_refused(
        lambda: reroute(case=case, actor=staff.op, target_agency=staff.hd, reason=" "), case, "理由"
    )
    assert_refused(
        lambda: reroute(case=case, actor=staff.op, target_agency=staff.outside, reason="x"), case, "只能改派"
    )
    assert_refused(
        lambda: reroute(case=case, actor=staff.op, target_agency=staff.hp, reason="x"), case, "已由此机构"
    )
    assert_refused(
        lambda: reroute(case=case, actor=staff.handler, target_agency=staff.hd, reason="x"), case, "权限"
    )
    assert_refused(
        lambda: reroute(case=case, actor=staff.op_hd, target_agency=staff.hd, reason="x"), case, "负责"
    )
    assert_refused(
        lambda: reroute(case=case, actor=staff.city_op, target_agency=staff.hd, reason="x"),
        case,
        "您不能改派",
    )
    done = accepted(make_case(), staff)
    assert_refused(
        lambda: reroute(case=done, actor=staff.op, target_agency=staff.hd, reason="x"), done, "状态"
    )


# ----------------------------------------------------------------------------------- mark duplicate
def test_mark_duplicate_points_to_the_first_report(make_case: MakeCase, staff: Staff) -> None:
    first = make_case()
    second = make_case()
    third = make_case()
    second = services.case_mark_duplicate(case=second, actor=staff.op, duplicate_of=first)
    assert (second.state, second.outcome, second.duplicate_of) == (State.CLOSED, Outcome.DUPLICATE, first)
    assert second.closed_at is not None and second.due_at is None
    message = OutboxMessage.objects.get(case=second, template="duplicate")
    assert first.number in message.text
    # Marking against a duplicate resolves to the original matter.
    third = services.case_mark_duplicate(case=third, actor=staff.op, duplicate_of=second)
    assert third.duplicate_of == first


def test_mark_duplicate_refusals(make_case: MakeCase, staff: Staff) -> None:
    earlier = make_case()
    case = make_case()
    later = make_case()
    elsewhere = make_case("河东区")
    mark = services.case_mark_duplicate
    assert_refused(lambda: mark(case=case, actor=staff.op, duplicate_of=None), case, "原举报件编号")
    assert_refused(lambda: mark(case=case, actor=staff.op, duplicate_of=case), case, "自身")
    assert_refused(lambda: mark(case=case, actor=staff.op, duplicate_of=later), case, "更早")
    assert_refused(lambda: mark(case=later, actor=staff.op, duplicate_of=elsewhere), later, "未找到")
    assert_refused(lambda: mark(case=case, actor=staff.reviewer, duplicate_of=earlier), case, "权限")
    assert_refused(lambda: mark(case=case, actor=staff.op_hd, duplicate_of=earlier), case, "负责")
    done = accepted(make_case(), staff)
    assert_refused(lambda: mark(case=done, actor=staff.op, duplicate_of=earlier), done, "状态")


# ------------------------------------------------------------------------------------------- assign
def test_assign_and_reassign(make_case: MakeCase, staff: Staff) -> None:
    case = accepted(make_case(), staff)
    case = services.case_assign(case=case, actor=staff.op, department=staff.dept, note="请尽快查处")
    assert (case.state, case.department) == (State.HANDLING, staff.dept)
    assert case.due_at == case.close_due
    case = services.case_assign(case=case, actor=staff.op, department=staff.dept2)
    assert (case.state, case.department) == (State.HANDLING, staff.dept2)
    assert events(case) == ["receive", "accept", "assign", "assign"]


def test_assign_refusals(make_case: MakeCase, staff: Staff) -> None:
    case = accepted(make_case(), staff)
    other_dept = staff.hd.departments.first()
    assign = services.case_assign
    assert_refused(lambda: assign(case=case, actor=staff.op, department=None), case, "请填写：承办部门")
    assert_refused(lambda: assign(case=case, actor=staff.op, department=other_dept), case, "本机构")
    assert_refused(lambda: assign(case=case, actor=staff.handler, department=staff.dept), case, "权限")
    assert_refused(lambda: assign(case=case, actor=staff.op_hd, department=staff.dept), case, "负责")
    new = make_case()
    assert_refused(lambda: assign(case=new, actor=staff.op, department=staff.dept), new, "“待确认”状态")


# ------------------------------------------------------------------------------------- submit reply
def test_submit_reply(make_case: MakeCase, staff: Staff) -> None:
    case = handling(make_case(), staff)
    case = services.case_submit_reply(case=case, actor=staff.handler, **FIVE_PARTS)
    assert case.state == State.IN_REVIEW
    assert case.due_at == case.close_due
    reply = case.replies.get()
    assert (reply.kind, reply.status, reply.drafted_by) == (
        Reply.Kind.HANDLING,
        Reply.Status.SUBMITTED,
        staff.handler,
    )
    assert {name: getattr(reply, name) for name in Reply.FIVE_PARTS} == FIVE_PARTS
    assert outbox(case) == ["acknowledged", "accepted"]


@pytest.mark.parametrize("part", Reply.FIVE_PARTS)
@pytest.mark.parametrize("blank", ["", "   \n"])
def test_submit_reply_requires_each_of_the_five_parts(
    make_case: MakeCase, staff: Staff, part: str, blank: str
) -> None:
    case = handling(make_case(), staff)
    label = str(getattr(Reply._meta.get_field(part), "verbose_name", part))
    parts = {**FIVE_PARTS, part: blank}
    message = assert_refused(
        lambda: services.case_submit_reply(case=case, actor=staff.handler, **parts), case, f"请填写：{label}"
    )
    assert message == f"请填写：{label}。"


def test_submit_reply_refusals(make_case: MakeCase, staff: Staff) -> None:
    case = handling(make_case(), staff)
    submit = services.case_submit_reply
    assert_refused(
        lambda: submit(case=case, actor=staff.handler2, **FIVE_PARTS), case, "未批转给您所在的承办部门"
    )
    assert_refused(lambda: submit(case=case, actor=staff.handler_hd, **FIVE_PARTS), case, "承办部门")
    assert_refused(lambda: submit(case=case, actor=staff.op, **FIVE_PARTS), case, "承办人员")
    reviewing = services.case_submit_reply(case=case, actor=staff.handler, **FIVE_PARTS)
    assert_refused(
        lambda: submit(case=reviewing, actor=staff.handler, **FIVE_PARTS), reviewing, "“待审核”状态"
    )


# ------------------------------------------------------------------------------------------ approve
def test_approve_closes_and_sends_the_reviewed_reply(make_case: MakeCase, staff: Staff) -> None:
    case = in_review(make_case(), staff)
    case = services.case_approve(case=case, actor=staff.reviewer, note="同意")
    assert (case.state, case.outcome) == (State.CLOSED, Outcome.HANDLED)
    assert case.closed_at is not None and case.due_at is None and case.warn_at is None
    reply = case.replies.get()
    assert (reply.status, reply.reviewed_by, reply.review_note) == (
        Reply.Status.APPROVED,
        staff.reviewer,
        "同意",
    )
    message = OutboxMessage.objects.get(case=case, template="closed")
    assert message.reply == reply
    # The reporter receives the four parts about the matter; the bureau's record of how it contacted the
    # reporter (与举报人沟通答复情况) stays with the bureau (issue 12, D16; DESIGN §4).
    for name, label_text in FIVE_PARTS.items():
        assert (label_text in message.text) == (name != "communication"), name
    assert events(case) == ["receive", "accept", "assign", "submit_reply", "approve"]


def test_approve_refusals(make_case: MakeCase, staff: Staff, make_user: Callable[..., User]) -> None:
    case = in_review(make_case(), staff)
    approve = services.case_approve
    assert_refused(lambda: approve(case=case, actor=staff.head), case, "分管领导")
    assert_refused(lambda: approve(case=case, actor=staff.op), case, "分管领导")
    assert_refused(lambda: approve(case=case, actor=staff.reviewer_hd), case, "负责")
    assert_refused(lambda: approve(case=case, actor=staff.city_reviewer), case, "负责")
    early = handling(make_case(), staff)
    assert_refused(lambda: approve(case=early, actor=staff.reviewer), early, "办理中")


def test_nobody_approves_their_own_reply(
    make_case: MakeCase, staff: Staff, make_user: Callable[..., User]
) -> None:
    both = make_user("handler", "reviewer", department=staff.dept)
    case = handling(make_case(), staff)
    case = services.case_submit_reply(case=case, actor=both, **FIVE_PARTS)
    assert_refused(lambda: services.case_approve(case=case, actor=both), case, "本人起草")
    assert services.case_approve(case=case, actor=staff.reviewer).state == State.CLOSED


# ------------------------------------------------------------------------------------------- return
def test_return_sends_the_reply_back_for_rework(make_case: MakeCase, staff: Staff) -> None:
    case = in_review(make_case(), staff)
    case = services.case_return(case=case, actor=staff.reviewer, note="现场检查情况不具体。")
    assert case.state == State.HANDLING
    assert case.replies.get().status == Reply.Status.RETURNED
    assert outbox(case) == ["acknowledged", "accepted"]
    case = services.case_submit_reply(case=case, actor=staff.handler, **FIVE_PARTS)
    case = services.case_approve(case=case, actor=staff.reviewer)
    assert case.state == State.CLOSED
    assert list(case.replies.values_list("status", flat=True)) == [
        Reply.Status.RETURNED,
        Reply.Status.APPROVED,
    ]
    # Only the approved reply went to the reporter.
    assert OutboxMessage.objects.get(case=case, template="closed").reply == case.replies.get(
        status="approved"
    )


def test_return_of_a_hand_over_goes_back_to_confirmation(make_case: MakeCase, staff: Staff) -> None:
    case = make_case()
    case = services.case_hand_over(case=case, actor=staff.op, handover_agency=staff.outside, text="移交城管")
    case = services.case_return(case=case, actor=staff.reviewer, note="属于本局职责，应受理。")
    assert case.state == State.RECEIVED and case.handover_agency is None
    assert case.due_at == case.confirm_due
    assert services.case_accept(case=case, actor=staff.op).state == State.ACCEPTED


def test_return_refusals(make_case: MakeCase, staff: Staff) -> None:
    case = in_review(make_case(), staff)
    ret = services.case_return
    assert_refused(lambda: ret(case=case, actor=staff.reviewer, note=""), case, "请填写：审核意见")
    assert_refused(lambda: ret(case=case, actor=staff.handler, note="退回"), case, "分管领导")
    assert_refused(lambda: ret(case=case, actor=staff.reviewer_hd, note="退回"), case, "负责")
    done = services.case_approve(case=case, actor=staff.reviewer)
    assert_refused(lambda: ret(case=done, actor=staff.reviewer, note="退回"), done, "已办结")


# --------------------------------------------------------------------------------------- extensions
def test_extension_requested_and_approved_moves_the_deadline(make_case: MakeCase, staff: Staff) -> None:
    case = handling(make_case(), staff)
    before = case.close_due
    case = services.case_request_extension(case=case, actor=staff.handler, days=20, reason="需等待监测报告。")
    assert case.close_due == before and case.extension_days == 0
    ext = case.extensions.get()
    assert (ext.status, ext.days, ext.reason) == (Extension.Status.PENDING, 20, "需等待监测报告。")
    case = services.case_decide_extension(
        case=case, actor=staff.head, extension=ext, approved=True, note="同意"
    )
    assert case.extension_days == 20
    assert case.accepted_at is not None
    assert case.close_due == deadlines.closing_deadline(case.accepted_at, 20).at
    assert case.due_at == case.close_due
    assert case.warn_at == deadlines.warn_moment(case.accepted_at, case.close_due)
    ext.refresh_from_db()
    assert (ext.status, ext.decided_by) == (Extension.Status.APPROVED, staff.head)
    message = OutboxMessage.objects.get(case=case, template="extended")
    assert "需等待监测报告" in message.text and "20日" in message.text
    # 10 more days are possible, 11 are not.
    assert_refused(
        lambda: services.case_request_extension(case=case, actor=staff.op, days=11, reason="再延期"),
        case,
        "最多还可申请10日",
    )
    case = services.case_request_extension(case=case, actor=staff.op, days=10, reason="再延期")
    ext2 = case.extensions.get(status=Extension.Status.PENDING)
    case = services.case_decide_extension(case=case, actor=staff.head, extension=ext2, approved=True)
    assert case.extension_days == 30
    assert_refused(
        lambda: services.case_request_extension(case=case, actor=staff.op, days=1, reason="再延期"),
        case,
        "已无可延长的天数",
    )


def test_a_rejected_extension_changes_no_deadline(make_case: MakeCase, staff: Staff) -> None:
    case = handling(make_case(), staff)
    before = case.close_due
    case = services.case_request_extension(case=case, actor=staff.op, days=30, reason="情况复杂")
    ext = case.extensions.get()
    case = services.case_decide_extension(
        case=case, actor=staff.head, extension=ext, approved=False, note="不同意"
    )
    assert (case.close_due, case.extension_days) == (before, 0)
    assert case.extensions.get().status == Extension.Status.REJECTED
    assert "extended" not in outbox(case)
    assert events(case)[-2:] == ["request_extension", "decide_extension"]
    # A rejected request does not use up the 30 days.
    assert (
        services.case_request_extension(case=case, actor=staff.op, days=30, reason="补充理由").pk == case.pk
    )


def test_request_extension_refusals(make_case: MakeCase, staff: Staff) -> None:
    case = handling(make_case(), staff)
    req = services.case_request_extension
    assert_refused(lambda: req(case=case, actor=staff.op, days=5, reason=""), case, "请填写：理由")
    assert_refused(lambda: req(case=case, actor=staff.op, days=None, reason="复杂"), case, "延长天数")
    assert_refused(lambda: req(case=case, actor=staff.op, days=0, reason="复杂"), case, "至少为1天")
    assert_refused(lambda: req(case=case, actor=staff.op, days=31, reason="复杂"), case, "不得超过30日")
    assert_refused(lambda: req(case=case, actor=staff.reviewer, days=5, reason="复杂"), case, "权限")
    assert_refused(lambda: req(case=case, actor=staff.op_hd, days=5, reason="复杂"), case, "负责")
    case = req(case=case, actor=staff.op, days=5, reason="复杂")
    assert_refused(lambda: req(case=case, actor=staff.op, days=5, reason="复杂"), case, "已有待批准")
    new = make_case()
    assert_refused(lambda: req(case=new, actor=staff.op, days=5, reason="复杂"), new, "状态")
    answered = services.case_answer(case=make_case(), actor=staff.op, text="答复")
    assert_refused(lambda: req(case=answered, actor=staff.op, days=5, reason="复杂"), answered, "尚未受理")


def test_only_the_assigned_department_requests_an_extension(make_case: MakeCase, staff: Staff) -> None:
    """DESIGN §3, §4: the handler of the department the case is assigned to requests (or the bureau's
    operator enters it); a handler of another department of the same bureau is refused."""
    case = handling(make_case(), staff)  # assigned to staff.dept
    req = services.case_request_extension
    assert staff.handler2.department_id != case.department_id
    message = assert_refused(lambda: req(case=case, actor=staff.handler2, days=5, reason="复杂"), case)
    assert message == "该举报件未批转给您所在的承办部门，不能申请延期。"
    assert "request_extension" not in {r.action for r in allowed_actions(case, staff.handler2)}
    assert "request_extension" in {r.action for r in allowed_actions(case, staff.handler)}
    # Another district's handler is refused on the agency, as before.
    assert_refused(lambda: req(case=case, actor=staff.handler_hd, days=5, reason="复杂"), case, "负责")
    # Before any department is assigned only the operator may request.
    waiting = accepted(make_case(), staff)
    assert_refused(lambda: req(case=waiting, actor=staff.handler, days=5, reason="复杂"), waiting, "承办部门")
    assert req(case=waiting, actor=staff.op, days=5, reason="复杂").extensions.get().requested_by == staff.op
    # Re-assigned to the other department: now its handler may request, the first may not.
    case = services.case_assign(case=case, actor=staff.op, department=staff.dept2)
    assert_refused(lambda: req(case=case, actor=staff.handler, days=5, reason="复杂"), case, "承办部门")
    case = req(case=case, actor=staff.handler2, days=5, reason="复杂")
    assert case.extensions.get().requested_by == staff.handler2


def test_decide_extension_refusals(make_case: MakeCase, staff: Staff, make_user: Callable[..., User]) -> None:
    case = handling(make_case(), staff)
    decide = services.case_decide_extension
    assert_refused(
        lambda: decide(case=case, actor=staff.head, extension=None, approved=True), case, "没有待批准"
    )
    case = services.case_request_extension(case=case, actor=staff.op, days=5, reason="复杂")
    ext = case.extensions.get()
    assert_refused(
        lambda: decide(case=case, actor=staff.head, extension=None, approved=True), case, "延期申请"
    )
    assert_refused(
        lambda: decide(case=case, actor=staff.reviewer, extension=ext, approved=True), case, "负责人"
    )
    assert_refused(
        lambda: decide(case=case, actor=staff.head_hd, extension=ext, approved=True), case, "您不能"
    )
    assert_refused(
        lambda: decide(case=case, actor=staff.city_head, extension=ext, approved=True), case, "您不能"
    )
    other = services.case_request_extension(
        case=handling(make_case(), staff), actor=staff.op, days=3, reason="x"
    )
    other_ext = other.extensions.get()
    assert_refused(
        lambda: decide(case=case, actor=staff.head, extension=other_ext, approved=True), case, "不存在"
    )
    # Nobody approves their own request.
    head_op = make_user("head", "operator")
    mine = services.case_request_extension(
        case=handling(make_case(), staff), actor=head_op, days=3, reason="x"
    )
    mine_ext = mine.extensions.get()
    assert_refused(
        lambda: decide(case=mine, actor=head_op, extension=mine_ext, approved=True),
        mine,
        "本人",
    )


# -------------------------------------------------------------------------------------- supervision
def test_supervise_and_answer(make_case: MakeCase, staff: Staff) -> None:
    case = handling(make_case(), staff)
    due = timezone.localdate() + dt.timedelta(days=5)
    case = services.case_supervise(case=case, actor=staff.city_op, instruction="请加快办理。", answer_due=due)
    assert case.state == State.HANDLING  # supervision changes no state
    order = case.supervision_orders.get()
    assert (order.issued_by, order.answer_due, order.answered_at) == (staff.city_op, due, None)
    assert outbox(case) == ["acknowledged", "accepted"]  # the reporter is not told
    case = services.case_answer_supervision(
        case=case, actor=staff.op, order=order, answer="已现场检查并立案。"
    )
    order.refresh_from_db()
    assert order.answered_by == staff.op and order.answer == "已现场检查并立案。"
    assert events(case)[-2:] == ["supervise", "answer_supervision"]
    event = case.events.get(action="supervise")
    assert (event.from_state, event.to_state, event.actor_agency) == (
        State.HANDLING,
        State.HANDLING,
        staff.city,
    )


def test_a_supervision_order_can_be_answered_after_the_case_closed(make_case: MakeCase, staff: Staff) -> None:
    case = in_review(make_case(), staff)
    due = timezone.localdate() + dt.timedelta(days=3)
    case = services.case_supervise(case=case, actor=staff.city_head, instruction="督办", answer_due=due)
    case = services.case_approve(case=case, actor=staff.reviewer)
    order = SupervisionOrder.objects.get(case=case)
    case = services.case_answer_supervision(case=case, actor=staff.head, order=order, answer="已办结")
    assert SupervisionOrder.objects.get(pk=order.pk).answered_at is not None


def test_supervise_refusals(make_case: MakeCase, staff: Staff) -> None:
    case = handling(make_case(), staff)
    due = timezone.localdate() + dt.timedelta(days=5)
    sup = services.case_supervise
    assert_refused(
        lambda: sup(case=case, actor=staff.op, instruction="督办", answer_due=due), case, "只有市举报受理中心"
    )
    assert_refused(
        lambda: sup(case=case, actor=staff.city_reviewer, instruction="督办", answer_due=due), case, "权限"
    )
    assert_refused(
        lambda: sup(case=case, actor=staff.city_op, instruction="", answer_due=due), case, "督办意见"
    )
    assert_refused(
        lambda: sup(case=case, actor=staff.city_op, instruction="督办", answer_due=None), case, "回复期限"
    )
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    assert_refused(
        lambda: sup(case=case, actor=staff.city_op, instruction="x", answer_due=yesterday), case, "早于今天"
    )
    done = closed(make_case(), staff)
    assert_refused(
        lambda: sup(case=done, actor=staff.city_op, instruction="督办", answer_due=due), done, "已办结"
    )
    own = make_case(district_name=None)
    assert_refused(
        lambda: sup(case=own, actor=staff.city_op, instruction="督办", answer_due=due), own, "无需督办"
    )


def test_answer_supervision_refusals(make_case: MakeCase, staff: Staff) -> None:
    case = handling(make_case(), staff)
    ans = services.case_answer_supervision
    assert_refused(lambda: ans(case=case, actor=staff.op, order=None, answer="x"), case, "没有待回复的督办单")
    due = timezone.localdate() + dt.timedelta(days=5)
    case = services.case_supervise(case=case, actor=staff.city_op, instruction="督办", answer_due=due)
    order = case.supervision_orders.get()
    assert_refused(lambda: ans(case=case, actor=staff.op, order=order, answer=" "), case, "办理情况回复")
    assert_refused(lambda: ans(case=case, actor=staff.op, order=None, answer="x"), case, "督办单")
    assert_refused(lambda: ans(case=case, actor=staff.handler, order=order, answer="x"), case, "权限")
    assert_refused(lambda: ans(case=case, actor=staff.op_hd, order=order, answer="x"), case, "负责")
    assert_refused(lambda: ans(case=case, actor=staff.city_op, order=order, answer="x"), case, "负责")
    other = services.case_supervise(
        case=handling(make_case(), staff), actor=staff.city_op, instruction="督办", answer_due=due
    )
    other_order = other.supervision_orders.get()
    assert_refused(lambda: ans(case=case, actor=staff.op, order=other_order, answer="x"), case, "不存在")
    case = ans(case=case, actor=staff.op, order=order, answer="已办理")
    assert_refused(lambda: ans(case=case, actor=staff.op, order=order, answer="再次"), case, "没有待回复")


# ---------------------------------------------------------------------------------------- atomicity
def test_a_failure_inside_a_transition_rolls_everything_back(make_case: MakeCase, staff: Staff) -> None:
    """If the outbox cannot store the reply for the reporter (the database refuses the row), the approval is
    undone as well: the case, the reply, the timeline and the audit trail stay as they were."""
    case = in_review(make_case(reporter_openid="o-outbox-down"), staff)
    before = snapshot(case)
    audit_before = AuditEntry.objects.count()
    table = OutboxMessage._meta.db_table
    with outbox_refusing_rows(table), pytest.raises(DatabaseError):
        services.case_approve(case=case, actor=staff.reviewer)
    assert snapshot(case) == before
    assert case.replies.get().status == Reply.Status.SUBMITTED
    assert AuditEntry.objects.count() == audit_before
    services.case_approve(
        case=case, actor=staff.reviewer
    )  # the outbox is back: the same approval goes through
    assert Case.objects.get(pk=case.pk).state == State.CLOSED


@contextmanager
def outbox_refusing_rows(table: str) -> Iterator[None]:
    """The database refuses every new row of ``table`` (as a full disk or a lost table would), by a trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_row() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'outbox down'; END; "
                "$$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f'CREATE TRIGGER refuse_rows BEFORE INSERT ON "{table}" EXECUTE FUNCTION refuse_row()'
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER refuse_rows BEFORE INSERT ON \"{table}\" BEGIN SELECT RAISE(ABORT, 'outbox down'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f'DROP TRIGGER refuse_rows ON "{table}"'
                if connection.vendor == "postgresql"
                else "DROP TRIGGER refuse_rows"
            )
            if connection.vendor == "postgresql":
                cursor.execute("DROP FUNCTION refuse_row()")


# ----------------------------------------------------------------------------------------- concurrency
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_approving_at_once_close_the_case_once(
    make_case: MakeCase, make_user: Callable[..., User]
) -> None:
    """The transition locks the case row and re-checks the state after the lock: one approval wins, the
    other is refused, and the reporter gets one answer. Needs real row locks (PostgreSQL)."""
    import threading

    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip(
            "concurrent writers need PostgreSQL (SQLite's in-memory test database cannot wait for locks)"
        )
    from eco12369.orgs.models import Agency

    hp = Agency.objects.get(region__name="和平区", kind=Agency.Kind.DISTRICT_BUREAU)
    dept = hp.departments.order_by("id").first()
    op, handler = make_user("operator"), make_user("handler", department=dept)
    reviewers = [make_user("reviewer"), make_user("reviewer")]
    case = services.case_accept(case=make_case(), actor=op)
    case = services.case_assign(case=case, actor=op, department=dept)
    case = services.case_submit_reply(case=case, actor=handler, **FIVE_PARTS)

    results: list[str] = []
    barrier = threading.Barrier(len(reviewers))

    def approve(reviewer: User) -> None:
        try:
            barrier.wait()
            services.case_approve(case=case, actor=reviewer)
            results.append("ok")
        except TransitionError as exc:
            results.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(r,)) for r in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results.count("ok") == 1 and len(results) == 2
    assert "已办结" in next(r for r in results if r != "ok")
    assert events(case).count("approve") == 1
    assert OutboxMessage.objects.filter(case=case, template="closed").count() == 1


# ------------------------------------------------------------------------------------ one vocabulary
def test_every_rule_is_keyed_by_its_action_and_declares_its_targets() -> None:
    assert set(RULES) <= set(Action)
    for action, rule in RULES.items():
        assert rule.action is action
        assert all(isinstance(state, State) for state in rule.targets)
    assert RULES[Action.APPROVE].targets == (State.CLOSED,)
    assert RULES[Action.SUPERVISE].targets == UNCHANGED  # the case stays where it is


def test_a_rule_that_leaves_the_case_outside_its_targets_is_refused(
    make_case: MakeCase, staff: Staff
) -> None:
    """``return`` sends a reply back for rework; an effect that closed the case instead is refused and
    rolled back, whatever it wrote."""
    case = in_review(make_case(), staff)
    before = events(case)

    def closes_instead(locked: Case) -> None:
        locked.state = State.CLOSED
        locked.outcome = Outcome.HANDLED
        locked.replies.update(status=Reply.Status.RETURNED)

    with pytest.raises(TransitionError) as refused:
        transition(
            case=case,
            actor=staff.reviewer,
            action=Action.RETURN,
            fields={"note": "现场照片对不上，再去核实下"},
            effect=closes_instead,
        )
    assert refused.value.status == 500
    assert "已撤销" in refused.value.message
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW
    assert case.replies.get().status == Reply.Status.SUBMITTED
    assert events(case) == before


def test_a_timeline_event_outside_the_vocabulary_is_refused(make_case: MakeCase) -> None:
    case = make_case()
    with pytest.raises(ValueError):
        case_event_record(case=case, action="acept")  # type: ignore[arg-type]  # a typo is not an action
    event = case_event_record(case=case, action=Action.SUPPLEMENT, note="补充：晚上十点以后更响")
    assert (event.from_state, event.to_state, event.get_action_display()) == (
        State.RECEIVED,
        State.RECEIVED,
        "补充材料",
    )
