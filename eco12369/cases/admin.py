"""Django admin for the working-day calendar (DESIGN §4): the administrator corrects single days and
enters a year's official holiday notice when ``chinesecalendar`` does not know the year yet.

Deliberately absent: cases, replies, extensions, supervision orders, timelines, photos. The system
administrator sees no case content (separation of duties, DESIGN §1); staff work on cases in the
workbench, where every read is scoped to the user.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import chinese_calendar
from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from eco12369.formfields import FIRST_YEAR, LAST_YEAR
from eco12369.orgs.admin import SystemAdminOnly

from . import deadlines
from .models import CalendarYear, WorkdayOverride
from .services import calendar_year_enter, deadlines_recompute

WEEKDAYS = "一二三四五六日"
_DATE = re.compile(r"(\d{4})[-./年](\d{1,2})[-./月](\d{1,2})日?")


def parse_days(text: str, *, year: int, field_label: str) -> list[dt.date]:
    """One entry a line: ``2027-02-06`` or a range ``2027-02-06 至 2027-02-13``, optionally followed by
    the holiday's name. ``2027年2月6日`` and ``2027/2/6`` are accepted too. Empty lines are skipped."""
    days: list[dt.date] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        found = _DATE.findall(line)
        try:
            dates = [dt.date(int(y), int(m), int(d)) for y, m, d in found]
        except ValueError as exc:
            raise forms.ValidationError(f"{field_label}第{number}行的日期不存在：{line.strip()}") from exc
        if len(dates) not in (1, 2):
            raise forms.ValidationError(
                f"{field_label}第{number}行应为一个日期或“开始日期 至 结束日期”：{line.strip()}"
            )
        first, last = dates[0], dates[-1]
        if last < first:
            raise forms.ValidationError(f"{field_label}第{number}行的结束日期早于开始日期。")
        if first.year != year or last.year != year:
            raise forms.ValidationError(f"{field_label}第{number}行的日期不在{year}年内。")
        day = first
        while day <= last:
            days.append(day)
            day += dt.timedelta(days=1)
    return days


