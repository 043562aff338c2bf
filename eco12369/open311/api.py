"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under /open311/v2/.

Every endpoint answers in JSON (``.json``) and XML (``.xml``); any other format or path gets an Open311
error list. The JSON operations are in the OpenAPI document (/open311/v2/openapi.json); the XML twins run
the same code. Only public fields leave this module: never the reporter's identity nor their own words.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja import Field, Form, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import APIKeyQuery

from eco12369.cases.models import Case, Channel, Outcome, State
from eco12369.cases.public import public_summary, reporter_secrets, scrub
from eco12369.cases.services import Intake
from eco12369.cases.workflow import TransitionError
from eco12369.middleware import refusal, utf8_problem
from eco12369.orgs.models import Region
from eco12369.stats.figures import substantiated_q

from .catalogue import BY_CODE, SERVICES, Service, service_for
from .models import ApiKey, RequestToken
from .services import api_key_check, request_create

DESCRIPTION = """12369 环保举报的 Open311 GeoReport v2 接口（http://wiki.open311.org/GeoReport_v2）。

- 格式：每个资源都有 `.json` 与 `.xml` 两种；其他格式（如 `.csv`）答复 400，未知资源答复 404，均为 Open311 错误列表。
- 提交举报（POST requests）需要接口密钥 `api_key`：按 GeoReport v2 放在表单字段中，也可放在查询参数 `?api_key=`。
  密钥由平台系统管理员签发。
- `jurisdiction_id` 可省略（本接口只服务一个辖区）；如提供，必须是本市的名称或行政区划代码，否则答复 404。
- 提交时接收并保存：service_code、description（≤4000字）、lat/long 或 address_string（≤300字）、
  attribute[district]、attribute[reported_party]（≤200字）、attribute[occurred_at]、first_name/last_name、phone
  （举报人信息保密，不对外公开）。超长的字段答复 400，不会被截断。
- 不保存：`email`（平台不以电子邮件联系举报人；答复中的 service_notice 会说明）、`device_id`、`address_id`；
  `account_id` 只原样返回。**不接收 `media_url`**（平台不下载外部链接的图片）：提交了 media_url 的请求答复 400。
- 查询举报（GET requests）公开的内容与月度公开一致：只列出已受理的举报，description 为公开摘要，address 为所在区，
  坐标精确到约1公里；查处属实并办结的举报公开地址。未受理的举报只能按编号查到编号、状态与服务类型。

Open311 GeoReport v2 for the 12369 channel. Other formats get 400, unknown resources 404 (error lists).
POST requests needs an api_key (form field, or ?api_key=). email, device_id and address_id are not stored;
media_url is refused (400). Over-long fields are refused (400), never cut."""

api = NinjaAPI(
    title="eco12369 Open311 GeoReport v2",
    version="v2",
    description=DESCRIPTION,
    urls_namespace="open311",
    docs_url="/docs",
)

MAX_RESULTS = 1000
MAX_SPAN = dt.timedelta(days=90)


# ------------------------------------------------------------------------------------------ schemas
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
    service_notice: str
    account_id: str | None


class TokenOut(Schema):
    service_request_id: str
    token: str


MAX_DESCRIPTION = 4000
MAX_ADDRESS = 300  # Case.address
MAX_REPORTED_PARTY = 200  # Case.reported_party
MAX_NAME = MAX_PHONE = 200  # what the intake keeps of the reporter's name and phone

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


class RequestsQuery(Schema):
    service_request_id: str | None = None
    service_code: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    status: str | None = None
    jurisdiction_id: str | None = None


class JurisdictionQuery(Schema):
    jurisdiction_id: str | None = None


# --------------------------------------------------------------------------------------- rendering
class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _fmt(request: HttpRequest) -> str:
    return "xml" if request.path.endswith(".xml") else "json"


def _xml_value(parent: ET.Element, name: str, value: Any) -> None:
    node = ET.SubElement(parent, name)
    if isinstance(value, list):
        child = name[:-1] if name.endswith("s") else "item"
        for item in value:
            _xml_fill(ET.SubElement(node, child), item) if isinstance(item, dict) else _xml_value(
                node, child, item
            )
    elif isinstance(value, dict):
        _xml_fill(node, value)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)


