"""Public disclosure (Art. 13): only approved monthly reports are published; the closed cases are listed
without any personal data, and the reported party only for substantiated violations."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from eco12369.stats import services
from eco12369.stats.figures import Month
from eco12369.stats.models import MonthlyReport

from .conftest import MARCH, REPORTER_NAME, REPORTER_OPENID, REPORTER_PHONE, Scenario, at

pytestmark = pytest.mark.django_db


def approved(
    s: Scenario, *, region: str = "hp", month: Month = MARCH, analysis: str = "本月情况。"
) -> MonthlyReport:
    p = s.people
    op, head = {"hp": (p.op, p.head), "hd": (p.op_hd, p.head_hd), "city": (p.city_op, p.city_head)}[region]
    with at(2025, 4, 2, 10):
        r = services.monthly_report_generate(actor=op, region=getattr(s, region), month=month)
        r = services.monthly_report_edit_analysis(actor=op, report=r, analysis=analysis)
        r = services.monthly_report_send_for_approval(actor=op, report=r)
        return services.monthly_report_approve(actor=head, report=r)


def case_item(html: str, number: str) -> str:
    """The list item of one case on the public page."""
    match = re.search(rf'<li class="pub-case">((?:(?!</li>\s*<li).)*?{number}.*?)</li>', html, re.S)
    assert match, f"{number} not listed"
    return match.group(1)


def test_only_approved_reports_are_published(scenario: Scenario, client: Client) -> None:
    p = scenario.people
    with at(2025, 4, 2, 10):
        draft = services.monthly_report_generate(actor=p.op_hd, region=scenario.hd, month=MARCH)
        services.monthly_report_generate(actor=p.op, region=scenario.hp, month=Month(2025, 2))
    assert client.get(reverse("disclosure:month", args=["2025-03"])).status_code == 404
    assert "暂无已公开的月报" in client.get(reverse("disclosure:index")).content.decode()

    services.monthly_report_edit_analysis(actor=p.op_hd, report=draft, analysis="待审批")
    services.monthly_report_send_for_approval(actor=p.op_hd, report=draft)  # pending is not published either
    assert client.get(reverse("disclosure:month", args=["2025-03"])).status_code == 404

    approved(scenario)
    index = client.get(reverse("disclosure:index")).content.decode()
    assert "2025年3月" in index and "2025年2月" not in index
    assert client.get(reverse("disclosure:month", args=["2025-02"])).status_code == 404
    page = client.get(reverse("disclosure:month", args=["2025-03"]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "和平区" in html and "河东某厂" not in html  # 河东区's report is still pending: none of its cases
    assert "待审批" not in html
    assert reverse("disclosure:month", args=["2025-03"]) in index


def test_public_page_shows_no_personal_data_and_names_only_substantiated_parties(
    scenario: Scenario, client: Client, django_assert_num_queries
) -> None:
    approved(scenario, analysis=f"本月接收举报8件。如有疑问请联系{REPORTER_PHONE}。")
    with django_assert_num_queries(4):
        response = client.get(reverse("disclosure:month", args=["2025-03"]))
    html = response.content.decode()
    for secret in (REPORTER_NAME, REPORTER_PHONE, REPORTER_OPENID, "openid", "13812345678"):
        assert secret not in html, secret
    c = scenario.cases
    # Closed in March in 和平区: C1, C2, C3, C4, C5 and C10; never the open ones.
    for key in ("C1", "C2", "C3", "C4", "C5", "C10"):
        case_item(html, c[key].number)
    for key in ("C6", "C7", "C8", "C9", "C13", "C14"):
        assert c[key].number not in html, key
    c1 = case_item(html, c["C1"].number)  # substantiated: party, place, violation and decision (scrubbed)
    assert "甲化工厂" in c1 and "和平区南京路1号" in c1 and "超标排放废水" in c1 and "查实违法" in c1
    assert "责令停产整改" in c1 and "＊＊" in c1
    c10 = case_item(html, c["C10"].number)  # "无证排污…" is a violation even though it starts with 无
    assert "己公司" in c10 and "查实违法" in c10
    c2 = case_item(html, c["C2"].number)  # handled, "未发现环境违法问题": the party is not named
    assert "甲化工厂" not in c2 and "南京路" not in c2 and "查实违法" not in c2 and "查处办结" in c2
    assert "乙工地" not in html and "滨江道" not in html  # C4 handed over, C7 open
    assert "丙公司" not in html and "大沽路" not in html  # C6 open
    # The staff-only top lists are not public either.
    assert "被举报对象前十" not in html and "举报地点前十" not in html


def test_city_and_districts_figures_and_chart_data(scenario: Scenario, client: Client) -> None:
    approved(scenario)
    approved(scenario, region="hd")
    approved(scenario, region="city", analysis="全市汇总分析。")
    html = client.get(reverse("disclosure:month", args=["2025-03"])).content.decode()
    assert "天津市（全市）" in html and "全市汇总分析" in html
    assert 'id="chart-districts"' in html and 'id="chart-category"' in html
    data = re.search(r'<script id="disclosure-data" type="application/json">(.*?)</script>', html, re.S)
    assert data
    import json

    chart = json.loads(data.group(1))
    assert chart["districts"]["names"] == ["和平区", "河东区"]
    assert chart["districts"]["received"] == [8, 1]
    assert {r["name"]: r["value"] for r in chart["category"]}["大气"] == 4  # the city report: C2, C6, C8, C13
    filtered = client.get(
        reverse("disclosure:month", args=["2025-03"]), {"district": scenario.hd.code}
    ).content.decode()
    assert scenario.cases["C1"].number not in filtered  # 河东区 only: C13 is not closed, so no cases
    assert "本月没有已办结的举报件" in filtered


def test_public_page_without_the_city_report_sums_the_published_districts(
    scenario: Scenario, client: Client
) -> None:
    approved(scenario)
    approved(scenario, region="hd")
    html = client.get(reverse("disclosure:month", args=["2025-03"])).content.decode()
    assert "已公开各区合计" in html
    kpi = re.search(r"接收举报件</div>\s*<div class=\"pub-kpi-value\">(\d+)", html)
    assert kpi and kpi.group(1) == "9"


def test_bad_months_are_not_found(client: Client, db: None) -> None:
    assert client.get("/disclosure/2025-13/").status_code == 404
    assert client.get("/disclosure/xx/").status_code == 404
