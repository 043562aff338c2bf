"""退单 (issue 15): the handling department returns a wrongly assigned case to the operators with a reason.
It is a transition of the one state machine: on the timeline and the audit trail, and counted per
department in the monthly report."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from eco12369.audit.models import AuditEntry
from eco12369.cases.models import Case, CaseEvent, State

from .conftest import MONDAY, advance

pytestmark = pytest.mark.django_db

REASON = "该地点位于河西区友谊路，不属本部门辖区；请改派<b>河西区</b>处理"


def send_back(client: Client, case: Case, reason: str):
    url = reverse("workbench:case_send_back", args=[case.number])
    return client.post(url, {"send_back-reason": reason})


@pytest.fixture
def assigned(heping, make_case) -> Case:
    with time_machine.travel(MONDAY, tick=False):
        case = make_case("和平区", category="noise", reported_party="某KTV", description="半夜唱歌扰民")
        return advance(case, heping, "handling")


def test_the_handling_department_sends_a_case_back_with_a_reason(client, heping, assigned) -> None:
    department = heping.department
    client.force_login(heping.handler)
    page = client.get(reverse("workbench:case", args=[assigned.number])).content.decode()
    assert "退单理由" in page
    response = send_back(client, assigned, REASON)
    assert response.status_code == 303
    case = Case.objects.get(pk=assigned.pk)
    assert case.state == State.ACCEPTED and case.department is None
    event = CaseEvent.objects.filter(case=case).latest("id")
    assert (event.action, event.actor, event.note) == ("send_back", heping.handler, REASON)
    assert event.data["department"] == department.name
    audit = AuditEntry.objects.filter(object_id=case.number).latest("id")
    assert "send_back" in audit.action
    # The operator sees it on the timeline (escaped), back in 待批转, and assigns it again.
    client.force_login(heping.operator)
    page = client.get(reverse("workbench:case", args=[case.number])).content.decode()
    assert "退单" in page and escape(REASON) in page and "<b>河西区</b>" not in page
    queue = client.get(reverse("workbench:queue_tab", args=["accepted"])).content.decode()
    assert case.number in queue


def test_send_back_needs_a_reason_and_the_assigned_department(client, heping, hexi, assigned, make_user):
    client.force_login(heping.handler)
    assert send_back(client, assigned, "   ").status_code in (200, 422)
    assert Case.objects.get(pk=assigned.pk).state == State.HANDLING
    # Another department of the same bureau, the operator and another district's handler cannot.
    other = heping.operator.agency.departments.exclude(pk=heping.department.pk).first()
    for user in (
        make_user("handler", district_name="和平区", department=other),
        heping.operator,
        hexi.handler,
    ):
        client.force_login(user)
        response = send_back(client, assigned, "不是我们的")
        assert response.status_code in (403, 404, 409, 422)
        assert Case.objects.get(pk=assigned.pk).state == State.HANDLING


def test_monthly_report_counts_send_backs_per_department(client, heping, make_case) -> None:
    with time_machine.travel(MONDAY, tick=False):
        cases = [
            advance(make_case("和平区", category="water", reported_party=party), heping, "handling")
            for party in ("某某印染厂", "XX食品公司", "***洗车行")
        ]
    with time_machine.travel(MONDAY + dt.timedelta(days=1), tick=False):
        client.force_login(heping.handler)
        for case in cases[:2]:
            assert send_back(client, case, "非本部门职责").status_code == 303
    with time_machine.travel(dt.datetime(2025, 4, 2, 10, tzinfo=MONDAY.tzinfo), tick=False):
        client.force_login(heping.operator)
        assert client.post(reverse("stats:generate"), {"month": "2025-03"}).status_code == 302
        code = heping.operator.agency.region.code
        page = client.get(reverse("stats:report", args=[code, "2025-03"])).content.decode()
    table = re.search(r"退单（本月，按承办部门）</h3>.*?</table>", page, re.S)
    assert table, "the monthly report has the 退单 table"
    row = re.search(
        rf"<td>[^<]*·{re.escape(heping.department.name)}</td><td class=\"num\">(\d+)<", table.group(0)
    )
    assert row and row.group(1) == "2"


def test_case_page_map_of_the_location(client, heping, make_case, make_user) -> None:
    from decimal import Decimal

    located = make_case(
        "和平区", latitude=Decimal("39.117000"), longitude=Decimal("117.203000"), address="南京路"
    )
    unlocated = make_case("和平区", address="不知道具体哪儿")
    client.force_login(heping.operator)
    page = client.get(reverse("workbench:case", args=[located.number])).content.decode()
    assert 'id="case-map"' in page and 'data-lng="117.203000"' in page and 'data-lat="39.117000"' in page
    assert "echarts.min.js" in page
    assert (
        'id="case-map"' not in client.get(reverse("workbench:case", args=[unlocated.number])).content.decode()
    )
    outlines = client.get(reverse("workbench:districts_geojson"))
    assert outlines.status_code == 200 and b"FeatureCollection" in b"".join(outlines.streaming_content)
    client.force_login(make_user("auditor", district_name=None))
    assert client.get(reverse("workbench:districts_geojson")).status_code == 404