def _xml_fill(node: ET.Element, data: dict[str, Any]) -> None:
    for key, value in data.items():
        _xml_value(node, key, value)


def render(request: HttpRequest, data: Any, root: str, item: str, status: int = 200) -> HttpResponse:
    if _fmt(request) == "json":
        return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})
    top = ET.Element(root)
    for entry in data if isinstance(data, list) else [data]:
        _xml_fill(ET.SubElement(top, item) if item else top, entry)
    body = ET.tostring(top, encoding="unicode")
    return HttpResponse(
        '<?xml version="1.0" encoding="utf-8"?>' + body, status=status, content_type="text/xml; charset=utf-8"
    )


def error(request: HttpRequest, status: int, description: str) -> HttpResponse:
    return render(request, [{"code": status, "description": description}], "errors", "error", status)


@api.exception_handler(Open311Error)
def _open311_error(request: HttpRequest, exc: Open311Error) -> HttpResponse:
    return error(request, exc.status, exc.description)


@api.exception_handler(AuthenticationError)
def _no_key(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error(request, 403, "api_key 缺失或无效（api_key is missing or not valid）")


class Open311Key(APIKeyQuery):
    """A partner channel's key: the ``api_key`` field of the form body, as GeoReport v2 sends it, or the
    ``api_key`` query parameter. Authenticates to the ApiKey row (its channel); otherwise 403."""

    param_name = "api_key"
    openapi_description = "接口密钥：表单字段 api_key（GeoReport v2），或查询参数 ?api_key="

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.POST.get(self.param_name) or request.GET.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        return api_key_check(key=key or "")


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors)
    return error(request, 400, f"参数无效：{fields}")


# ------------------------------------------------------------------------------------------ helpers
def iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else timezone.localtime(moment).isoformat(timespec="seconds")


STATUS_NOTES = {
    Outcome.HANDLED: "已查处办结",
    Outcome.ANSWERED: "已答复",
    Outcome.HANDED_OVER: "已移交其他部门办理",
    Outcome.DUPLICATE: "重复举报，已合并办理",
}


def _listed() -> Q:
    """The cases the public list shows: those an operator accepted after confirming them (in scope, Art. 6,
    7), open or closed. Like the monthly disclosure (stats.selectors.public_cases), which publishes what the
    bureaus took on and never the reporter's own words, nothing unconfirmed is listed: a case still waiting
    for confirmation may be out of scope, a duplicate or handed over to another agency."""
    return Q(accepted_at__isnull=False) & ~Q(outcome=Outcome.DUPLICATE)


def _public_cases() -> QuerySet[Case]:
    return Case.objects.select_related("agency", "handover_agency", "region").annotate(
        listed=ExpressionWrapper(_listed(), output_field=BooleanField()),
        substantiated=ExpressionWrapper(substantiated_q(), output_field=BooleanField()),
    )


def _coarse(value: Decimal | None) -> float | None:
    """Two decimals (about 1 km): the neighbourhood, not the reporter's door."""
    return None if value is None else float(round(value, 2))


def request_data(case: Case) -> dict[str, Any]:
    """The public row of a case. A listed case (accepted) shows the public summary (never the reporter's
    description), its district as the address and coordinates to about 1 km; the address as written only
    when the disclosure shows it too (handled, violations found). Any other case, looked up by its number,
    shows only its number, status and service."""
    service = service_for(case.kind, case.category)
    notes = STATUS_NOTES.get(Outcome(case.outcome)) if case.outcome else str(State(case.state).label)
    if case.outcome == Outcome.HANDED_OVER and case.handover_agency is not None:
        notes = f"已移交{case.handover_agency.name}办理"
    row: dict[str, Any] = {
        "service_request_id": case.number,
        "status": "open" if case.is_open else "closed",
        "status_notes": notes,
        "service_name": service.name,
        "service_code": service.code,
        "description": "",
        "agency_responsible": "",
        "service_notice": None,
        "requested_datetime": iso(case.received_at),
        "updated_datetime": iso(case.updated_at),
        "expected_datetime": None,
        "address": "",
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }
    if getattr(case, "listed", False):
        substantiated = case.state == State.CLOSED and bool(getattr(case, "substantiated", False))
        address = scrub(case.address, secrets=reporter_secrets(case)) if substantiated else ""
        row.update(
            description=public_summary(case),
            agency_responsible=case.agency.name,
            expected_datetime=iso(case.due_at),
            address=address or case.region.name,
            lat=_coarse(case.latitude),
            long=_coarse(case.longitude),
        )
    return row


