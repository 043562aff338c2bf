"""Excel and PDF exports hold the same figures as the report; the PDF renders with Chinese text."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from eco12369.stats import exports, services
from eco12369.stats.models import MonthlyReport

from .conftest import EXPECTED, MARCH, Scenario, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(scenario: Scenario) -> MonthlyReport:
    p = scenario.people
    with at(2025, 4, 2, 10):
        r = services.monthly_report_generate(actor=p.op, region=scenario.hp, month=MARCH)
        return services.monthly_report_edit_analysis(
            actor=p.op, report=r, analysis="本月接收举报8件，水污染问题集中在南京路一带。"
        )


@pytest.fixture
def city_report(scenario: Scenario) -> MonthlyReport:
    with at(2025, 4, 2, 10):
        return services.monthly_report_generate(
            actor=scenario.people.city_op, region=scenario.city, month=MARCH
        )


def download(client: Client, user, report: MonthlyReport, name: str) -> bytes:
    client.force_login(user)
    with at(2025, 4, 2, 12):
        response = client.get(reverse(name, args=[report.region.code, report.month_obj.key]))
    assert response.status_code == 200, response.content[:500]
    assert "attachment" in response["Content-Disposition"]
    return b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]


def sheet_dict(ws, key_col: int = 1, value_col: int = 2, start: int = 2) -> dict:
    return {
        row[key_col - 1]: row[value_col - 1]
        for row in ws.iter_rows(min_row=start, values_only=True)
        if row[key_col - 1] is not None
    }


def test_excel_has_one_sheet_per_table_with_chinese_headers_and_the_same_figures(
    scenario: Scenario, report: MonthlyReport, client: Client
) -> None:
    data = download(client, scenario.people.op, report, "stats:export_excel")
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == [
        "概况",
        "确认与办结",
        "按类型",
        "按污染类别",
        "按渠道",
        "确认结果",
        "当前状态",
        "办结方式",
        "退单",  # issue 15: returns per handling department
        "被举报对象前十",
        "举报地点前十",
        "分析说明",
    ]
    overview = wb["概况"]
    assert overview["A1"].value == "和平区2025年3月12369环保举报办理情况月报"
    assert [c.value for c in overview[4]] == [
        "指标",
        "单位",
        "本月",
        "上月",
        "环比增减",
        "环比（%）",
        "去年同月",
        "同比增减",
        "同比（%）",
    ]
    main = {row[0]: row for row in overview.iter_rows(min_row=5, values_only=True)}
    assert main["接收举报件"][2:5] == (8, 2, 6) and main["接收举报件"][5] == 300.0
    assert main["接收举报件"][6:9] == (1, 7, 700.0)
    assert main["按期确认率"][2:5] == (71.4, 100.0, -28.6)
    assert main["平均办理天数"][2] == 15.0

    detail = sheet_dict(wb["确认与办结"])
    assert detail["本月接收举报件"] == EXPECTED["received"]
    assert detail["其中按期确认"] == EXPECTED["confirmed_on_time"]
    assert detail["按期办结率"] == EXPECTED["close_rate"]
    assert detail["查实存在环境违法问题"] == EXPECTED["substantiated"]
    assert detail["月末逾期未确认"] == 1 and detail["月末逾期未办结（已受理）"] == 1
    assert (detail["批准延期"], detail["批准延期天数合计"]) == (1, 10)

    assert [c.value for c in wb["按污染类别"][1]] == ["项目", "件数", "占比（%）"]
    category = sheet_dict(wb["按污染类别"])
    assert category == {"大气": 3, "水": 2, "噪声": 1, "危险废物": 1, "其他": 1, "合计": 8}
    assert sheet_dict(wb["确认结果"]) == {
        "受理": 3,
        "直接答复": 1,
        "移交其他部门": 1,
        "重复举报": 1,
        "举报人撤回": 0,
        "答复或移交待审核": 0,
        "尚未确认": 2,
        "合计": 8,
    }
    assert sheet_dict(wb["办结方式"]) == {
        "查处办结": 3,
        "直接答复": 1,
        "移交其他部门": 1,
        "重复举报": 1,
        "举报人撤回": 0,
        "合计": 6,
    }
    parties = list(wb["被举报对象前十"].iter_rows(min_row=1, values_only=True))
    assert parties == [
        ("排名", "被举报对象", "举报件数"),
        (1, "甲化工厂", 3),
        (2, "乙工地", 2),
        (3, "丙公司", 1),
    ]
    assert wb["分析说明"]["A2"].value.startswith("本月接收举报8件")


def test_city_excel_has_the_districts_side_by_side(
    scenario: Scenario, city_report: MonthlyReport, client: Client
) -> None:
    data = download(client, scenario.people.city_op, city_report, "stats:export_excel")
    ws = load_workbook(io.BytesIO(data))["各区对比"]
    rows = {row[0]: row for row in ws.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 17
    assert rows["和平区"][1:3] == (8, 6) and rows["河东区"][1] == 1 and rows["全市合计"][1] == 10


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} not installed: apt-get install poppler-utils (scripts/test does it)")
    return path


def test_pdf_renders_with_chinese_text_and_charts(
    scenario: Scenario, report: MonthlyReport, city_report: MonthlyReport, client: Client, tmp_path: Path
) -> None:
    assert exports.pdf_problem() is None, exports.pdf_problem()
    data = download(client, scenario.people.op, report, "stats:export_pdf")
    assert data.startswith(b"%PDF")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(
        [_need("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for phrase in (
        "和平区2025年3月12369环保举报办理情况月报",
        "按期确认率",
        "71.4",
        "甲化工厂",
        "本月接收举报8件",
        "污染类别",
    ):
        assert phrase in text, phrase
    subprocess.run([_need("pdftoppm"), "-png", "-r", "60", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages and all(p.stat().st_size > 5000 for p in pages)
    # The city report has one more chart (districts) and still renders.
    city = download(client, scenario.people.city_op, city_report, "stats:export_pdf")
    assert city.startswith(b"%PDF") and len(city) > 10000


def test_without_a_cjk_font_the_pdf_export_says_so(
    scenario: Scenario, report: MonthlyReport, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "cjk_fonts", lambda: ())
    client.force_login(scenario.people.op)
    with at(2025, 4, 2, 12):
        page = client.get(reverse("stats:report", args=[report.region.code, MARCH.key]))
        response = client.get(reverse("stats:export_pdf", args=[report.region.code, MARCH.key]))
    assert "服务器未安装中文字体" in page.content.decode()
    assert response.status_code == 503
    assert (
        "服务器未安装中文字体" in response.content.decode() and "fonts-noto-cjk" in response.content.decode()
    )
