"""The monthly report's workflow: generate → analysis → send for approval → approve (published) → submit to
the city centre; every status change checks role and agency, and every refusal is a Chinese message."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from eco12369.audit.models import AuditEntry
from eco12369.audit.services import audit_verify
from eco12369.cases.workflow import TransitionError
from eco12369.stats import services
from eco12369.stats.figures import Month
from eco12369.stats.models import MonthlyReport, MonthlyReportEvent
from eco12369.stats.selectors import monthly_reports_visible_to

from .conftest import EXPECTED, GENERATED_AT, MARCH, Scenario, at

pytestmark = pytest.mark.django_db
Status = MonthlyReport.Status


def refused(call, contains: str = "") -> str:
    with pytest.raises(services.ReportError) as caught:
        call()
    message = caught.value.message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    assert isinstance(caught.value, TransitionError)  # the workbench shows it like any refused action
    if contains:
        assert contains in message, message
    return message


def generated(s: Scenario) -> MonthlyReport:
    with at(2025, 4, 2, 10):
        return services.monthly_report_generate(actor=s.people.op, region=s.hp, month=MARCH)


def test_full_path_from_draft_to_submitted(scenario: Scenario) -> None:
    p = scenario.people
    report = generated(scenario)
    assert report.status == Status.DRAFT
    assert report.figures["headline"]["received"] == EXPECTED["received"]
    assert report.snapshot().as_of == GENERATED_AT
    refused(lambda: services.monthly_report_send_for_approval(actor=p.op, report=report), "分析说明")
    with at(2025, 4, 2, 11):
        report = services.monthly_report_edit_analysis(
            actor=p.op, report=report, analysis="  本月接收8件。  "
        )
        report = services.monthly_report_send_for_approval(actor=p.op, report=report)
    assert (report.status, report.analysis) == (Status.PENDING, "本月接收8件。")
    refused(
        lambda: services.monthly_report_edit_analysis(actor=p.op, report=report, analysis="x"), "待负责人审批"
    )
    with at(2025, 4, 3):
        report = services.monthly_report_return(actor=p.head, report=report, note="请补充逾期原因。")
    assert (report.status, report.return_note) == (Status.DRAFT, "请补充逾期原因。")
    with at(2025, 4, 3, 11):
        report = services.monthly_report_generate(
            actor=p.op, region=scenario.hp, month=MARCH
        )  # a draft again
        report = services.monthly_report_send_for_approval(actor=p.op, report=report)
        report = services.monthly_report_approve(actor=p.head, report=report, note="同意。")
    assert report.status == Status.APPROVED and report.approved_by == p.head and report.is_published
    refused(lambda: services.monthly_report_generate(actor=p.op, region=scenario.hp, month=MARCH), "已批准")
    with at(2025, 4, 4):
        report = services.monthly_report_submit(actor=p.op, report=report)
    assert report.status == Status.SUBMITTED and report.submitted_at is not None
    assert list(report.events.values_list("action", "from_status", "to_status")) == [
        ("generate", "", "draft"),
        ("edit_analysis", "draft", "draft"),
        ("send_for_approval", "draft", "pending"),
        ("return", "pending", "draft"),
        ("regenerate", "draft", "draft"),
        ("send_for_approval", "draft", "pending"),
        ("approve", "pending", "approved"),
        ("submit", "approved", "submitted"),
    ]


def test_every_report_action_is_in_the_audit_trail(scenario: Scenario) -> None:
    p = scenario.people
    report = generated(scenario)
    with at(2025, 4, 2, 11):
        report = services.monthly_report_edit_analysis(actor=p.op, report=report, analysis="分析")
        report = services.monthly_report_send_for_approval(actor=p.op, report=report)
        report = services.monthly_report_return(actor=p.head, report=report, note="请补充。")
        report = services.monthly_report_send_for_approval(actor=p.op, report=report)
        report = services.monthly_report_approve(actor=p.head, report=report)
        before = AuditEntry.objects.count()
        refused(lambda: services.monthly_report_submit(actor=p.op_hd, report=report))  # another district
        assert AuditEntry.objects.count() == before  # a refused action leaves no entry
        report = services.monthly_report_submit(actor=p.head, report=report)
    entries = AuditEntry.objects.filter(object_type="monthly_report", object_id=f"{scenario.hp.code}/2025-03")
    assert [(e.action, e.actor_id, e.detail["from"], e.detail["to"]) for e in entries.order_by("id")] == [
        ("monthly_report.generate", p.op.pk, "", "draft"),
        ("monthly_report.edit_analysis", p.op.pk, "draft", "draft"),
        ("monthly_report.send_for_approval", p.op.pk, "draft", "pending"),
        ("monthly_report.return", p.head.pk, "pending", "draft"),
        ("monthly_report.send_for_approval", p.op.pk, "draft", "pending"),
        ("monthly_report.approve", p.head.pk, "pending", "approved"),
        ("monthly_report.submit", p.head.pk, "approved", "submitted"),
    ]
    assert audit_verify().ok


def test_wrong_role_or_wrong_agency_is_refused_and_changes_nothing(scenario: Scenario) -> None:
    p = scenario.people
    with at(2025, 4, 2, 10):
        refused(
            lambda: services.monthly_report_generate(actor=p.op_hd, region=scenario.hp, month=MARCH), "和平区"
        )
        refused(
            lambda: services.monthly_report_generate(actor=p.head, region=scenario.hp, month=MARCH),
            "平台操作人员",
        )
        refused(lambda: services.monthly_report_generate(actor=p.city_op, region=scenario.hp, month=MARCH))
        refused(lambda: services.monthly_report_generate(actor=p.op, region=scenario.city, month=MARCH))
        refused(lambda: services.monthly_report_generate(actor=p.admin, region=scenario.hp, month=MARCH))
    report = generated(scenario)
    with at(2025, 4, 2, 11):
        refused(lambda: services.monthly_report_edit_analysis(actor=p.op_hd, report=report, analysis="篡改"))
        refused(
            lambda: services.monthly_report_edit_analysis(actor=p.handler, report=report, analysis="篡改")
        )
        services.monthly_report_edit_analysis(actor=p.op, report=report, analysis="分析")
        refused(
            lambda: services.monthly_report_send_for_approval(actor=p.head, report=report), "平台操作人员"
        )
        report = services.monthly_report_send_for_approval(actor=p.op, report=report)
        refused(lambda: services.monthly_report_approve(actor=p.op, report=report), "负责人")
        refused(lambda: services.monthly_report_approve(actor=p.head_hd, report=report), "和平区")
        refused(lambda: services.monthly_report_approve(actor=p.city_head, report=report), "和平区")
        refused(lambda: services.monthly_report_return(actor=p.head, report=report, note=" "), "退回意见")
        refused(lambda: services.monthly_report_submit(actor=p.op, report=report), "待负责人审批")
    fresh = MonthlyReport.objects.get(pk=report.pk)
    assert (fresh.status, fresh.analysis) == (Status.PENDING, "分析")
    assert MonthlyReportEvent.objects.filter(report=report).count() == 3


def test_a_month_that_has_not_ended_cannot_be_reported(scenario: Scenario) -> None:
    with at(2025, 3, 31, 23):
        refused(
            lambda: services.monthly_report_generate(
                actor=scenario.people.op, region=scenario.hp, month=MARCH
            ),
            "尚未结束",
        )
    assert not MonthlyReport.objects.exists()


def test_the_city_centre_reports_the_city_and_does_not_submit_it(scenario: Scenario) -> None:
    p = scenario.people
    with at(2025, 4, 2, 10):
        report = services.monthly_report_generate(actor=p.city_op, region=scenario.city, month=MARCH)
        services.monthly_report_edit_analysis(actor=p.city_op, report=report, analysis="全市情况")
        report = services.monthly_report_send_for_approval(actor=p.city_op, report=report)
        refused(lambda: services.monthly_report_approve(actor=p.head, report=report))
        report = services.monthly_report_approve(actor=p.city_head, report=report)
        refused(lambda: services.monthly_report_submit(actor=p.city_op, report=report), "无需报送")
    f = report.snapshot()
    assert f.is_city and f.headline.received == 10 and len(f.districts) == 16
    assert services.allowed_actions(user=p.city_op, report=report) == set()


def test_visibility_of_reports(scenario: Scenario) -> None:
    p = scenario.people
    hp = generated(scenario)
    with at(2025, 4, 2, 10):
        hd = services.monthly_report_generate(actor=p.op_hd, region=scenario.hd, month=MARCH)
    assert set(monthly_reports_visible_to(user=p.op)) == {hp}
    assert set(monthly_reports_visible_to(user=p.handler)) == {hp}
    assert set(monthly_reports_visible_to(user=p.op_hd)) == {hd}
    # A district's drafts, pending and approved reports are its own: the city sees them once submitted.
    assert set(monthly_reports_visible_to(user=p.city_op)) == set()
    with at(2025, 4, 2, 11):
        hp = services.monthly_report_edit_analysis(actor=p.op, report=hp, analysis="分析")
        hp = services.monthly_report_send_for_approval(actor=p.op, report=hp)
        assert set(monthly_reports_visible_to(user=p.city_op)) == set()
        hp = services.monthly_report_approve(actor=p.head, report=hp)
        assert set(monthly_reports_visible_to(user=p.city_op)) == set()
        hp = services.monthly_report_submit(actor=p.op, report=hp)
        city = services.monthly_report_generate(actor=p.city_op, region=scenario.city, month=MARCH)
    assert set(monthly_reports_visible_to(user=p.city_op)) == {hp, city}  # its own city report as a draft
    assert set(monthly_reports_visible_to(user=p.city_head)) == {hp, city}
    assert set(monthly_reports_visible_to(user=p.op_hd)) == {hd}
    assert set(monthly_reports_visible_to(user=p.admin)) == set()


# ----------------------------------------------------------------------------------------------- HTTP
def login(client: Client, user) -> Client:
    client.force_login(user)
    return client


def report_url(s: Scenario, name: str = "stats:report", *extra: str, code: str = "") -> str:
    return reverse(name, args=[code or s.hp.code, MARCH.key, *extra])


def test_district_operator_generates_through_the_page_and_cannot_see_another_district(
    scenario: Scenario, client: Client
) -> None:
    p = scenario.people
    login(client, p.op)
    with at(2025, 4, 2, 10):
        page = client.get(reverse("stats:monthly_list"))
        assert page.status_code == 200 and "生成月报" in page.content.decode()
        response = client.post(reverse("stats:generate"), {"month": MARCH.key})
    assert response.status_code == 302 and response["Location"] == report_url(scenario)
    with at(2025, 4, 2, 10):
        services.monthly_report_generate(actor=p.op_hd, region=scenario.hd, month=MARCH)
        detail = client.get(report_url(scenario))
        other = client.get(report_url(scenario, code=scenario.hd.code))
        other_xlsx = client.get(report_url(scenario, "stats:export_excel", code=scenario.hd.code))
        other_post = client.post(
            report_url(scenario, "stats:action", "edit_analysis", code=scenario.hd.code), {"analysis": "x"}
        )
    html = detail.content.decode()
    assert detail.status_code == 200
    assert "和平区2025年3月12369环保举报办理情况月报" in html and "甲化工厂" in html
    assert (other.status_code, other_xlsx.status_code, other_post.status_code) == (404, 404, 404)
    assert MonthlyReport.objects.get(region=scenario.hd).analysis == ""


def test_actions_through_the_page_and_refusals_shown_in_chinese(scenario: Scenario, client: Client) -> None:
    p = scenario.people
    generated(scenario)
    with at(2025, 4, 2, 11):
        login(client, p.op)
        r = client.post(
            report_url(scenario, "stats:action", "send_for_approval"),
            {"analysis": "本月情况平稳。"},
            follow=True,
        )
        assert "已提交负责人审批" in r.content.decode()
        r = client.post(report_url(scenario, "stats:action", "approve"), follow=True)
        assert "您没有“负责人”权限" in r.content.decode()
        login(client, p.head)
        page = client.get(report_url(scenario)).content.decode()
        assert "批准（批准后向社会公开）" in page and "保存分析说明" not in page
        r = client.post(report_url(scenario, "stats:action", "approve"), {"note": "同意"}, follow=True)
        assert "月报已批准" in r.content.decode()
        r = client.post(report_url(scenario, "stats:action", "submit"), follow=True)
        assert client.post(report_url(scenario, "stats:action", "nonsense")).status_code == 404
    assert MonthlyReport.objects.get().status == Status.SUBMITTED


def submitted(s: Scenario) -> MonthlyReport:
    p = s.people
    report = generated(s)
    with at(2025, 4, 2, 11):
        report = services.monthly_report_edit_analysis(actor=p.op, report=report, analysis="本月情况平稳。")
        report = services.monthly_report_send_for_approval(actor=p.op, report=report)
        report = services.monthly_report_approve(actor=p.head, report=report)
        return services.monthly_report_submit(actor=p.op, report=report)


def district_row(html: str, name: str) -> str:
    """The side-by-side table's row of one district."""
    rows = [row for row in re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.S) if f">{name}<" in row]
    assert len(rows) == 1, rows
    return rows[0]


