"""The audit log as the auditor reads it (issue 12, D4): Chinese event names, readable details, people by
name, filters by labelled choices and dates, one-line timestamps, an Excel export whose cells never become
formulas, and each case's whole trail one click away."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from openpyxl import load_workbook

from eco12369.audit.models import AuditEntry
from eco12369.audit.services import audit_record
from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.orgs.models import User

pytestmark = pytest.mark.django_db


@dataclass
class Trail:
    operator: User
    case: Case
    other: Case
    auditor: User


@pytest.fixture
def trail(make_user: Callable[..., User], make_case: Callable[..., Case]) -> Trail:
    operator = make_user("operator", district_name="和平区", display_name="李小燕")
    case = make_case("和平区", description="小区旁边的洗车店污水直接往雨水井里倒，一股怪味")
    other = make_case("和平区", description="工地晚上十一点还在施工，噪音扰民")
    services.case_accept(case=case, actor=operator)
    services.case_accept(case=other, actor=operator)
    audit_record(action="login", actor=operator, object_type="user", object_id=operator.pk)
    audit_record(
        action="login_failed", actor_label='=HYPERLINK("http://x.example/","点我")', object_type="user"
    )
    auditor = make_user("auditor", district_name=None, display_name="审计员王")
    return Trail(operator=operator, case=case, other=other, auditor=auditor)


def table(client: Client, query: str = "") -> str:
    text = client.get("/audit/" + query).content.decode()
    match = re.search(r"<tbody>(.*?)</tbody>", text, re.S)
    assert match
    return match.group(1)


def test_events_details_and_objects_are_readable(client: Client, trail: Trail) -> None:
    client.force_login(trail.auditor)
    rows = table(client)
    assert "受理" in rows and "登录" in rows and "接收举报" in rows
    assert "原状态：待确认" in rows and "新状态：待批转" in rows
    operator = trail.operator
    assert f"李小燕（{operator.username}）" in rows
    for raw in ("case.accept", "case.receive", "audit_view", "{&#x27;", "{'", "user 2"):
        assert raw not in rows
    assert re.search(r'<td class="nowrap">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>', rows)


def test_filters_by_labelled_event_object_and_dates(client: Client, trail: Trail) -> None:
    client.force_login(trail.auditor)
    page = client.get("/audit/").content.decode()
    assert re.search(r'<option value="case.accept">受理</option>', page)
    assert '<input type="date" name="start"' in page and "<label" in page
    accepted = table(client, "?action=case.accept")
    assert accepted.count("<tr>") == 2 and "登录" not in accepted
    case = trail.case
    one = table(client, f"?object={case.number}")
    assert "接收举报" in one and "受理" in one and trail.other.number not in one
    assert f'href="?object={case.number}"' in table(client)
    assert "没有符合条件的记录" in table(client, "?start=2001-01-01&end=2001-01-31")
    wrong = client.get("/audit/?start=2026-05-01&end=2026-04-01").content.decode()
    assert "起始日期不能晚于截止日期" in wrong


def test_excel_export_is_text_only_and_audited(client: Client, trail: Trail) -> None:
    client.force_login(trail.auditor)
    response = client.get("/audit/export.xlsx?action=login_failed")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(response.content)).active
    assert ws is not None
    header = [c.value for c in ws[1]]
    assert header[:4] == ["编号", "时间", "账号", "事件"]
    cell = ws.cell(row=2, column=3)
    assert cell.value.startswith("=HYPERLINK") and cell.data_type == "s" and cell.quotePrefix
    assert ws.cell(row=2, column=4).value == "登录失败"
    assert ws.max_row == 2
    assert AuditEntry.objects.filter(action="audit_export", actor=trail.auditor).exists()


def test_export_is_the_auditors_only(client: Client, make_user: Callable[..., User]) -> None:
    client.force_login(make_user("admin", district_name=None))
    response = client.get("/audit/export.xlsx")
    assert response.status_code == 403
    assert "只有安全审计员可以查看审计日志。" in response.content.decode()
