"""Demo monthly reports (Art. 13): the last two full months for 和平区, 滨海新区 and the city, generated,
analysed, approved and (districts) submitted through the real services, so the disclosure page has data."""

from __future__ import annotations

import datetime as dt

import time_machine

from eco12369.orgs.models import Region, User
from eco12369.stats.figures import Month
from eco12369.stats.models import MonthlyReport
from eco12369.stats.services import (
    monthly_report_approve,
    monthly_report_edit_analysis,
    monthly_report_generate,
    monthly_report_send_for_approval,
    monthly_report_submit,
)

REPORTING = [("和平区", "heping"), ("滨海新区", "binhai"), (None, "city")]


def _analysis(place: str, month: Month) -> str:
    return (
        f"{month.year}年{month.month}月，{place}通过“12369”环保微信举报平台共接收举报件见上表。"
        "群众反映问题以工业企业废气异味、夜间施工及生产噪声为主，水污染和危险废物类举报相对较少。"
        "全部举报件均在2个工作日内完成确认，超期件已逐件督办。下月将加强对重复举报企业的专项检查，"
        "并对延期办理件的进展进行跟踪。"
    )


def demo_monthly_reports(*, months: int = 2) -> int:
    """Publish the last ``months`` full months; months that already have a report are left alone."""
    chosen = [Month.current().previous()]
    while len(chosen) < months:
        chosen.insert(0, chosen[0].previous())
    made = 0
    for month in chosen:
        for district, slug in REPORTING:
            region = (
                Region.objects.get(name=district) if district else Region.objects.get(level=Region.Level.CITY)
            )
            if MonthlyReport.objects.filter(region=region, month=month.first_day).exists():
                continue
            operator = User.objects.get(username=f"{slug}_operator")
            head = User.objects.get(username=f"{slug}_head")
            moment = month.end + dt.timedelta(days=3, hours=2)
            with time_machine.travel(moment, tick=False):
                report = monthly_report_generate(actor=operator, region=region, month=month)
                report = monthly_report_edit_analysis(
                    actor=operator, report=report, analysis=_analysis(district or "全市", month)
                )
                report = monthly_report_send_for_approval(actor=operator, report=report)
            with time_machine.travel(moment + dt.timedelta(days=1), tick=False):
                report = monthly_report_approve(actor=head, report=report)
                if district:
                    monthly_report_submit(actor=operator, report=report)
            made += 1
    return made
