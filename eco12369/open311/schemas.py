"""Open311 schemas: what comes in (and its validation) and what goes out.

Each input schema's ``validated()`` checks the whole request in the order the API has always checked it and
raises ``Open311Error`` (status and Open311 description) on the first problem; the views only call it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone
from ninja import Field, Schema

from eco12369.cases.models import Channel
from eco12369.cases.services import Intake
from eco12369.orgs.geo import region_at

from . import selectors
from .catalogue import BY_CODE, SERVICES, Service
from .selectors import RequestsFilter

MAX_SPAN = dt.timedelta(days=90)
MAX_IDS = 20  # service_request_id values in one GET
MAX_DESCRIPTION = 4000
MAX_ADDRESS = 300  # Case.address
MAX_REPORTED_PARTY = 200  # Case.reported_party
MAX_NAME = MAX_PHONE = 200  # what the intake keeps of the reporter's name and phone


class Open311Error(Exception):
    """Answered as an Open311 error list with this HTTP status."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


# ------------------------------------------------------------------------------------------- checks
def jurisdiction_check(value: str | None) -> None:
    """GeoReport v2: jurisdiction_id is needed only where one endpoint serves several jurisdictions. We serve
    one, the city: it may be left out, but one given must be ours (the city's name or region code); any
    other is answered 404 as the spec says, never ignored."""
    if value is None or not value.strip():
        return
    ours = {settings.ECO["CITY_NAME"], *selectors.city_names()}
    if value.strip() not in ours:
        raise Open311Error(
            404,
            f"jurisdiction_id 不存在：{value}；本接口只服务{settings.ECO['CITY_NAME']}"
            f"（jurisdiction_id not found; this endpoint serves {'/'.join(sorted(ours))}）",
        )


def service_check(code: str) -> Service:
    service = BY_CODE.get(code)
    if service is None:
        raise Open311Error(404, f"service_code 不存在：{code}")
    return service


def _too_long(value: str, name: str, limit: int) -> None:
    if len(value) > limit:
        raise Open311Error(400, f"{name} 不得超过 {limit} 字（{name}: at most {limit} characters）")


def _parse_date(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name} 必须是 ISO 8601 时间，例如 2026-11-01T00:00:00+08:00") from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return _in_range(moment, name)


def _in_range(moment: dt.datetime, name: str) -> dt.datetime:
    """``moment`` if it is a moment in UTC too, where it is compared and stored: within hours of the
    calendar's ends (years 1 and 9999) it is not, and Python raises OverflowError."""
    try:
        moment.astimezone(dt.UTC)
    except OverflowError as exc:
        raise _out_of_range(name) from exc
    return moment


def _window_start(end: dt.datetime, name: str) -> dt.datetime:
    """The start of the longest window that ends at ``end``."""
    try:
        start = end - MAX_SPAN
    except OverflowError as exc:
        raise _out_of_range(name) from exc
    return _in_range(start, name)


def _out_of_range(name: str) -> Open311Error:
    return Open311Error(400, f"{name} 超出可用的时间范围（{name} is out of range）")


def _coordinates(lat: str | None, lng: str | None) -> tuple[Decimal | None, Decimal | None]:
    if bool(lat) != bool(lng):
        raise Open311Error(400, "lat 与 long 必须同时提供")
    if not (lat and lng):
        return None, None
    try:
        latitude = Decimal(lat).quantize(Decimal("0.000001"))
        longitude = Decimal(lng).quantize(Decimal("0.000001"))
    except InvalidOperation as exc:
        raise Open311Error(400, "lat/long 必须是数字") from exc
    if not (latitude.is_finite() and longitude.is_finite()):  # NaN: comparing it would raise
        raise Open311Error(400, "lat/long 必须是数字")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise Open311Error(400, "lat/long 超出范围")
    return latitude, longitude


# ------------------------------------------------------------------------------------------- output
class ErrorOut(Schema):
    code: int
    description: str


class EndpointOut(Schema):
    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class DiscoveryOut(Schema):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[EndpointOut]


class ServiceOut(Schema):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class ValueOut(Schema):
    key: str
    name: str


class AttributeOut(Schema):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[ValueOut]


class ServiceDefinitionOut(Schema):
    service_code: str
    attributes: list[AttributeOut]


class RequestOut(Schema):
    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class CreatedOut(Schema):
    service_request_id: str
    token: str
    query_code: str
    service_notice: str
    account_id: str | None


class TokenOut(Schema):
    service_request_id: str
    token: str


# -------------------------------------------------------------------------------------------- input
EXAMPLE_REQUEST: dict[str, Any] = {
    "service_code": "report_air",
    "lat": "39.1175",
    "long": "117.2103",
    "address_string": "和平区南京路100号",
    "description": "工厂烟囱冒黑烟，气味刺鼻。",
    "attribute[district]": "120101",
    "attribute[reported_party]": "天津某某化工有限公司",
    "attribute[occurred_at]": "2026-11-20T21:00:00+08:00",
}