def test_city_centre_sees_all_districts_side_by_side_and_the_city_total(
    scenario: Scenario, client: Client
) -> None:
    p = scenario.people
    report = generated(scenario)
    login(client, p.city_op)
    with at(2025, 4, 5):
        draft_page = client.get(reverse("stats:monthly_list"), {"month": MARCH.key}).content.decode()
        draft_detail = client.get(report_url(scenario))
    # A draft is the district's own: the city sees "not submitted", no figures, no link, no report.
    assert "未报送" in district_row(draft_page, "和平区") and "草稿" not in draft_page
    assert reverse("stats:report", args=[scenario.hp.code, MARCH.key]) not in draft_page
    assert draft_detail.status_code == 404
    report = submitted(scenario)
    with at(2025, 4, 5):
        page = client.get(reverse("stats:monthly_list"), {"month": MARCH.key})
        detail = client.get(report_url(scenario))
        refused_post = client.post(
            report_url(scenario, "stats:action", "edit_analysis"), {"analysis": "市中心改写"}, follow=True
        )
    html = page.content.decode()
    assert page.status_code == 200 and "各区对比" in html and "全市合计" in html
    assert html.count("<tr>") >= 16 and "蓟州区" in html
    assert (
        reverse("stats:report", args=[scenario.hp.code, MARCH.key]) in html
    )  # link to the district's report
    assert "已报送市中心" in district_row(html, "和平区") and "已报送 1 / 16 个区" in html
    assert "未报送" in district_row(html, "河东区")
    assert detail.status_code == 200
    assert "您只能编辑本机构所辖区域的月报" in refused_post.content.decode()
    assert MonthlyReport.objects.get(pk=report.pk).analysis == "本月情况平稳。"