class CalendarYearForm(forms.ModelForm):
    holidays = forms.CharField(
        label="放假日期",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 60}),
        help_text=(
            "按国务院办公厅当年节假日安排通知逐行填写放假日期，每行一个日期或一个区间，可在后面注明节日，"
            "例如：2027-02-06 至 2027-02-13 春节。周末放假的日子可一并填写。"
        ),
    )
    workdays = forms.CharField(
        label="调休上班日期",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="逐行填写调休上班的周六、周日，例如：2027-02-20 春节调休上班。",
    )

    class Meta:
        model = CalendarYear
        fields = ["year", "note"]
        labels = {"note": "依据（通知文号）"}
        help_texts = {
            "year": (
                "录入后，该年的工作日以此处填写为准（周一至周五为工作日，扣除放假日期，加上调休上班日期），"
                "不再使用内置日历数据；该年的期限不再标注“暂定”。"
            ),
            "note": "例如：国办发明电〔2026〕X号",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            overrides = WorkdayOverride.objects.filter(date__year=self.instance.year).order_by("date")
            self.fields["holidays"].initial = "\n".join(
                f"{o.date.isoformat()} {o.note}".strip() for o in overrides if not o.is_workday
            )
            self.fields["workdays"].initial = "\n".join(
                f"{o.date.isoformat()} {o.note}".strip() for o in overrides if o.is_workday
            )

    def clean_year(self) -> int:
        year = int(self.cleaned_data["year"])
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise forms.ValidationError("请填写正确的年份。")
        return year

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        year = data.get("year")
        if year is None:
            return data
        holidays = parse_days(data.get("holidays", ""), year=year, field_label="放假日期")
        workdays = parse_days(data.get("workdays", ""), year=year, field_label="调休上班日期")
        both = sorted(set(holidays) & set(workdays))
        if both:
            raise forms.ValidationError(f"{both[0].isoformat()} 不能既是放假日又是调休上班日。")
        weekday_makeups = [d for d in workdays if d.weekday() < 5]
        if weekday_makeups:
            raise forms.ValidationError(
                f"{weekday_makeups[0].isoformat()} 是周{WEEKDAYS[weekday_makeups[0].weekday()]}，本来就是工作日，"
                "调休上班日期只需填写周六、周日。"
            )
        data["holiday_days"] = holidays
        data["workday_days"] = workdays
        return data


@admin.register(CalendarYear)
class CalendarYearAdmin(SystemAdminOnly, admin.ModelAdmin):
    form = CalendarYearForm
    list_display = ["year", "note", "holiday_count", "workday_count"]
    ordering = ["-year"]
    fields = ["year", "note", "holidays", "workdays"]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        year = timezone.localdate().year
        for unknown in deadlines.unknown_years(year, year + 1):
            messages.warning(
                request,
                f"{unknown}年的节假日安排尚未录入，内置日历也没有该年数据：涉及该年的办理期限按周末规则暂定计算。"
                "请在国务院办公厅发布通知后录入。",
            )
        return super().changelist_view(request, extra_context)

    @admin.display(description="放假天数")
    def holiday_count(self, obj: CalendarYear) -> int:
        return WorkdayOverride.objects.filter(date__year=obj.year, is_workday=False).count()

    @admin.display(description="调休上班天数")
    def workday_count(self, obj: CalendarYear) -> int:
        return WorkdayOverride.objects.filter(date__year=obj.year, is_workday=True).count()

    def save_model(self, request: HttpRequest, obj: CalendarYear, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change and "year" in form.changed_data:
            # The year itself changed: forget the old year's entry and its days.
            old = CalendarYear.objects.get(pk=obj.pk)
            WorkdayOverride.objects.filter(date__year=old.year).delete()
            old.delete()
            deadlines_recompute(since=dt.date(old.year, 1, 1))
        entry = calendar_year_enter(
            year=data["year"],
            holidays=data["holiday_days"],
            workdays=data["workday_days"],
            note=data.get("note", ""),
        )
        obj.pk = entry.pk
        messages.info(request, f"已录入{entry.year}年节假日安排，相关办理期限已重新计算。")

    def delete_model(self, request: HttpRequest, obj: CalendarYear) -> None:
        year = obj.year
        obj.delete()
        deadlines_recompute(since=dt.date(year, 1, 1))


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(SystemAdminOnly, admin.ModelAdmin):
    list_display = ["date", "weekday", "is_workday", "note", "official"]
    list_filter = ["is_workday"]
    date_hierarchy = "date"
    search_fields = ["note"]
    ordering = ["-date"]

    @admin.display(description="星期")
    def weekday(self, obj: WorkdayOverride) -> str:
        return f"周{WEEKDAYS[obj.date.weekday()]}"

    @admin.display(description="官方日历")
    def official(self, obj: WorkdayOverride) -> str:
        """What the built-in calendar says about the day, to make a correction visible."""
        try:
            return "工作日" if chinese_calendar.is_workday(obj.date) else "休息日"
        except NotImplementedError:
            return "未知（该年无内置数据）"

    def save_model(self, request: HttpRequest, obj: WorkdayOverride, form: Any, change: bool) -> None:
        since = obj.date
        if change and "date" in form.changed_data:
            since = min(since, WorkdayOverride.objects.get(pk=obj.pk).date)
        super().save_model(request, obj, form, change)
        deadlines_recompute(since=since)

    def delete_model(self, request: HttpRequest, obj: WorkdayOverride) -> None:
        day = obj.date
        super().delete_model(request, obj)
        deadlines_recompute(since=day)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        days = list(queryset.values_list("date", flat=True))
        super().delete_queryset(request, queryset)
        if days:
            deadlines_recompute(since=min(days))