class RequestIn(Schema):
    """The api_key field of the GeoReport v2 form is read by the security scheme ``api_key``."""

    service_code: str = Field("", json_schema_extra={"enum": [s.code for s in SERVICES]})
    jurisdiction_id: str | None = Field(None, description="可省略；如提供须为本市名称或行政区划代码")
    lat: str | None = None
    long: str | None = None
    address_string: str | None = Field(None, description=f"≤{MAX_ADDRESS}字")
    address_id: str | None = Field(None, description="不保存")
    email: str | None = Field(None, description="不保存（平台不以电子邮件联系举报人）")
    device_id: str | None = Field(None, description="不保存")
    account_id: str | None = Field(None, description="不保存，原样返回")
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = Field(None, description=f"≤{MAX_DESCRIPTION}字")
    media_url: str | None = Field(None, description="不接收：提供即答复 400（平台不下载外部链接的图片）")
    attribute_district: str | None = Field(None, alias="attribute[district]")
    attribute_reported_party: str | None = Field(
        None, alias="attribute[reported_party]", description=f"≤{MAX_REPORTED_PARTY}字"
    )
    attribute_occurred_at: str | None = Field(None, alias="attribute[occurred_at]", description="ISO 8601")

    def validated(self, *, channel_label: str) -> Intake:
        """The intake this request files for a partner channel (``channel_label``); Open311Error if any
        field is missing, refused, unknown or too long. email, device_id and address_id are not kept."""
        jurisdiction_check(self.jurisdiction_id)
        if self.media_url and self.media_url.strip():
            raise Open311Error(
                400,
                "本接口不接收 media_url（平台不下载外部链接的图片）；请去掉 media_url 后重新提交"
                "（media_url is not accepted: submit the request without it）",
            )
        if not self.service_code:
            raise Open311Error(400, "缺少 service_code")
        service = service_check(self.service_code)
        latitude, longitude = _coordinates(self.lat, self.long)
        address = (self.address_string or "").strip()
        if latitude is None and not address:
            raise Open311Error(400, "需要位置：lat 和 long，或 address_string")
        _too_long(address, "address_string", MAX_ADDRESS)
        description = (self.description or "").strip()
        if not description:
            raise Open311Error(400, "缺少 description")
        _too_long(description, "description", MAX_DESCRIPTION)
        reported_party = (self.attribute_reported_party or "").strip()
        _too_long(reported_party, "attribute[reported_party]", MAX_REPORTED_PARTY)
        occurred_at = _parse_date(self.attribute_occurred_at, "attribute[occurred_at]")
        if occurred_at is not None and occurred_at > timezone.now():
            raise Open311Error(
                400, "attribute[occurred_at] 不能晚于当前时间（attribute[occurred_at] is in the future）"
            )
        district = None
        if self.attribute_district:
            district = selectors.district_find(self.attribute_district)
            if district is None:
                raise Open311Error(400, "attribute[district] 不是有效的行政区划代码")
        elif latitude is not None:
            # Routed by the district outlines, as a WeChat location is (issue 14); outside the city: the centre.
            district = region_at(latitude, longitude)
        name = " ".join(p for p in ((self.last_name or "").strip(), (self.first_name or "").strip()) if p)
        _too_long(name, "first_name/last_name", MAX_NAME)
        phone = (self.phone or "").strip()
        _too_long(phone, "phone", MAX_PHONE)
        return Intake(
            channel=Channel.API,
            description=description,
            kind=service.kind,
            category=service.category,
            district=district,
            reported_party=reported_party,
            address=address,
            latitude=latitude,
            longitude=longitude,
            occurred_at=occurred_at,
            reporter_name=name,
            reporter_phone=phone,
            channel_label=channel_label,
        )


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class RequestsQuery(Schema):
    service_request_id: str | None = None
    query_code: str | None = None
    service_code: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    status: str | None = None
    jurisdiction_id: str | None = None

    def validated(self) -> RequestsFilter:
        """By number (a comma-separated list of at most MAX_IDS, with ``query_code`` the codes in the same
        order) nothing else applies. Otherwise the window: by default the last 90 days, one date given
        extends 90 days from it (never past now), at most 90 days apart."""
        jurisdiction_check(self.jurisdiction_id)
        if self.service_request_id:
            numbers = [n.upper() for n in _split(self.service_request_id)]
            if len(numbers) > MAX_IDS:
                raise Open311Error(
                    400,
                    f"一次最多查询{MAX_IDS}个 service_request_id（at most {MAX_IDS} ids per request）",
                )
            codes = _split(self.query_code)
            return RequestsFilter(numbers=numbers, codes=dict(zip(numbers, codes, strict=False)))
        end = _parse_date(self.end_date, "end_date")
        start = _parse_date(self.start_date, "start_date")
        now = timezone.now()
        if start is None and end is None:
            end = now
            start = end - MAX_SPAN
        elif start is None:
            assert end is not None
            start = _window_start(end, "end_date")
        elif end is None:
            if start > now:
                raise Open311Error(400, "start_date 不能晚于当前时间（start_date is in the future）")
            end = min(now, start + MAX_SPAN)
        if end < start:
            raise Open311Error(400, "end_date 不能早于 start_date（end_date is earlier than start_date）")
        if end - start > MAX_SPAN:
            raise Open311Error(
                400, "start_date 与 end_date 的间隔不得超过 90 天（at most 90 days between the dates）"
            )
        services: tuple[Service, ...] = ()
        if self.service_code:
            codes = [c.strip() for c in self.service_code.split(",") if c.strip()]
            unknown = [c for c in codes if c not in BY_CODE]
            if unknown:
                raise Open311Error(400, f"service_code 不存在：{'、'.join(unknown)}")
            services = tuple(BY_CODE[c] for c in codes)
        statuses: frozenset[str] = frozenset()
        if self.status:
            statuses = frozenset(s.strip() for s in self.status.split(",") if s.strip())
            if not statuses <= {"open", "closed"}:
                raise Open311Error(400, "status 只能是 open 或 closed")
        return RequestsFilter(numbers=None, start=start, end=end, services=services, statuses=statuses)


class JurisdictionQuery(Schema):
    jurisdiction_id: str | None = None

    def validated(self) -> None:
        jurisdiction_check(self.jurisdiction_id)


class RequestQuery(JurisdictionQuery):
    """One request by its number: ``query_code`` opens a case that is not in the public list."""

    query_code: str | None = None