def test_the_side_by_side_table_shows_the_submitted_figures_not_later_data(
    scenario: Scenario, client: Client, make_case
) -> None:
    submitted(scenario)
    with at(2025, 3, 30):
        make_case(category="air", reported_party="后补厂")  # a March case of 和平区 after the submission
    login(client, scenario.people.city_op)
    with at(2025, 4, 5):
        html = client.get(reverse("stats:monthly_list"), {"month": MARCH.key}).content.decode()
        # The live city total comes after the page (htmx, with a progress line; issue 12, D10).
        assert "正在统计全市合计" in html and "part=city_total" in html
        total_row = client.get(reverse("stats:monthly_list"), {"month": MARCH.key, "part": "city_total"})
    row = district_row(html, "和平区")
    received = re.findall(r'<td class="num">(\d+)</td>', row)[0]
    assert received == str(EXPECTED["received"])  # 8 as submitted, though 9 March cases now exist
    total = district_row(total_row.content.decode(), "全市合计")
    assert re.findall(r'<td class="num">(\d+)</td>', total)[0] == "11"  # the city total is live: 10 + 1


def test_pages_need_login_and_a_case_role(scenario: Scenario, client: Client) -> None:
    generated(scenario)
    assert client.get(reverse("stats:monthly_list")).status_code == 302
    assert client.get(report_url(scenario)).status_code == 302
    login(client, scenario.people.admin)
    assert client.get(reverse("stats:monthly_list")).status_code == 403
    assert client.get(report_url(scenario)).status_code == 404


