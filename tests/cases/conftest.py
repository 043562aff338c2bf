"""Actors and helpers for the case tests. Everything is made through the real services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.cases.workflow import TransitionError
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.models import Agency, Department, User

FIVE_PARTS = {
    "party_facts": "某化工有限公司，主要生产涂料，位于和平区某路1号。",
    "inspection": "执法人员于当日赴现场检查，污水处理设施正常运行，排放口水样已送检。",
    "violations": "监测结果显示化学需氧量超标排放。",
    "decision": "已责令立即改正，并依法立案处罚。",
    "communication": "已电话告知举报人办理情况，举报人表示满意。",
}


@dataclass
class Staff:
    op: User  # operator, 和平区 bureau
    handler: User  # handler, 和平区 bureau, first department
    handler2: User  # handler, 和平区 bureau, another department
    reviewer: User
    head: User
    op_hd: User  # 河东区 bureau
    handler_hd: User
    reviewer_hd: User
    head_hd: User
    city_op: User
    city_head: User
    city_reviewer: User
    admin: User
    auditor: User
    dept: Department  # 和平区's first department
    dept2: Department
    outside: Agency  # an agency outside the environmental system
    hp: Agency  # 和平区 bureau
    hd: Agency  # 河东区 bureau
    city: Agency


@pytest.fixture
def staff(make_user: Callable[..., User]) -> Staff:
    hp = Agency.objects.get(region__name="和平区", kind=Agency.Kind.DISTRICT_BUREAU)
    hd = Agency.objects.get(region__name="河东区", kind=Agency.Kind.DISTRICT_BUREAU)
    depts = list(hp.departments.order_by("id"))
    return Staff(
        op=make_user("operator"),
        handler=make_user("handler", department=depts[0]),
        handler2=make_user("handler", department=depts[1]),
        reviewer=make_user("reviewer"),
        head=make_user("head"),
        op_hd=make_user("operator", district_name="河东区"),
        handler_hd=make_user("handler", district_name="河东区"),
        reviewer_hd=make_user("reviewer", district_name="河东区"),
        head_hd=make_user("head", district_name="河东区"),
        city_op=make_user("operator", district_name=None),
        city_head=make_user("head", district_name=None),
        city_reviewer=make_user("reviewer", district_name=None),
        admin=make_user("admin"),
        auditor=make_user("auditor"),
        dept=depts[0],
        dept2=depts[1],
        outside=Agency.objects.filter(kind=Agency.Kind.OUTSIDE).order_by("id").first(),  # type: ignore[arg-type]
        hp=hp,
        hd=hd,
        city=Agency.objects.get(kind=Agency.Kind.CITY_CENTRE),
    )


def snapshot(case: Case) -> tuple[Any, ...]:
    """Everything a transition may change about a case, read fresh from the database."""
    fresh = Case.objects.get(pk=case.pk)
    return (
        fresh.state,
        fresh.outcome,
        fresh.agency_id,
        fresh.region_id,
        fresh.department_id,
        fresh.handover_agency_id,
        fresh.duplicate_of_id,
        fresh.kind,
        fresh.category,
        fresh.confirm_due,
        fresh.confirmed_at,
        fresh.accepted_at,
        fresh.close_due,
        fresh.extension_days,
        fresh.closed_at,
        fresh.due_at,
        fresh.warn_at,
        fresh.updated_at,
        fresh.events.count(),
        OutboxMessage.objects.filter(case=fresh).count(),
        list(fresh.replies.values_list("pk", "status")),
        list(fresh.extensions.values_list("pk", "status")),
        list(fresh.supervision_orders.values_list("pk", "answered_at")),
    )


def assert_refused(call: Callable[[], Any], case: Case, contains: str = "") -> str:
    """``call`` raises TransitionError with a Chinese message and changes nothing at all."""
    before = snapshot(case)
    with pytest.raises(TransitionError) as caught:
        call()
    assert snapshot(case) == before
    message = caught.value.message
    assert message and any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    if contains:
        assert contains in message, message
    return message


def events(case: Case) -> list[str]:
    return list(Case.objects.get(pk=case.pk).events.order_by("at", "id").values_list("action", flat=True))


def outbox(case: Case) -> list[str]:
    return list(OutboxMessage.objects.filter(case=case).order_by("id").values_list("template", flat=True))


# ----------------------------------------------------------------------------- driving a case forward
def accepted(case: Case, s: Staff) -> Case:
    return services.case_accept(case=case, actor=s.op if case.agency_id == s.hp.pk else s.city_op)


def handling(case: Case, s: Staff) -> Case:
    return services.case_assign(case=accepted(case, s), actor=s.op, department=s.dept)


def in_review(case: Case, s: Staff) -> Case:
    return services.case_submit_reply(case=handling(case, s), actor=s.handler, **FIVE_PARTS)


def closed(case: Case, s: Staff) -> Case:
    return services.case_approve(case=in_review(case, s), actor=s.reviewer)
