"""Exports of a monthly report: Excel (openpyxl, one sheet per table, Chinese headers) and PDF (WeasyPrint,
charts drawn on the server as SVG, Chinese text in an installed CJK font). Both use the stored snapshot,
so they hold exactly the figures shown on the report page.
"""

from __future__ import annotations

import functools
import io
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from eco12369.errors import Refused
from eco12369.sheets import sheet_put, sheet_text

from . import charts
from .figures import Headline, MonthlyFigures, Row, headline_rows
from .models import MonthlyReport

CJK_FONT_MISSING = (
    "服务器未安装中文字体，无法生成PDF（中文会显示为方块）。"
    "请系统管理员安装 fonts-noto-cjk 或 fonts-wqy-microhei 后重试；Excel 导出不受影响。"
)
PDF_LIBS_MISSING = (
    "服务器缺少生成PDF所需的系统库（Pango），无法生成PDF。"
    "请系统管理员安装 libpango-1.0-0 和 libpangoft2-1.0-0 后重试；Excel 导出不受影响。"
)


class ExportUnavailable(Refused):
    """The PDF cannot be made on this server; ``message`` says why (503: the server lacks a part)."""

    status = 503


def title_of(report: MonthlyReport) -> str:
    return f"{report.region.name}{report.month_obj.label}12369环保举报办理情况月报"


# --------------------------------------------------------------------------------------------- Excel
HEADER_FILL = PatternFill("solid", fgColor="E3EFE8")
HEADER_FONT = Font(bold=True, color="1F2933")
THIN = Side(style="thin", color="C7D0D9")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def _table(ws: Worksheet, headers: list[str], rows: list[list[Any]], *, start_row: int = 1) -> None:
    for col, header in enumerate(headers, start=1):
        cell = sheet_put(ws, start_row, col, header)
        cell.fill, cell.font, cell.border = HEADER_FILL, HEADER_FONT, BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, values in enumerate(rows, start=start_row + 1):
        for col, value in enumerate(values, start=1):
            cell = sheet_put(ws, r, col, value)
            cell.border = BORDER
            if isinstance(value, float):
                cell.number_format = "0.0"
    for col, header in enumerate(headers, start=1):
        longest = max([len(str(header))] + [len(str(v[col - 1])) for v in rows if v[col - 1] is not None])
        ws.column_dimensions[get_column_letter(col)].width = min(max(10, longest * 2 + 2), 60)
    ws.freeze_panes = ws.cell(row=start_row + 1, column=1)


def _share(rows: tuple[Row, ...]) -> list[list[Any]]:
    total = sum(r.count for r in rows)
    return [[r.label, r.count, round(100.0 * r.count / total, 1) if total else None] for r in rows] + [
        ["合计", total, 100.0 if total else None]
    ]


def headline_columns(h: Headline) -> list[Any]:
    return [
        h.received,
        h.confirmed,
        h.confirm_rate,
        h.closed,
        h.close_rate,
        h.substantiated,
        h.overdue_open,
        h.extensions,
        h.avg_handling_days,
        h.satisfaction_rate,
    ]


HEADLINE_COLUMNS = [
    "接收（件）",
    "确认（件）",
    "按期确认率（%）",
    "办结（件）",
    "按期办结率（%）",
    "查实违法（件）",
    "月末逾期（件）",
    "批准延期（次）",
    "平均办理天数",
    "回访满意率（%）",
]


def excel_bytes(report: MonthlyReport) -> bytes:
    f = report.snapshot()
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "概况"
    sheet_text(ws["A1"], title_of(report)).font = Font(bold=True, size=14)
    sheet_text(
        ws["A2"],
        f"状态：{report.get_status_display()}　数据截至：{timezone.localtime(f.as_of):%Y-%m-%d %H:%M}"
        f"　生成：{timezone.localtime(report.generated_at):%Y-%m-%d %H:%M}",
    )
    changes = f.changes()
    _table(
        ws,
        ["指标", "单位", "本月", "上月", "环比增减", "环比（%）", "去年同月", "同比增减", "同比（%）"],
        [
            [
                c.label,
                c.unit,
                c.current,
                c.previous,
                c.mom_delta,
                c.mom_pct,
                c.last_year,
                c.yoy_delta,
                c.yoy_pct,
            ]
            for c in changes
        ],
        start_row=4,
    )

    detail = wb.create_sheet("确认与办结")
    _table(
        detail,
        ["指标", "数值", "单位"],
        [[label, value, unit] for label, value, unit in headline_rows(f.headline)],
    )

    sheet_names = {
        "kind": "按类型",
        "category": "按污染类别",
        "channel": "按渠道",
        "confirmation": "确认结果",
        "state": "当前状态",
        "outcome": "办结方式",
        "sent_back": "退单",
    }
    for key, _title, rows in f.breakdowns():
        sheet = wb.create_sheet(sheet_names[key])
        _table(sheet, ["项目", "件数", "占比（%）"], _share(rows))

    parties = wb.create_sheet("被举报对象前十")
    _table(
        parties,
        ["排名", "被举报对象", "举报件数"],
        [[i, r.name, r.count] for i, r in enumerate(f.top_parties, 1)],
    )
    places = wb.create_sheet("举报地点前十")
    _table(
        places, ["排名", "地点", "举报件数"], [[i, r.name, r.count] for i, r in enumerate(f.top_places, 1)]
    )

    if f.is_city:
        districts = wb.create_sheet("各区对比")
        table = [[d.name, *headline_columns(d.headline)] for d in f.districts]
        table.append(["全市合计", *headline_columns(f.headline)])
        _table(districts, ["区", *HEADLINE_COLUMNS], table)

    analysis = wb.create_sheet("分析说明")
    sheet_text(analysis["A1"], "分析说明").font = HEADER_FONT
    sheet_text(analysis["A2"], report.analysis or "（未填写）").alignment = Alignment(
        wrap_text=True, vertical="top"
    )
    analysis.column_dimensions["A"].width = 100

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------- PDF
_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
_CJK_HINTS = (
    "cjk",
    "wqy",
    "sourcehan",
    "notosanssc",
    "notoserifsc",
    "simhei",
    "simsun",
    "msyh",
    "droidsansfallback",
)


