"""Fixtures for the workbench tests: a staffed bureau in 河西区 (和平区's, ``heping``, is the shared one of
tests/conftest.py), and cases moved through the workflow by the real services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from eco12369.cases import services
from eco12369.cases.models import Case
from tests.conftest import Bureau

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


@pytest.fixture
def hexi(make_bureau: Callable[[str], Bureau]) -> Bureau:
    return make_bureau("河西区")


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
