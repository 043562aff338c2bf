"""Fixtures for the workbench tests: a staffed bureau in 和平区 and one in 河西区, and cases moved through
the workflow by the real services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.orgs.models import User

TZ = ZoneInfo("Asia/Shanghai")
# A Monday with known working days around it (chinesecalendar covers the year).
MONDAY = dt.datetime(2025, 3, 3, 9, 30, tzinfo=TZ)

FIVE_PARTS = {
    "party_facts": "天津某化工有限公司，位于和平区，主要生产涂料。",
    "inspection": "执法人员于接件当日赶赴现场，核实该公司夜间排放污水。",
    "violations": "存在超标排放水污染物的违法行为。",
    "decision": "责令立即改正，依法立案处罚。",
    "communication": "已电话告知举报人处理情况，举报人表示满意。",
}


@dataclass
class Bureau:
    district: str
    operator: User
    handler: User
    reviewer: User
    head: User

    @property
    def department(self) -> Any:
        return self.handler.department


@pytest.fixture
def bureau_staff(make_user: Callable[..., User]) -> Callable[[str], Bureau]:
    def make(district: str) -> Bureau:
        return Bureau(
            district=district,
            operator=make_user("operator", district_name=district, display_name=f"{district}操作员"),
            handler=make_user("handler", district_name=district, display_name=f"{district}承办人"),
            reviewer=make_user("reviewer", district_name=district, display_name=f"{district}分管领导"),
            head=make_user("head", district_name=district, display_name=f"{district}负责人"),
        )

    return make


@pytest.fixture
def heping(bureau_staff: Callable[[str], Bureau]) -> Bureau:
    return bureau_staff("和平区")


@pytest.fixture
def hexi(bureau_staff: Callable[[str], Bureau]) -> Bureau:
    return bureau_staff("河西区")


def advance(case: Case, staff: Bureau, to: str) -> Case:
    """Move ``case`` along the main path up to state ``to`` through the real services."""
    order = ["received", "accepted", "handling", "in_review", "closed"]
    target = order.index(to)
    if target >= 1:
        case = services.case_accept(case=case, actor=staff.operator)
    if target >= 2:
        case = services.case_assign(case=case, actor=staff.operator, department=staff.department)
    if target >= 3:
        case = services.case_submit_reply(case=case, actor=staff.handler, **FIVE_PARTS)
    if target >= 4:
        case = services.case_approve(case=case, actor=staff.reviewer)
    return case


def page_text(response: Any) -> str:
    return response.content.decode()
