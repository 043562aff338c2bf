"""Forwarded cases (转办): the file the national 12369 platform or the city's 12345 hotline sends, read row by
row into intakes with each row's errors, and our replies written back in the same template.

The template (``TEMPLATE_COLUMNS``, downloadable as Excel with a sheet that documents every column and the
category mapping) is one header row, then one case per row. CSV (UTF-8, with or without BOM, or GB18030 as
Excel saves it in China) and Excel (.xlsx) are read. Columns are found by their header, in any order;
unknown columns are ignored. Nothing here writes to the database: ``rows_read`` is the preview, the import
(``services.forwarded_import``) creates the cases of the rows without errors.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from eco12369.cases.classify import guess_category
from eco12369.cases.models import Case, Category, Channel, Kind, Source
from eco12369.cases.services import Intake
from eco12369.orgs.geo import region_at
from eco12369.orgs.models import Region
from eco12369.sheets import sheet_row

MAX_ROWS = 20_000
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool
    doc: str


TEMPLATE_COLUMNS: tuple[Column, ...] = (
    Column(
        "来源编号",
        "external_number",
        True,
        "转办平台的案件编号，每个来源内唯一；再次导入同一编号不会重复建件",
    ),
    Column(
        "转办时间",
        "forwarded_at",
        True,
        "转到本中心的时间；确认期限（2个工作日）从此时起算。格式如 2026-12-01 09:30、2026/12/1 9:30、2026年12月1日9时30分",
    ),
    Column("举报类型", "kind", False, "举报、咨询、建议、其他；空白按“举报”"),
    Column(
        "来源类别",
        "category",
        False,
        "转办平台的问题分类，按“类别对照”表对应到本平台的污染类别；对照表中没有的按举报内容推断",
    ),
    Column(
        "所在区",
        "district",
        False,
        "天津市的区名（如“和平区”“滨海新区”）；空白时按经纬度判断，仍无法判断的由市举报受理中心确认",
    ),
    Column("被举报对象", "reported_party", False, "最多200字"),
    Column("地址", "address", False, "最多300字"),
    Column("经度", "longitude", False, "GCJ-02 坐标，如 117.2150"),
    Column("纬度", "latitude", False, "GCJ-02 坐标，如 39.1172"),
    Column("发生时间", "occurred_at", False, "格式同转办时间"),
    Column("举报内容", "description", True, "最多4000字"),
    Column("举报人姓名", "reporter_name", False, "保密，加密保存"),
    Column("举报人电话", "reporter_phone", False, "保密，加密保存"),
    Column("是否匿名", "anonymous", False, "是/否；“是”时不保存姓名和电话"),
)
# The reply columns added to the template when our answers are exported back (``replies_workbook``).
REPLY_COLUMNS: tuple[Column, ...] = (
    Column("本平台编号", "number", False, "本平台的举报件编号"),
    Column("办理状态", "status", False, "本平台的办理状态"),
    Column("办结时间", "closed_at", False, ""),
    Column("答复意见", "reply", False, "经审核同意的答复意见"),
)
BY_HEADER = {column.header: column for column in TEMPLATE_COLUMNS}

# The forwarding platforms' categories → ours. The national platform files by pollution type, 12345 by
# "subject-matter" paths; both are matched on the label's words, so 大气污染 and 环境保护-大气污染 agree.
CATEGORY_MAP: tuple[tuple[str, str], ...] = (
    ("大气", Category.AIR),
    ("废气", Category.AIR),
    ("油烟", Category.AIR),
    ("扬尘", Category.AIR),
    ("异味", Category.AIR),
    ("恶臭", Category.AIR),
    ("水污染", Category.WATER),
    ("水环境", Category.WATER),
    ("废水", Category.WATER),
    ("污水", Category.WATER),
    ("噪声", Category.NOISE),
    ("噪音", Category.NOISE),
    ("扰民", Category.NOISE),
    ("危险废物", Category.HAZARDOUS_WASTE),
    ("危废", Category.HAZARDOUS_WASTE),
    ("医疗废物", Category.HAZARDOUS_WASTE),
    ("固体废物", Category.OTHER),
    ("固废", Category.OTHER),
    ("辐射", Category.OTHER),
    ("生态", Category.OTHER),
    ("土壤", Category.OTHER),
    ("其他", Category.OTHER),
)
KIND_LABELS = {str(label): value for value, label in Kind.choices} | {"投诉": Kind.REPORT, "求助": Kind.OTHER}
YES = {"是", "匿名", "y", "yes", "true", "1", "√"}
NO = {"", "否", "实名", "n", "no", "false", "0"}

MAX_DESCRIPTION = 4000
MAX_PARTY = 200
MAX_ADDRESS = 300
MAX_NAME = 50
MAX_PHONE = 30
MAX_EXTERNAL = 64


def category_for(label: str, description: str) -> tuple[str, str]:
    """Our category for the sender's ``label`` and how it was found (a note for the preview)."""
    text = (label or "").strip()
    for word, category in CATEGORY_MAP:
        if word in text:
            return str(category), ""
    guessed = guess_category(description)
    if text:
        return guessed, f"来源类别“{text[:20]}”不在对照表中，按举报内容归为“{Category(guessed).label}”"
    return guessed, ""