def test_generate_form_rejects_months_that_have_not_ended(scenario: Scenario, client: Client) -> None:
    login(client, scenario.people.op)
    with at(2025, 3, 20):
        r = client.post(reverse("stats:generate"), {"month": Month(2025, 3).key}, follow=True)
        # Issue 12, D12: the month's own message, never Django's "选择一个有效的选项".
        assert "只能选择已经结束的月份（最近24个月）。" in r.content.decode()
        assert "选择一个有效的选项" not in r.content.decode()
        empty = client.post(reverse("stats:generate"), {"month": ""}, follow=True).content.decode()
        assert "请选择月份。" in empty and "这个字段是必填项" not in empty
        typo = client.post(reverse("stats:generate"), {"month": "2025-二月"}, follow=True).content.decode()
        assert "月份格式不正确。" in typo
    assert not MonthlyReport.objects.exists()


def test_staff_pages_use_an_exact_number_of_queries(
    scenario: Scenario, client: Client, django_assert_num_queries
) -> None:
    generated(scenario)
    with at(2025, 4, 5):
        login(client, scenario.people.op)
        with django_assert_num_queries(9):  # the monthly report
            assert client.get(report_url(scenario)).status_code == 200
        with django_assert_num_queries(10):
            assert client.get(reverse("stats:monthly_list")).status_code == 200
        login(client, scenario.people.city_op)
        # 10: March has ended, so the district figures the operator's visit computed come from the cache
        # (stats.cache, issue 12 D10).
        with django_assert_num_queries(10):
            assert client.get(reverse("stats:monthly_list"), {"month": MARCH.key}).status_code == 200