@functools.cache
def cjk_fonts() -> tuple[str, ...]:
    """The CJK font families (or files) installed here; empty when there is none."""
    fc_list = shutil.which("fc-list")
    if fc_list:
        try:
            out = subprocess.run(
                [fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=10, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        families = sorted({line.split(",")[0].strip() for line in out.splitlines() if line.strip()})
        if families:
            return tuple(families)
    found = []
    for base in _FONT_DIRS:
        if base.is_dir():
            for path in base.rglob("*"):
                name = path.name.lower().replace("-", "").replace("_", "")
                if path.suffix.lower() in {".ttf", ".ttc", ".otf"} and any(h in name for h in _CJK_HINTS):
                    found.append(path.name)
    return tuple(sorted(found))


def pdf_problem() -> str | None:
    """Why a PDF cannot be made here (Chinese), or None when it can."""
    try:
        import weasyprint  # noqa: F401
    except OSError:
        return PDF_LIBS_MISSING
    if not cjk_fonts():
        return CJK_FONT_MISSING
    return None


def _pairs(rows: list[Any]) -> list[tuple[Any, Any]]:
    """[a, b, c, d, e] → [(a, b), (c, d), (e, None)]: two label/value pairs per table row."""
    padded = [*rows, None] if len(rows) % 2 else rows
    return list(zip(padded[::2], padded[1::2], strict=True))


def report_context(report: MonthlyReport) -> dict[str, Any]:
    """What the report page and the PDF show: the snapshot, its tables and its SVG charts."""
    f: MonthlyFigures = report.snapshot()
    charts_svg = {
        "category": charts.bar_chart(
            [(r.label, r.count) for r in f.by_category], title="污染类别", unit="件"
        ),
        "channel": charts.bar_chart(
            [(r.label, r.count) for r in f.by_channel], title="举报渠道", unit="件", color=charts.PALETTE[1]
        ),
        "confirmation": charts.bar_chart(
            [(r.label, r.count) for r in f.confirmation], title="确认结果", unit="件", color=charts.PALETTE[2]
        ),
        "outcome": charts.bar_chart(
            [(r.label, r.count) for r in f.by_outcome], title="办结方式", unit="件", color=charts.PALETTE[3]
        ),
    }
    if f.is_city and f.districts:
        charts_svg["districts"] = charts.grouped_bar_chart(
            [d.name for d in f.districts],
            [
                charts.Series("接收", [d.headline.received for d in f.districts], charts.PALETTE[0]),
                charts.Series("办结", [d.headline.closed for d in f.districts], charts.PALETTE[1]),
            ],
            title="各区接收与办结",
            width=680,
            bar=9,
        )
    return {
        "report": report,
        "title": title_of(report),
        "f": f,
        "changes": f.changes(),
        "detail_rows": headline_rows(f.headline),
        "detail_pairs": _pairs(headline_rows(f.headline)),
        "breakdowns": [(key, t, rows, sum(r.count for r in rows)) for key, t, rows in f.breakdowns()],
        "charts": charts_svg,
        "district_rows": [(d, headline_columns(d.headline)) for d in f.districts],
        "city_columns": headline_columns(f.headline),
        "headline_columns": HEADLINE_COLUMNS,
    }


def pdf_bytes(report: MonthlyReport) -> bytes:
    problem = pdf_problem()
    if problem is not None:
        raise ExportUnavailable(problem)
    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # its INFO lines are per-step progress noise
    context = report_context(report) | {"fonts": cjk_fonts(), "printed_at": timezone.localtime()}
    html = render_to_string("stats/report_pdf.html", context)
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]