# ------------------------------------------------------------------------------------------ dates
_DATE_PATTERNS = (
    re.compile(
        r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
        r"(?:\s*[T ]?\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})?\s*分?(?:\s*[:：]\s*(?P<S>\d{1,2})\s*秒?)?)?$"
    ),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?)?$"),
)


def parse_time(value: Any) -> dt.datetime | None:
    """A time as people write it (or an Excel date cell), in Asia/Shanghai; None when it is not one."""
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, dt.date):
        return timezone.make_aware(dt.datetime(value.year, value.month, value.day))
    text = str(value or "").strip().replace("\u3000", " ")
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match is None:
            continue
        parts = {k: int(v) for k, v in match.groupdict().items() if v}
        try:
            naive = dt.datetime(
                parts["y"], parts["m"], parts["d"], parts.get("H", 0), parts.get("M", 0), parts.get("S", 0)
            )
        except ValueError:
            return None
        return timezone.make_aware(naive)
    return None


# ------------------------------------------------------------------------------------------ reading
@dataclass
class Row:
    """One row of the file: its number in the file (the header is row 1), what it says, and its problems."""

    line: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    intake: Intake | None = None
    existing: str = ""  # our number when the external number was imported before

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def status(self) -> str:
        if self.errors:
            return "error"
        return "exists" if self.existing else "new"


