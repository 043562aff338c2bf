"""The case page: its fields, reporter privacy, the timeline, replies and only the actions this user may take."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from eco12369.cases import services
from eco12369.cases.models import CalendarYear
from eco12369.workbench.notes import note_add

from .conftest import FIVE_PARTS, advance

pytestmark = pytest.mark.django_db


def action_names(response) -> set[str]:
    # The sidebar's action forms, and the reply editor in the main column (issue 12, D7).
    html = response.content.decode()
    return set(re.findall(r'<details class="action action-([a-z_]+)"', html)) | set(
        re.findall(r'<section [^>]*data-action="([a-z_]+)"', html)
    )


def case_url(case) -> str:
    return reverse("workbench:case", args=[case.number])


def test_case_page_shows_the_case(client: Client, heping, make_case) -> None:
    case = make_case(
        "和平区",
        reported_party="天津某化工有限公司",
        address="和平区南京路1号",
        reporter_name="张三",
        reporter_phone="13812341234",
    )
    client.force_login(heping.operator)
    response = client.get(case_url(case))
    assert response.status_code == 200
    text = response.content.decode()
    for expected in (
        case.number,
        "待确认",
        "天津某化工有限公司",
        "和平区南京路1号",
        "某化工厂夜间排放黑水",
        "水",
    ):
        assert expected in text
    # Masked for everyone, the owning agency's operator included, who may reveal it with a reason
    # (tests/compliance/test_reveal.py).
    assert '<dd class="reporter-name">张*</dd>' in text and "138****1234" in text
    assert "13812341234" not in text
    assert "查看完整信息" in text
    # The timeline starts with the receipt.
    assert "timeline-item timeline-receive" in text


def test_reporter_is_masked_for_other_agencies(client: Client, make_user, make_case) -> None:
    case = make_case("和平区", reporter_name="张三丰", reporter_phone="13812341234")
    city_operator = make_user("operator", district_name=None)
    client.force_login(city_operator)
    text = client.get(case_url(case)).content.decode()
    assert "张**" in text and "138****1234" in text
    assert "张三丰" not in text and "13812341234" not in text
    assert "已脱敏" in text


def test_only_allowed_actions_are_rendered(client: Client, heping, make_case) -> None:
    case = make_case("和平区")
    client.force_login(heping.operator)
    assert action_names(client.get(case_url(case))) == {
        "accept",
        "answer",
        "hand_over",
        "escalate",
        "reroute",
        "mark_duplicate",
    }
    for user in (heping.handler, heping.reviewer, heping.head):
        client.force_login(user)
        response = client.get(case_url(case))
        assert action_names(response) == set()
        assert "当前没有您可以执行的操作" in response.content.decode()

    case = advance(case, heping, "handling")
    client.force_login(heping.handler)
    assert action_names(client.get(case_url(case))) == {"submit_reply", "request_extension", "send_back"}
    client.force_login(heping.operator)
    assert action_names(client.get(case_url(case))) == {"assign", "request_extension"}

    case = services.case_submit_reply(case=case, actor=heping.handler, **FIVE_PARTS)
    client.force_login(heping.reviewer)
    response = client.get(case_url(case))
    assert action_names(response) == {"approve", "return"}
    text = response.content.decode()
    # The reply under review is shown with its five parts.
    for label in (
        "被举报对象基本情况",
        "现场检查及核实情况",
        "存在的环境违法问题",
        "环保部门处理意见",
        "与举报人沟通答复情况",
    ):
        assert label in text
    assert FIVE_PARTS["decision"] in text
    assert "tag-submitted" in text


def test_city_centre_may_supervise_a_district_case(client: Client, heping, make_user, make_case) -> None:
    case = advance(make_case("和平区"), heping, "handling")
    city_head = make_user("head", district_name=None)
    client.force_login(city_head)
    assert action_names(client.get(case_url(case))) == {"supervise"}


def test_closed_case_shows_full_timeline(client: Client, heping, make_case) -> None:
    case = advance(make_case("和平区"), heping, "closed")
    client.force_login(heping.operator)
    response = client.get(case_url(case))
    text = response.content.decode()
    assert "已办结" in text and "查处办结" in text
    actions = re.findall(r"timeline-item timeline-([a-z_]+)", text)
    assert actions == ["receive", "accept", "assign", "submit_reply", "approve"]
    assert "待批转 → 办理中" in text
    assert heping.department.name in text
    assert "已审核同意" in text
    assert action_names(response) == set()


def test_provisional_deadline_warning(client: Client, heping, make_case) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    import time_machine

    # A year chinesecalendar does not know and no administrator has entered.
    with time_machine.travel(dt.datetime(2099, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        case = make_case("和平区")
        client.force_login(heping.operator)
        text = client.get(case_url(case)).content.decode()
    assert case.deadline_provisional
    assert "该期限所在年份的法定节假日安排尚未录入，期限为暂定" in text
    assert not CalendarYear.objects.filter(year=2099).exists()


def test_closed_case_has_no_provisional_warning(client: Client, heping, make_case) -> None:
    """Issue 12, D11: the warning showed on closed cases, whose deadline no longer matters."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    import time_machine

    with time_machine.travel(dt.datetime(2099, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        case = advance(
            make_case("和平区", description="河道里全是死鱼，上游那家厂子肯定有问题"), heping, "closed"
        )
        client.force_login(heping.operator)
        text = client.get(case_url(case)).content.decode()
    assert case.deadline_provisional and case.state == "closed"
    assert "期限为暂定" not in text and "已办结" in text


def test_unknown_case_is_404(client: Client, heping) -> None:
    client.force_login(heping.operator)
    assert client.get(reverse("workbench:case", args=["TJ20990101000001"])).status_code == 404


@pytest.mark.parametrize("events", [0, 12])
def test_case_page_query_count_is_exact(
    client: Client, heping, make_case, events, django_assert_num_queries
) -> None:
    case = advance(make_case("和平区"), heping, "handling")
    for i in range(events):
        services.case_assign(
            case=case, actor=heping.operator, department=heping.department, note=f"第{i}次批转"
        )
        note_add(user=heping.handler, case=case, body=f"第{i}次跟进：企业负责人电话没人接")
    client.force_login(heping.operator)
    with django_assert_num_queries(21):  # the same with no event or note as with a dozen of each
        response = client.get(case_url(case))
    assert response.status_code == 200
    assert response.content.decode().count("timeline-item ") == 3 + events
    assert response.content.decode().count('class="note"') == events
