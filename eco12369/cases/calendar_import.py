"""Import of a year's holiday notice as a table (issue 15, item 6): the 国务院办公厅 notice's days, pasted
from a spreadsheet or a document, or uploaded as CSV, one row a date (or a range) with 上班 or 休息.

``calendar_table_read`` reads the table and writes nothing: each row with its errors, in Chinese, and every
day of the year whose working-day status the import would change, against what the platform uses today
(the built-in calendar, or the year entered before). ``calendar_import_confirm`` enters the year through
``services.calendar_year_enter`` (the one way a year is entered: its overrides replaced, open deadlines
recomputed), audited, and only for a table without errors.

Rows look like the notice's own words, in any of these forms::

    日期,安排,说明                       (a header row is skipped)
    2027-01-01,休息,元旦
    2027年2月6日至2027年2月13日	休息	春节   (a range, tab-separated as pasted from a spreadsheet)
    2月20日 上班 春节调休                  (no year: the year being imported)
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record

from .deadlines import WorkCalendar
from .models import CalendarYear
from .services import calendar_year_enter

WEEKDAYS = "一二三四五六日"
MAX_ROWS = 400
MAX_CHARS = 40_000
REST_WORDS = ("休息", "放假", "休息日", "休", "假")
WORK_WORDS = ("上班", "调休上班", "工作日", "补班", "班")
_DATE = re.compile(r"(?:(\d{4})\s*[-./年]\s*)?(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?")
_RANGE_END_DAY = re.compile(r"(?:至|到|~|～|—|－)\s*(\d{1,2})\s*日")
_RANGE_WORDS = re.compile(r"至|到|~|～|—|－")


@dataclass
class TableRow:
    line: int
    text: str
    days: list[dt.date] = field(default_factory=list)
    workday: bool | None = None
    note: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        if not self.days:
            return ""
        if len(self.days) == 1:
            return self.days[0].isoformat()
        return f"{self.days[0].isoformat()} 至 {self.days[-1].isoformat()}（{len(self.days)}天）"


@dataclass(frozen=True)
class DayChange:
    day: dt.date
    before: bool
    after: bool
    note: str

    @property
    def weekday(self) -> str:
        return f"周{WEEKDAYS[self.day.weekday()]}"


@dataclass
class CalendarTable:
    year: int
    rows: list[TableRow]
    holidays: dict[dt.date, str]
    workdays: dict[dt.date, str]
    changes: list[DayChange]
    entered_before: bool
    errors: list[str] = field(default_factory=list)  # of the whole table

    @property
    def bad_rows(self) -> list[TableRow]:
        return [r for r in self.rows if r.errors]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.bad_rows and bool(self.holidays or self.workdays)


def _cells(line: str) -> list[str]:
    if "\t" in line:
        cells = line.split("\t")
    elif "," in line or "，" in line:
        cells = next(csv.reader([line.replace("，", ",")]))
    else:
        cells = re.split(r"\s+", line)
    return [c.strip() for c in cells if c.strip()]


def _dates(text: str, year: int, row: TableRow) -> list[dt.date]:
    found: list[dt.date] = []
    for y, m, d in _DATE.findall(text):
        try:
            found.append(dt.date(int(y) if y else year, int(m), int(d)))
        except ValueError:
            row.errors.append(f"日期不存在：{text}")
            return []
    end_day = _RANGE_END_DAY.search(text)
    if len(found) == 1 and end_day and _RANGE_WORDS.search(text):  # 2月6日至13日
        try:
            found.append(found[0].replace(day=int(end_day.group(1))))
        except ValueError:
            row.errors.append(f"日期不存在：{text}")
            return []
    return found


def _kind(cell: str) -> bool | None:
    word = cell.replace(" ", "")
    if word in WORK_WORDS or "上班" in word:
        return True
    if word in REST_WORDS or "休息" in word or "放假" in word:
        return False
    return None


def _row_read(number: int, line: str, year: int) -> TableRow | None:
    """One row of the table; ``None`` for a header row."""
    row = TableRow(line=number, text=line.strip())
    cells = _cells(line)
    date_cell = next((c for c in cells if _DATE.search(c)), None)
    if date_cell is None:
        if number == 1 or "日期" in line:
            return None  # the header (日期, 安排, 说明)
        row.errors.append("没有可识别的日期，应为如 2027-01-01 或 2027年1月1日。")
        return row
    others = [c for c in cells if c is not date_cell]
    kinds = [(c, _kind(c)) for c in others]
    status = [k for c, k in kinds if k is not None]
    row.note = " ".join(c for c, k in kinds if k is None)[:100]
    if not status:
        row.errors.append("没有注明“上班”或“休息”。")
    elif len(set(status)) > 1:
        row.errors.append("同一行既写了“上班”又写了“休息”。")
    else:
        row.workday = status[0]
    dates = _dates(date_cell, year, row)
    if row.errors and not dates:
        return row
    if len(dates) > 2 or (len(dates) == 2 and not _RANGE_WORDS.search(date_cell)):
        row.errors.append("一行只能写一个日期，或“开始日期 至 结束日期”。")
        return row
    first, last = dates[0], dates[-1]
    if last < first:
        row.errors.append("结束日期早于开始日期。")
        return row
    if first.year != year or last.year != year:
        row.errors.append(f"日期不在{year}年内。")
        return row
    if (last - first).days > 31:
        row.errors.append("一段假期不会超过一个月，请检查日期。")
        return row
    row.days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    if row.workday:
        weekdays = [d for d in row.days if d.weekday() < 5]
        if weekdays:
            day = weekdays[0]
            row.errors.append(
                f"{day.isoformat()} 是周{WEEKDAYS[day.weekday()]}，本来就是工作日；调休上班只需填写周六、周日。"
            )
    return row


def calendar_table_read(text: str, *, year: int) -> CalendarTable:
    """The table read against ``year``: its rows with their errors and the changes it would make. Writes
    nothing (two queries: the year's current calendar)."""
    rows: list[TableRow] = []
    errors: list[str] = []
    lines = text.splitlines()
    if len(text) > MAX_CHARS or len(lines) > MAX_ROWS:
        errors.append(f"表格过大：最多{MAX_ROWS}行。一年的节假日安排通常不超过40行。")
        lines = lines[:MAX_ROWS]
    seen: dict[dt.date, TableRow] = {}
    holidays: dict[dt.date, str] = {}
    workdays: dict[dt.date, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        row = _row_read(number, line, year)
        if row is None:
            continue
        rows.append(row)
        for day in row.days:
            earlier = seen.get(day)
            if earlier is not None and earlier.workday != row.workday:
                row.errors.append(f"{day.isoformat()} 与第{earlier.line}行矛盾（一行“上班”、一行“休息”）。")
                break
            seen.setdefault(day, row)
        if not row.errors:
            target = workdays if row.workday else holidays
            for day in row.days:
                target[day] = row.note
    if not rows:
        errors.append("没有读到任何日期，请粘贴通知中的放假和调休上班日期。")
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    current = WorkCalendar(start, end)
    changes = []
    day = start
    while day <= end:
        after = day in workdays or (day.weekday() < 5 and day not in holidays)
        before = current.is_workday(day)
        if before != after:
            changes.append(DayChange(day, before, after, holidays.get(day) or workdays.get(day) or ""))
        day += dt.timedelta(days=1)
    return CalendarTable(
        year=year,
        rows=rows,
        holidays=holidays,
        workdays=workdays,
        changes=changes,
        entered_before=year in current.entered_years,
        errors=errors,
    )


class ImportRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def calendar_import_confirm(
    *, table: CalendarTable, actor: Any, note: str, source: str, request: HttpRequest | None = None
) -> CalendarYear:
    """Enter the table's year (only a table without errors), and write it to the audit trail."""
    if not table.ok:
        raise ImportRefused("表格中还有错误，请修改后重新预览，再确认导入。")
    with transaction.atomic():
        entry = calendar_year_enter(
            year=table.year,
            holidays=table.holidays,
            workdays=table.workdays,
            note=note,
            day_notes={**table.holidays, **table.workdays},
        )
        audit_record(
            action=AuditAction.CALENDAR_IMPORT,
            actor=actor,
            object_type="calendar_year",
            object_id=table.year,
            detail={
                "year": table.year,
                "note": note,
                "source": source,
                "rows": len(table.rows),
                "holidays": len(table.holidays),
                "workdays": len(table.workdays),
                "changed_days": [c.day.isoformat() for c in table.changes],
                "replaced_entry": table.entered_before,
            },
            request=request,
        )
    return entry