class FileUnreadable(ValueError):
    """The file is not a readable CSV or Excel file of the template; ``message`` says why (Chinese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _table(data: bytes, name: str) -> Iterator[list[Any]]:
    if len(data) > MAX_BYTES:
        raise FileUnreadable(f"文件超过{MAX_BYTES // 1024 // 1024}MB，请分批导入。")
    if data[:2] == b"PK":
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise FileUnreadable("Excel 文件无法读取，请用模板另存为 .xlsx 后再上传。") from exc
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [_cell(v) for v in values]
        book.close()
        return
    if name.lower().endswith((".xls", ".xlsx")) or b"\x00" in data[:1024]:
        raise FileUnreadable("只支持 .xlsx 或 .csv 文件（旧版 .xls 请另存为 .xlsx）。")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileUnreadable("CSV 文件的编码无法识别，请保存为 UTF-8 或 GBK 编码。")
    for values in csv.reader(io.StringIO(text, newline="")):
        yield [v.strip() for v in values]


def rows_read(*, data: bytes, name: str, source: str, now: dt.datetime | None = None) -> list[Row]:
    """Every data row of the file with its intake (rows without errors) or its errors. Writes nothing;
    looks up the districts and the external numbers already imported (one query for all of them)."""
    now = now or timezone.now()
    table = _table(data, name)
    header = next(table, None)
    if not header:
        raise FileUnreadable("文件是空的。")
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        column = BY_HEADER.get(str(title or "").strip().lstrip("\ufeff").rstrip("*"))
        if column is not None and column.key not in positions:
            positions[column.key] = index
    missing = [c.header for c in TEMPLATE_COLUMNS if c.required and c.key not in positions]
    if missing:
        raise FileUnreadable(f"第1行缺少必填列：{'、'.join(missing)}。请使用下载的模板。")
    districts = {r.name: r for r in Region.objects.filter(level=Region.Level.DISTRICT)}
    rows: list[Row] = []
    for line, values in enumerate(table, start=2):
        if not any(str(v).strip() for v in values if not isinstance(v, dt.date)) and not any(
            isinstance(v, dt.date) for v in values
        ):
            continue  # blank line
        if len(rows) >= MAX_ROWS:
            raise FileUnreadable(f"一次最多导入{MAX_ROWS}行，请分批导入。")
        raw = {key: values[i] if i < len(values) else "" for key, i in positions.items()}
        rows.append(_row(line, raw, source=source, districts=districts, now=now))
    _mark_repeats(rows, source)
    return rows


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key, "")
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    return str(value or "").strip()


def _row(
    line: int, raw: dict[str, Any], *, source: str, districts: dict[str, Region], now: dt.datetime
) -> Row:
    row = Row(line=line, values={key: _text(raw, key) for key in raw})
    v = row.values
    errors = row.errors
    external = v.get("external_number", "")
    if not external:
        errors.append("缺少来源编号")
    elif len(external) > MAX_EXTERNAL or not re.fullmatch(r"[\w\-/.#]+", external):
        errors.append("来源编号只能包含字母、数字和 - / . #，最多64位")
    forwarded_raw = raw.get("forwarded_at", "")
    forwarded = parse_time(forwarded_raw)
    if not _text(raw, "forwarded_at"):
        errors.append("缺少转办时间")
    elif forwarded is None:
        errors.append(f"转办时间“{_text(raw, 'forwarded_at')[:30]}”无法识别")
    elif forwarded > now + dt.timedelta(minutes=5):
        errors.append("转办时间晚于当前时间")
    occurred = None
    if v.get("occurred_at"):
        occurred = parse_time(raw.get("occurred_at"))
        if occurred is None:
            errors.append(f"发生时间“{v['occurred_at'][:30]}”无法识别")
        elif occurred > now + dt.timedelta(minutes=5):
            errors.append("发生时间晚于当前时间")
    description = v.get("description", "")
    if not description:
        errors.append("缺少举报内容")
    elif len(description) > MAX_DESCRIPTION:
        errors.append(f"举报内容超过{MAX_DESCRIPTION}字")
    for key, label, limit in (
        ("reported_party", "被举报对象", MAX_PARTY),
        ("address", "地址", MAX_ADDRESS),
        ("reporter_name", "举报人姓名", MAX_NAME),
        ("reporter_phone", "举报人电话", MAX_PHONE),
    ):
        if len(v.get(key, "")) > limit:
            errors.append(f"{label}超过{limit}字")
    phone = v.get("reporter_phone", "")
    if phone and not re.fullmatch(r"[\d\-+() 转]{5,30}", phone):
        errors.append("举报人电话格式不正确")
    kind_label = v.get("kind", "")
    kind = KIND_LABELS.get(kind_label or "举报")
    if kind is None:
        errors.append(f"举报类型“{kind_label[:10]}”应为举报、咨询、建议或其他")
    anonymous_label = v.get("anonymous", "").lower()
    if anonymous_label not in YES | NO:
        errors.append("是否匿名应填“是”或“否”")
    latitude = longitude = None
    if v.get("latitude") or v.get("longitude"):
        try:
            latitude = Decimal(v.get("latitude", "")).quantize(Decimal("0.000001"))
            longitude = Decimal(v.get("longitude", "")).quantize(Decimal("0.000001"))
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise InvalidOperation
        except InvalidOperation:
            errors.append("经纬度应为数字（经度如117.2150，纬度如39.1172）")
            latitude = longitude = None
    district_name = v.get("district", "")
    district = None
    if district_name:
        district = districts.get(district_name) or districts.get(district_name + "区")
        if district is None:
            errors.append(f"所在区“{district_name[:20]}”不是本市的区")
    elif latitude is not None:
        district = region_at(latitude, longitude)
        if district is not None:
            row.notes.append(f"按经纬度归属{district.name}")
    if district is None and not district_name:
        row.notes.append("未注明所在区，由市举报受理中心确认")
    category, note = category_for(v.get("category", ""), description)
    if note:
        row.notes.append(note)
    if errors:
        return row
    assert forwarded is not None and kind is not None
    row.intake = Intake(
        channel=Channel.FORWARDED,
        source=source,
        external_number=external,
        description=description,
        kind=kind,
        category=category,
        district=district,
        reported_party=v.get("reported_party", ""),
        address=v.get("address", ""),
        latitude=latitude,
        longitude=longitude,
        occurred_at=occurred,
        reporter_name=v.get("reporter_name", ""),
        reporter_phone=phone,
        anonymous=anonymous_label in YES,
        received_at=forwarded,
        channel_label=str(Source(source).label),
    )
    return row


def _mark_repeats(rows: list[Row], source: str) -> None:
    """A number twice in the file is an error on the second row; a number imported before is skipped."""
    seen: dict[str, int] = {}
    for row in rows:
        number = row.values.get("external_number", "")
        if not number:
            continue
        if number in seen:
            row.errors.append(f"来源编号与第{seen[number]}行重复")
            row.intake = None
        else:
            seen[number] = row.line
    numbers = [n for n in seen if n]
    known: dict[str, str] = {}
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        known.update(
            Case.objects.filter(source=source, external_number__in=chunk).values_list(
                "external_number", "number"
            )
        )
    for row in rows:
        if row.ok and row.values.get("external_number") in known:
            row.existing = known[row.values["external_number"]]


# ------------------------------------------------------------------------------------------ writing
def template_workbook() -> bytes:
    """The import template: the header row, two example rows, and a sheet documenting each column and the
    category mapping."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "转办案件"
    sheet_row(sheet, 1, [c.header + ("*" if c.required else "") for c in TEMPLATE_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    examples = (
        (
            "12369-2026-000123",
            "2026-12-01 09:30",
            "举报",
            "大气污染",
            "西青区",
            "天津某某化工有限公司",
            "西青区张家窝镇工业园",
            "",
            "",
            "2026/11/30 22:00",
            "夜里工厂烟囱冒黑烟，气味刺鼻。",
            "",
            "",
            "是",
        ),
        (
            "12345-TJ-88017",
            "2026年12月1日 10时05分",
            "投诉",
            "环境保护-噪声扰民",
            "",
            "某建筑工地",
            "南开区鞍山西道附近",
            "117.1730",
            "39.1250",
            "",
            "工地夜间施工到凌晨两点。",
            "王**",
            "138****5678",
            "否",
        ),
    )
    for index, example in enumerate(examples, start=2):
        sheet_row(sheet, index, list(example))
    for column_cells in sheet.columns:
        sheet.column_dimensions[column_cells[0].column_letter].width = 18
    doc = book.create_sheet("填写说明")
    sheet_row(doc, 1, ["列名", "必填", "说明"])
    for index, column in enumerate(TEMPLATE_COLUMNS, start=2):
        sheet_row(doc, index, [column.header, "是" if column.required else "", column.doc])
    mapping = book.create_sheet("类别对照")
    sheet_row(mapping, 1, ["来源类别包含", "本平台污染类别"])
    for index, (word, category) in enumerate(CATEGORY_MAP, start=2):
        sheet_row(mapping, index, [word, str(Category(category).label)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def replies_workbook(cases: Iterable[Case]) -> bytes:
    """Our replies to forwarded cases, in the import template plus the reply columns. The reporter's name
    and phone are left empty (the forwarding platform holds them); every cell is text, never a formula."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "办理结果"
    sheet_row(sheet, 1, [c.header for c in TEMPLATE_COLUMNS + REPLY_COLUMNS])
    for index, case in enumerate(cases, start=2):
        replies = getattr(case, "approved_replies", [])
        reply = replies[-1] if replies else None
        values = {
            "external_number": case.external_number,
            "forwarded_at": f"{timezone.localtime(case.received_at):%Y-%m-%d %H:%M}",
            "kind": str(case.get_kind_display()),
            "category": str(case.get_category_display()),
            "district": case.region.name if case.region.level == Region.Level.DISTRICT else "",
            "reported_party": case.reported_party,
            "address": case.address,
            "longitude": str(case.longitude or ""),
            "latitude": str(case.latitude or ""),
            "occurred_at": f"{timezone.localtime(case.occurred_at):%Y-%m-%d %H:%M}"
            if case.occurred_at
            else "",
            "description": case.description,
            "reporter_name": "",
            "reporter_phone": "",
            "anonymous": "是" if case.anonymous else "否",
            "number": case.number,
            "status": str(case.get_outcome_display() if case.outcome else case.get_state_display()),
            "closed_at": f"{timezone.localtime(case.closed_at):%Y-%m-%d %H:%M}" if case.closed_at else "",
            "reply": reply.public_text() if reply is not None else "",
        }
        sheet_row(sheet, index, [values[c.key] for c in TEMPLATE_COLUMNS + REPLY_COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
