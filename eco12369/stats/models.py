"""Monthly reports (月报, Art. 13): a snapshot of a region's figures for one month, with its workflow.

draft (草稿) ──send_for_approval──▶ pending (待审批) ──approve──▶ approved (已批准, published)
  ▲  operator generates,               │ head of the same bureau        │ operator or head
  │  regenerates, writes analysis      └──return (with a note)──▶ draft ▼
                                                                 submitted (已报送市中心)

A district bureau reports its district; the city centre reports the whole city (and does not
submit it anywhere: approval is its last step). Approved and submitted reports are public.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from eco12369.orgs.models import Region

from .figures import Month, MonthlyFigures


class MonthlyReport(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PENDING = "pending", _("待负责人审批")
        APPROVED = "approved", _("已批准")
        SUBMITTED = "submitted", _("已报送市中心")

    PUBLISHED_STATUSES = (Status.APPROVED, Status.SUBMITTED)

    region = models.ForeignKey(
        Region, verbose_name=_("行政区"), on_delete=models.PROTECT, related_name="monthly_reports"
    )
    month = models.DateField(_("月份"), help_text=_("该月第一天"))
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    figures = models.JSONField(_("统计数据"), default=dict)
    analysis = models.TextField(_("分析说明"), blank=True)
    generated_at = models.DateTimeField(_("生成时间"))
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("生成人"), on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("批准人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("报送时间"), null=True, blank=True)
    return_note = models.TextField(_("退回意见"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("月报")
        verbose_name_plural = _("月报")
        ordering = ["-month", "region__code"]
        constraints = [
            models.UniqueConstraint(fields=["region", "month"], name="monthly_report_region_month")
        ]
        indexes = [models.Index(fields=["status", "month"], name="monthly_report_status_month")]

    def __str__(self) -> str:
        return f"{self.region.name}{self.month_obj.label}月报"

    @property
    def month_obj(self) -> Month:
        return Month.of(self.month)

    @property
    def is_published(self) -> bool:
        return self.status in self.PUBLISHED_STATUSES

    @property
    def is_city(self) -> bool:
        return self.region.level == Region.Level.CITY

    def snapshot(self) -> MonthlyFigures:
        return MonthlyFigures.from_json(self.figures)


class MonthlyReportEvent(models.Model):
    """One line of a report's history: who did what, when, from which status to which."""

    report = models.ForeignKey(MonthlyReport, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("操作"), max_length=30)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), on_delete=models.PROTECT)
    at = models.DateTimeField(_("时间"))
    from_status = models.CharField(
        _("原状态"), max_length=20, choices=MonthlyReport.Status.choices, blank=True
    )
    to_status = models.CharField(_("新状态"), max_length=20, choices=MonthlyReport.Status.choices)
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("月报记录")
        verbose_name_plural = _("月报记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.report_id} {self.action}"

    ACTION_LABELS: dict[str, Any] = {
        "generate": "生成月报",
        "regenerate": "重新生成数据",
        "edit_analysis": "修改分析说明",
        "send_for_approval": "提交负责人审批",
        "return": "退回修改",
        "approve": "批准并公开",
        "submit": "报送市举报受理中心",
    }

    @property
    def action_label(self) -> str:
        return str(self.ACTION_LABELS.get(self.action, self.action))


class RollupCount(models.Model):
    """A row of a dashboard rollup (``stats.rollups``): the number of cases in ``region`` that share the
    subclass's other key columns (its unique constraint names them with ``region``)."""

    region = models.ForeignKey(Region, verbose_name=_("所属区"), on_delete=models.CASCADE, related_name="+")
    count = models.IntegerField(_("件数"), default=0)

    class Meta:
        abstract = True


class DailyCaseCount(RollupCount):
    """The dashboard's intake rollup (issue 15): how many of the cases received on ``day`` (Asia/Shanghai)
    are now in ``region`` with ``category`` and ``channel``. Written by ``stats.rollups`` from the
    ``cases.hooks.on_case_changed`` hook (case_create and every transition, in their transaction: a
    re-route moves a case to another region's row, an acceptance may change its category), rebuilt from
    the cases by ``manage.py stats_rollups_rebuild``. The dashboard reads these rows, never the cases."""

    day = models.DateField(_("接收日期"))
    category = models.CharField(_("污染类别"), max_length=20)
    channel = models.CharField(_("渠道"), max_length=20)

    class Meta:
        verbose_name = _("每日接收统计")
        verbose_name_plural = _("每日接收统计")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "region", "category", "channel"], name="daily_case_count_key"
            )
        ]
        indexes = [models.Index(fields=["region", "day"], name="daily_case_count_region_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.region_id} {self.category} {self.channel}: {self.count}"


class MonthlyCaseCount(RollupCount):
    """``DailyCaseCount`` by month (``month`` is its first day): what the month's figures and the 12-month
    trend read, a few hundred rows a month whatever the number of cases. Kept like ``DailyCaseCount``."""

    month = models.DateField(_("月份"))
    category = models.CharField(_("污染类别"), max_length=20)
    channel = models.CharField(_("渠道"), max_length=20)

    class Meta:
        verbose_name = _("每月接收统计")
        verbose_name_plural = _("每月接收统计")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "region", "category", "channel"], name="monthly_case_count_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.region_id} {self.category} {self.channel}: {self.count}"


class MonthlyGridCount(RollupCount):
    """The dashboard map's points (issue 15): cases received in ``month`` (its first day) with a location,
    per region and grid cell of ``GRID_DEGREES`` (``lat_cell = floor(latitude / GRID_DEGREES)``): the
    clustering is this grid, kept up to date like ``DailyCaseCount``."""

    month = models.DateField(_("月份"))
    lat_cell = models.IntegerField()
    lon_cell = models.IntegerField()

    class Meta:
        verbose_name = _("每月位置网格统计")
        verbose_name_plural = _("每月位置网格统计")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "region", "lat_cell", "lon_cell"], name="monthly_grid_count_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.region_id} ({self.lat_cell}, {self.lon_cell}): {self.count}"
