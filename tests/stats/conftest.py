"""A fixed month of cases for the monthly report tests, made through the real services at fixed times.

The report month is March 2025 in 和平区 (HP); February 2025 is the previous month and March 2024 the same
month of last year. The hand counts each test compares with are written out in ``EXPECTED`` below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.orgs.models import Agency, Region, User
from eco12369.stats.figures import Month

TZ = ZoneInfo("Asia/Shanghai")
MARCH = Month(2025, 3)
GENERATED_AT = dt.datetime(2025, 4, 2, 10, 0, tzinfo=TZ)

REPORTER_NAME = "王小明"
REPORTER_PHONE = "13812345678"
REPORTER_OPENID = "oSECRETopenid-wangxiaoming"


@contextmanager
def at(y: int, mo: int, d: int, h: int = 9, mi: int = 0) -> Iterator[None]:
    with time_machine.travel(dt.datetime(y, mo, d, h, mi, tzinfo=TZ), tick=False):
        yield


def parts(violations: str, decision: str = "已责令立即改正，并依法立案处罚。") -> dict[str, str]:
    return {
        "party_facts": "该单位位于本区，主要从事生产加工。",
        "inspection": "执法人员赴现场检查并采样。",
        "violations": violations,
        "decision": decision,
        "communication": f"已电话告知举报人{REPORTER_NAME}（{REPORTER_PHONE}），举报人表示满意。",
    }


@dataclass
class People:
    op: User
    handler: User
    reviewer: User
    head: User
    op_hd: User
    head_hd: User
    city_op: User
    city_head: User
    admin: User
    outside: Agency


@pytest.fixture
def people(make_user: Callable[..., User]) -> People:
    return People(
        op=make_user("operator", display_name="和平操作员"),
        handler=make_user("handler"),
        reviewer=make_user("reviewer"),
        head=make_user("head", display_name="和平负责人"),
        op_hd=make_user("operator", district_name="河东区"),
        head_hd=make_user("head", district_name="河东区"),
        city_op=make_user("operator", district_name=None),
        city_head=make_user("head", district_name=None),
        admin=make_user("admin"),
        outside=Agency.objects.filter(kind=Agency.Kind.OUTSIDE).order_by("id").first(),  # type: ignore[arg-type]
    )


@dataclass
class Scenario:
    people: People
    hp: Region
    hd: Region
    city: Region
    cases: dict[str, Case]


def _handle(
    case: Case,
    p: People,
    *,
    accept: tuple[int, ...],
    reply: tuple[int, ...],
    approve: tuple[int, ...],
    violations: str,
    decision: str = "已责令立即改正，并依法立案处罚。",
) -> Case:
    with at(*accept):
        case = services.case_accept(case=case, actor=p.op)
        case = services.case_assign(case=case, actor=p.op, department=p.handler.department)
    with at(*reply):
        case = services.case_submit_reply(case=case, actor=p.handler, **parts(violations, decision))
    with at(*approve):
        case = services.case_approve(case=case, actor=p.reviewer)
    return case


@pytest.fixture
def scenario(people: People, make_case: Callable[..., Case]) -> Scenario:
    p = people
    c: dict[str, Case] = {}
    # --- last year: March 2024, one handled case, substantiated.
    with at(2024, 3, 5):
        c["C12"] = make_case(category="air", reported_party="丁厂")
    c["C12"] = _handle(
        c["C12"],
        p,
        accept=(2024, 3, 6),
        reply=(2024, 3, 20),
        approve=(2024, 3, 25, 10),
        violations="废气超标排放。",
    )
    # --- January 2025: accepted, never closed: overdue at the end of March (closing deadline 2025-03-04).
    with at(2025, 1, 2):
        c["C9"] = make_case(category="water", reported_party="戊厂")
    with at(2025, 1, 3):
        c["C9"] = services.case_accept(case=c["C9"], actor=p.op)
    # --- February 2025 (previous month): two cases confirmed on time; C10 closes in March.
    with at(2025, 2, 10):
        c["C10"] = make_case(category="water", reported_party="己公司")
    c["C10"] = _handle(
        c["C10"],
        p,
        accept=(2025, 2, 11),
        reply=(2025, 2, 20),
        approve=(2025, 3, 3, 10),
        violations="无证排污，废水直排河道。",
    )
    with at(2025, 2, 20):
        c["C11"] = make_case(category="noise")
    with at(2025, 2, 21):
        c["C11"] = services.case_accept(case=c["C11"], actor=p.op)
    # --- March 2025 (the report month), 和平区.
    with at(2025, 3, 3, 9):
        c["C1"] = make_case(
            category="water",
            channel="wechat_chat",
            reported_party="甲化工厂",
            address="和平区南京路1号",
            reporter_name=REPORTER_NAME,
            reporter_phone=REPORTER_PHONE,
            reporter_openid=REPORTER_OPENID,
            description=f"我是{REPORTER_NAME}，电话{REPORTER_PHONE}，甲化工厂夜间排放黑水。",
        )
    c["C1"] = _handle(
        c["C1"],
        p,
        accept=(2025, 3, 4, 10),
        reply=(2025, 3, 10),
        approve=(2025, 3, 12, 10),
        violations="超标排放废水。",
        decision=f"责令停产整改，罚款五万元；已告知举报人{REPORTER_NAME}，电话{REPORTER_PHONE}。",
    )
    with at(2025, 3, 3, 10):
        c["C2"] = make_case(
            category="air", channel="wechat_h5", reported_party="甲化工厂", address="和平区南京路1号"
        )
    c["C2"] = _handle(
        c["C2"],
        p,
        accept=(2025, 3, 7),
        reply=(2025, 3, 20, 10),
        approve=(2025, 3, 24, 10),
        violations="未发现环境违法问题。",
        decision="不予处罚。",
    )
    with at(2025, 3, 5, 14):
        c["C3"] = make_case(
            category="other", kind="consultation", channel="phone", description="咨询排污许可办理流程。"
        )
    with at(2025, 3, 6):
        c["C3"] = services.case_answer(case=c["C3"], actor=p.op, text="请向区行政审批局咨询。")
    with at(2025, 3, 7):
        c["C3"] = services.case_approve(case=c["C3"], actor=p.reviewer)
    with at(2025, 3, 10):
        c["C4"] = make_case(
            category="noise", channel="wechat_chat", reported_party="乙工地", address="和平区滨江道5号"
        )
    with at(2025, 3, 11):
        c["C4"] = services.case_hand_over(
            case=c["C4"], actor=p.op, handover_agency=p.outside, text="已移交城市管理部门。"
        )
    with at(2025, 3, 12):
        c["C4"] = services.case_approve(case=c["C4"], actor=p.reviewer)
    with at(2025, 3, 12):
        c["C5"] = make_case(
            category="water", channel="wechat_h5", reported_party="甲化工厂", address="和平区南京路1号"
        )
    with at(2025, 3, 13):
        c["C5"] = services.case_mark_duplicate(case=c["C5"], actor=p.op, duplicate_of=c["C1"])
    with at(2025, 3, 20):
        c["C6"] = make_case(
            category="air", channel="wechat_chat", reported_party="丙公司", address="和平区大沽路8号"
        )
    with at(2025, 3, 31, 10):
        c["C7"] = make_case(
            category="hazardous_waste", channel="api", reported_party="乙工地", address="和平区滨江道5号"
        )
    with at(2025, 3, 14):
        c["C8"] = make_case(category="air", channel="wechat_chat")
    with at(2025, 3, 17):
        c["C8"] = services.case_accept(case=c["C8"], actor=p.op)
        c["C8"] = services.case_assign(case=c["C8"], actor=p.op, department=p.handler.department)
    with at(2025, 3, 20):
        c["C8"] = services.case_request_extension(case=c["C8"], actor=p.op, days=10, reason="需等待监测报告")
    with at(2025, 3, 21):
        ext = c["C8"].extensions.get()
        c["C8"] = services.case_decide_extension(case=c["C8"], actor=p.head, extension=ext, approved=True)
    # --- March 2025 elsewhere: 河东区 (C13) and the city centre without a district (C14).
    with at(2025, 3, 4):
        c["C13"] = make_case("河东区", category="air", reported_party="河东某厂")
    with at(2025, 3, 5):
        c["C13"] = services.case_accept(case=c["C13"], actor=p.op_hd)
    with at(2025, 3, 6):
        c["C14"] = make_case(None, category="water")
    return Scenario(
        people=p,
        hp=Region.objects.get(name="和平区"),
        hd=Region.objects.get(name="河东区"),
        city=Region.objects.get(level=Region.Level.CITY),
        cases={k: Case.objects.get(pk=v.pk) for k, v in c.items()},
    )


# Hand counts for 和平区, March 2025, as of GENERATED_AT (see the module docstring and each case above).
EXPECTED: dict[str, Any] = {
    "received": 8,  # C1–C8
    "confirmed": 6,  # C1 (3-4), C2 (3-7), C3 (3-6), C4 (3-11), C5 (3-13), C8 (3-17)
    "confirmed_on_time": 5,  # all but C2 (due 3-5, accepted 3-7)
    # C1, C3, C4, C5, C8 on time; late: C2 (confirmed 3-7, due 3-5), C6 (due 3-24, still unconfirmed)
    "confirm_judged": 7,
    "confirm_rate": 71.4,
    "closed": 6,  # C1, C2, C3, C4, C5 and C10 (received in February, closed 3-3)
    "closed_with_deadline": 3,  # C1, C2, C10 were accepted
    "closed_on_time": 3,
    # C1, C2, C10 on time; late: C9 (closing deadline 3-4 passed, still open): stats.kpis
    "close_judged": 4,
    "close_rate": 75.0,
    "substantiated": 2,  # C1 "超标排放废水", C10 "无证排污…"; not C2 "未发现…"
    "handled_closed": 3,
    "avg_handling_days": 15.0,  # (8 + 17 1/24 + 20 1/24) / 3
    "overdue_unconfirmed": 1,  # C6 (due 3-24)
    "overdue_unclosed": 1,  # C9 (closing deadline 3-4)
    "overdue_open": 2,
    "extensions": 1,  # C8, approved 3-21
    "extended_cases": 1,
    "extension_days": 10,
}
