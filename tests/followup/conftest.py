"""Fixtures for the follow-up tests: staffed bureaus in 和平区 and 河西区, the city centre, and cases moved
through the workflow by the real services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.orgs.models import Department, User
from eco12369.wechat.simulator import Simulator

from ..portal.helpers import oauth_login
from ..wechat.conftest import WeChatServer

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = dt.datetime(2025, 3, 3, 9, 30, tzinfo=TZ)  # working days around it are known

FIVE_PARTS = {
    "party_facts": "天津某化工有限公司，位于和平区，主要生产涂料。",
    "inspection": "执法人员于接件当日赶赴现场，核实该公司夜间排放污水。",
    "violations": "存在超标排放水污染物的违法行为。",
    "decision": "责令立即改正，依法立案处罚。",
    "communication": "已电话告知举报人处理情况。",
}


@dataclass
class Bureau:
    operator: User
    handler: User
    reviewer: User
    head: User

    @property
    def department(self) -> Department:
        assert self.handler.department is not None
        return self.handler.department


@dataclass
class People:
    hp: Bureau  # 和平区
    hx: Bureau  # 河西区
    city_op: User
    city_head: User
    city_reviewer: User


@pytest.fixture
def people(make_user: Callable[..., User]) -> People:
    def bureau(district: str) -> Bureau:
        return Bureau(
            operator=make_user("operator", district_name=district),
            handler=make_user("handler", district_name=district),
            reviewer=make_user("reviewer", district_name=district),
            head=make_user("head", district_name=district),
        )

    return People(
        hp=bureau("和平区"),
        hx=bureau("河西区"),
        city_op=make_user("operator", district_name=None),
        city_head=make_user("head", district_name=None),
        city_reviewer=make_user("reviewer", district_name=None),
    )


def bureau_of(case: Case, people: People) -> Bureau:
    return people.hx if case.region.name == "河西区" else people.hp


def handled(case: Case, people: People) -> Case:
    """Accept, assign, reply, approve: closed as handled."""
    b = bureau_of(case, people)
    case = services.case_accept(case=case, actor=b.operator)
    case = services.case_assign(case=case, actor=b.operator, department=b.department)
    case = services.case_submit_reply(case=case, actor=b.handler, **FIVE_PARTS)
    return services.case_approve(case=case, actor=b.reviewer)


def answered(case: Case, people: People) -> Case:
    """Answered directly at confirmation (a consultation): closed as answered, never accepted."""
    b = bureau_of(case, people)
    case = services.case_answer(
        case=case, actor=b.operator, text="经核实，该事项答复如下。", kind="consultation"
    )
    return services.case_approve(case=case, actor=b.reviewer)


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def reporter(tianjin: None, wechat_simulator: Simulator, media_root: Path) -> Callable[[str], Client]:
    """reporter("openid-A") → a test client identified on the H5 pages as that WeChat user."""

    def make(openid: str) -> Client:
        client = Client()
        response = oauth_login(client, wechat_simulator, openid)
        assert response.status_code == 302
        return client

    return make


@pytest.fixture
def wechat(client: Client, settings: Any) -> Iterator[WeChatServer]:
    yield WeChatServer(client, settings.WECHAT, mode="safe")