def _parse_date(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name} 必须是 ISO 8601 时间，例如 2026-11-01T00:00:00+08:00") from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def jurisdiction_check(value: str | None) -> None:
    """GeoReport v2: jurisdiction_id is needed only where one endpoint serves several jurisdictions. We serve
    one, the city: it may be left out, but one given must be ours (the city's name or region code); any
    other is answered 404 as the spec says, never ignored."""
    if value is None or not value.strip():
        return
    city = Region.objects.filter(level=Region.Level.CITY).values_list("code", "name").first()
    ours = {settings.ECO["CITY_NAME"], *(city or ())}
    if value.strip() not in ours:
        raise Open311Error(
            404,
            f"jurisdiction_id 不存在：{value}；本接口只服务{settings.ECO['CITY_NAME']}"
            f"（jurisdiction_id not found; this endpoint serves {'/'.join(sorted(ours))}）",
        )


def _too_long(value: str, name: str, limit: int) -> None:
    if len(value) > limit:
        raise Open311Error(400, f"{name} 不得超过 {limit} 字（{name}: at most {limit} characters）")


def _service(code: str) -> Service:
    service = BY_CODE.get(code)
    if service is None:
        raise Open311Error(404, f"service_code 不存在：{code}")
    return service


# ---------------------------------------------------------------------------------------- endpoints
@api.get("/discovery.json", response={200: DiscoveryOut}, summary="服务发现")
@api.get("/discovery.xml", include_in_schema=False)
def discovery(request: HttpRequest) -> HttpResponse:
    base = request.build_absolute_uri("/open311/v2/")
    data = {
        "changeset": "2026-11-25T00:00:00+08:00",
        "contact": f"{settings.ECO['CITY_NAME']}环境保护举报受理中心 12369",
        "key_service": "接口密钥由平台系统管理员签发",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-11-25T00:00:00+08:00",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return render(request, data, "discovery", "")


@api.get(
    "/services.json",
    response={200: list[ServiceOut], 400: list[ErrorOut], 404: list[ErrorOut]},
    summary="服务类型列表",
)
@api.get("/services.xml", include_in_schema=False)
def services(request: HttpRequest, params: Query[JurisdictionQuery]) -> HttpResponse:
    jurisdiction_check(params.jurisdiction_id)
    data = [
        {
            "service_code": s.code,
            "service_name": s.name,
            "description": s.description,
            "metadata": s.metadata,
            "type": "realtime",
            "keywords": s.keywords,
            "group": s.group,
        }
        for s in SERVICES
    ]
    return render(request, data, "services", "service")


@api.get(
    "/services/{service_code}.json",
    response={200: ServiceDefinitionOut, 400: list[ErrorOut], 404: list[ErrorOut]},
    summary="服务定义（附加属性）",
)
@api.get("/services/{service_code}.xml", include_in_schema=False)
def service_definition(
    request: HttpRequest, service_code: str, params: Query[JurisdictionQuery]
) -> HttpResponse:
    jurisdiction_check(params.jurisdiction_id)
    service = _service(service_code)
    attributes: list[dict[str, Any]] = []
    if service.metadata:
        districts = list(Region.objects.filter(level=Region.Level.DISTRICT).values_list("code", "name"))
        attributes = [
            {
                "variable": True,
                "code": "district",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "行政区划代码",
                "order": 1,
                "description": "事发地所在区",
                "values": [{"key": code, "name": name} for code, name in districts],
            },
            {
                "variable": True,
                "code": "reported_party",
                "datatype": "string",
                "required": False,
                "datatype_description": "单位或个人名称",
                "order": 2,
                "description": "被举报对象",
                "values": [],
            },
            {
                "variable": True,
                "code": "occurred_at",
                "datatype": "datetime",
                "required": False,
                "datatype_description": "ISO 8601",
                "order": 3,
                "description": "发生时间",
                "values": [],
            },
        ]
    return render(request, {"service_code": service.code, "attributes": attributes}, "service_definition", "")


@api.post(
    "/requests.json",
    response={200: list[CreatedOut], 400: list[ErrorOut], 403: list[ErrorOut], 404: list[ErrorOut]},
    summary="提交举报",
    auth=Open311Key(),
    openapi_extra={
        "requestBody": {"content": {"application/x-www-form-urlencoded": {"example": EXAMPLE_REQUEST}}}
    },
)
@api.post("/requests.xml", include_in_schema=False, auth=Open311Key())
def request_post(request: HttpRequest, data: Form[RequestIn]) -> HttpResponse:
    key = request.auth  # type: ignore[attr-defined]
    assert isinstance(key, ApiKey)
    if utf8_problem(request):
        # The middleware leaves a CSRF-exempt view's multipart body unread; the form is parsed by now.
        return refusal(request)
    jurisdiction_check(data.jurisdiction_id)
    if data.media_url and data.media_url.strip():
        raise Open311Error(
            400,
            "本接口不接收 media_url（平台不下载外部链接的图片）；请去掉 media_url 后重新提交"
            "（media_url is not accepted: submit the request without it）",
        )
    if not data.service_code:
        raise Open311Error(400, "缺少 service_code")
    service = _service(data.service_code)
    lat, lng = data.lat, data.long
    if bool(lat) != bool(lng):
        raise Open311Error(400, "lat 与 long 必须同时提供")
    latitude = longitude = None
    if lat and lng:
        try:
            latitude, longitude = (
                Decimal(lat).quantize(Decimal("0.000001")),
                Decimal(lng).quantize(Decimal("0.000001")),
            )
        except InvalidOperation as exc:
            raise Open311Error(400, "lat/long 必须是数字") from exc
        if not (latitude.is_finite() and longitude.is_finite()):  # NaN: comparing it would raise
            raise Open311Error(400, "lat/long 必须是数字")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise Open311Error(400, "lat/long 超出范围")
    address = (data.address_string or "").strip()
    if latitude is None and not address:
        raise Open311Error(400, "需要位置：lat 和 long，或 address_string")
    _too_long(address, "address_string", MAX_ADDRESS)
    description = (data.description or "").strip()
    if not description:
        raise Open311Error(400, "缺少 description")
    _too_long(description, "description", MAX_DESCRIPTION)
    reported_party = (data.attribute_reported_party or "").strip()
    _too_long(reported_party, "attribute[reported_party]", MAX_REPORTED_PARTY)
    occurred_at = _parse_date(data.attribute_occurred_at, "attribute[occurred_at]")
    if occurred_at is not None and occurred_at > timezone.now():
        raise Open311Error(
            400, "attribute[occurred_at] 不能晚于当前时间（attribute[occurred_at] is in the future）"
        )
    district = None
    if data.attribute_district:
        district = Region.objects.filter(
            level=Region.Level.DISTRICT, code=data.attribute_district
        ).first() or (
            Region.objects.filter(level=Region.Level.DISTRICT, name=data.attribute_district).first()
        )
        if district is None:
            raise Open311Error(400, "attribute[district] 不是有效的行政区划代码")
    name = " ".join(p for p in ((data.last_name or "").strip(), (data.first_name or "").strip()) if p)
    _too_long(name, "first_name/last_name", MAX_NAME)
    phone = (data.phone or "").strip()
    _too_long(phone, "phone", MAX_PHONE)
    try:
        token = request_create(
            api_key=key,
            intake=Intake(
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
                channel_label=key.channel,
            ),
        )
    except TransitionError as exc:
        raise Open311Error(400, exc.message) from exc
    notice = "已收到，将在2个工作日内确认处理。"
    if (data.email or "").strip():
        notice += "email 未保存：平台不以电子邮件联系举报人。"
    body = [
        {
            "service_request_id": token.case.number,
            "token": token.token,
            "service_notice": notice,
            "account_id": data.account_id,
        }
    ]
    return render(request, body, "service_requests", "request")


@api.get(
    "/requests.json",
    response={200: list[RequestOut], 400: list[ErrorOut], 404: list[ErrorOut]},
    summary="查询举报（默认最近90天，最多1000条）",
)
@api.get("/requests.xml", include_in_schema=False)
def requests_list(request: HttpRequest, params: Query[RequestsQuery]) -> HttpResponse:
    jurisdiction_check(params.jurisdiction_id)
    qs = _public_cases()
    if params.service_request_id:  # each one asked for by number: the unlisted ones show number/status only
        numbers = [n.strip() for n in params.service_request_id.split(",") if n.strip()]
        qs = qs.filter(number__in=numbers[:MAX_RESULTS])
    else:
        qs = qs.filter(_listed())
        end = _parse_date(params.end_date, "end_date")
        start = _parse_date(params.start_date, "start_date")
        now = timezone.now()
        if start is None and end is None:
            end = now
            start = end - MAX_SPAN
        elif start is None:
            assert end is not None
            start = end - MAX_SPAN
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
        qs = qs.filter(received_at__gte=start, received_at__lte=end)
        if params.service_code:
            codes = [c.strip() for c in params.service_code.split(",") if c.strip()]
            unknown = [c for c in codes if c not in BY_CODE]
            if unknown:
                raise Open311Error(400, f"service_code 不存在：{'、'.join(unknown)}")
            chosen = [BY_CODE[c] for c in codes]
            cond = Q()
            for s in chosen:
                cond |= Q(kind=s.kind, category=s.category) if s.metadata else Q(kind=s.kind)
            qs = qs.filter(cond)
        if params.status:
            statuses = {s.strip() for s in params.status.split(",") if s.strip()}
            if not statuses <= {"open", "closed"}:
                raise Open311Error(400, "status 只能是 open 或 closed")
            if statuses == {"open"}:
                qs = qs.exclude(state=State.CLOSED)
            elif statuses == {"closed"}:
                qs = qs.filter(state=State.CLOSED)
    rows = [request_data(c) for c in qs.order_by("-received_at", "-id")[:MAX_RESULTS]]
    return render(request, rows, "service_requests", "request")


@api.get(
    "/requests/{service_request_id}.json",
    response={200: list[RequestOut], 400: list[ErrorOut], 404: list[ErrorOut]},
    summary="查询单个举报",
)
@api.get("/requests/{service_request_id}.xml", include_in_schema=False)
def request_detail(
    request: HttpRequest, service_request_id: str, params: Query[JurisdictionQuery]
) -> HttpResponse:
    jurisdiction_check(params.jurisdiction_id)
    case = _public_cases().filter(number=service_request_id).first()
    if case is None:
        raise Open311Error(404, f"service_request_id 不存在：{service_request_id}")
    return render(request, [request_data(case)], "service_requests", "request")


@api.get(
    "/tokens/{token}.json",
    response={200: list[TokenOut], 400: list[ErrorOut], 404: list[ErrorOut]},
    summary="由令牌查询编号",
)
@api.get("/tokens/{token}.xml", include_in_schema=False)
def token_detail(request: HttpRequest, token: str, params: Query[JurisdictionQuery]) -> HttpResponse:
    jurisdiction_check(params.jurisdiction_id)
    row = RequestToken.objects.select_related("case").filter(token=token).first()
    if row is None:
        raise Open311Error(404, f"token 不存在：{token}")
    return render(
        request, [{"service_request_id": row.case.number, "token": row.token}], "service_requests", "request"
    )


RESOURCE = re.compile(r"(?:discovery|services|requests|services/[^/]+|requests/[^/]+|tokens/[^/]+)\.(\w+)")


@api.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False)
def unknown(request: HttpRequest, rest: str) -> HttpResponse:
    """Anything else under /open311/v2/ (``requests.csv``, a typo): an Open311 error list, in JSON unless
    ``.xml`` was asked for, not Django's HTML page. Must stay the last route."""
    match = RESOURCE.fullmatch(rest)
    if match and match.group(1).lower() not in ("json", "xml"):
        raise Open311Error(
            400,
            f"不支持的格式：{match.group(1)}，只支持 json 和 xml（unsupported format; use .json or .xml）",
        )
    raise Open311Error(404, "没有这个资源，见 discovery.json（no such resource; see discovery.json）")
