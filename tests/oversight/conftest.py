"""Actors and helpers for the oversight tests; every case is moved through the real services. The bureaus'
staff (``Bureau``, ``make_bureau``, ``heping``) are the shared ones of tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.notifications.models import OutboxMessage
from eco12369.notifications.services import outbox_mark_passive
from eco12369.orgs.models import User
from tests.conftest import Bureau

FIVE_PARTS = {
    "party_facts": "天津某化工有限公司，位于和平区，主要生产涂料。",
    "inspection": "执法人员于接件当日赶赴现场，核实该公司夜间排放污水，已采集水样送检。",
    "violations": "存在超标排放水污染物的违法行为。",
    "decision": "责令立即改正，依法立案处罚。",
    "communication": "已电话告知举报人处理情况，举报人表示满意。",
}


@dataclass
class City:
    operator: User
    reviewer: User
    head: User
    handler: User


@pytest.fixture
def hedong(make_bureau: Callable[[str], Bureau]) -> Bureau:
    return make_bureau("河东区")


@pytest.fixture
def city(make_user: Callable[..., User]) -> City:
    return City(
        operator=make_user("operator", district_name=None, display_name="市中心操作员"),
        reviewer=make_user("reviewer", district_name=None, display_name="市中心分管领导"),
        head=make_user("head", district_name=None, display_name="市中心负责人"),
        handler=make_user("handler", district_name=None, display_name="市中心承办人"),
    )


@pytest.fixture
def outsiders(make_user: Callable[..., User]) -> dict[str, User]:
    """Accounts that must see no oversight page: system administrator, auditor."""
    return {"admin": make_user("admin"), "auditor": make_user("auditor")}


def handling(case: Case, b: Bureau) -> Case:
    case = services.case_accept(case=case, actor=b.operator)
    department = b.handler.department
    return services.case_assign(case=case, actor=b.operator, department=department)


def handled(case: Case, b: Bureau, *, parts: dict[str, str] | None = None, inform: bool = True) -> Case:
    """accept → assign → submit the five-part reply → approve; ``inform``: the closing message went out."""
    case = services.case_submit_reply(case=handling(case, b), actor=b.handler, **(parts or FIVE_PARTS))
    case = services.case_approve(case=case, actor=b.reviewer)
    if inform:
        informed(case)
    return case


def answered(case: Case, b: Bureau, *, inform: bool = True) -> Case:
    case = services.case_answer(case=case, actor=b.operator, text="您咨询的事项答复如下：……")
    case = services.case_approve(case=case, actor=b.reviewer)
    if inform:
        informed(case)
    return case


def informed(case: Case) -> None:
    """The closing message reached the reporter (as the callback's passive reply)."""
    for message in OutboxMessage.objects.filter(case=case, status=OutboxMessage.Status.PENDING):
        outbox_mark_passive(message=message)


def login(client: Any, user: User) -> Any:
    client.force_login(user)
    return client
