"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under /open311/v2/: the endpoints.

Every endpoint answers in JSON (``.json``) and XML (``.xml``); any other format or path gets an Open311
error list. The JSON operations are in the OpenAPI document (/open311/v2/openapi.json); the XML twins run
the same code. The views are thin: input and its validation in ``schemas``, queries in ``selectors``, the
public rows and the two formats in ``rendering``.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from ninja import Form, NinjaAPI, Query
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import APIKeyQuery

from eco12369.cases.workflow import TransitionError
from eco12369.middleware import refusal, utf8_problem

from . import rendering, selectors
from .models import ApiKey
from .schemas import (
    EXAMPLE_REQUEST,
    CreatedOut,
    DiscoveryOut,
    ErrorOut,
    JurisdictionQuery,
    Open311Error,
    RequestIn,
    RequestOut,
    RequestQuery,
    RequestsQuery,
    ServiceDefinitionOut,
    ServiceOut,
    TokenOut,
    service_check,
)
from .services import anonymous_read_allowed, api_key_check, request_create

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
  坐标精确到约1公里；查处属实并办结的举报公开地址。未受理的举报对外不透露任何信息（连是否存在也不透露）：
  只有同时提供提交时答复的查询码 `query_code`（多个编号时按相同顺序以逗号分隔）才能查到编号、状态与服务类型。
- 按编号查询一次最多 20 个编号；不带 api_key 的查询按客户端地址限速（默认每分钟 60 次，超过答复 429）。

Open311 GeoReport v2 for the 12369 channel. Other formats get 400, unknown resources 404 (error lists).
POST requests needs an api_key (form field, or ?api_key=); its answer carries the case's query_code, without
which a case not yet accepted cannot be looked up. At most 20 ids per GET; keyless reads are rate-limited per
client (429). email, device_id and address_id are not stored;
media_url is refused (400). Over-long fields are refused (400), never cut."""

api = NinjaAPI(
    title="eco12369 Open311 GeoReport v2",
    version="v2",
    description=DESCRIPTION,
    urls_namespace="open311",
    docs_url="/docs",
)


@api.exception_handler(Open311Error)
def _open311_error(request: HttpRequest, exc: Open311Error) -> HttpResponse:
    return rendering.error(request, exc.status, exc.description)


@api.exception_handler(AuthenticationError)
def _no_key(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return rendering.error(request, 403, "api_key 缺失或无效（api_key is missing or not valid）")


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors)
    return rendering.error(request, 400, f"参数无效：{fields}")


class Open311Key(APIKeyQuery):
    """A partner channel's key: the ``api_key`` field of the form body, as GeoReport v2 sends it, or the
    ``api_key`` query parameter. Authenticates to the ApiKey row (its channel); otherwise 403."""

    param_name = "api_key"
    openapi_description = "接口密钥：表单字段 api_key（GeoReport v2），或查询参数 ?api_key="

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.POST.get(self.param_name) or request.GET.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        return api_key_check(key=key or "")


def _throttle(request: HttpRequest) -> None:
    """Reads of cases are limited per client when they come without an api_key (issue 11, M4)."""
    if not anonymous_read_allowed(request=request):
        raise Open311Error(429, "查询过于频繁，请一分钟后再试（too many requests; try again in a minute）")


# ---------------------------------------------------------------------------------------- endpoints
@api.get("/", include_in_schema=False)
def root(request: HttpRequest) -> HttpResponse:
    """The API's own address (issue 12, D18): a browser goes to the documentation page, a client to the
    GeoReport discovery document."""
    wants_html = "text/html" in request.headers.get("Accept", "")
    return HttpResponseRedirect("docs" if wants_html else "discovery.json")


@api.get("/discovery.json", response={200: DiscoveryOut}, summary="服务发现")
@api.get("/discovery.xml", include_in_schema=False)
def discovery(request: HttpRequest) -> HttpResponse:
    data = rendering.discovery_data(request.build_absolute_uri("/open311/v2/"))
    return rendering.render(request, data, "discovery", "")


@api.get(
    "/services.json",
    response={200: list[ServiceOut], 400: list[ErrorOut], 404: list[ErrorOut]},
    summary="服务类型列表",
)
@api.get("/services.xml", include_in_schema=False)
def services(request: HttpRequest, params: Query[JurisdictionQuery]) -> HttpResponse:
    params.validated()
    return rendering.render(request, rendering.services_data(), "services", "service")


@api.get(
    "/services/{service_code}.json",
    response={200: ServiceDefinitionOut, 400: list[ErrorOut], 404: list[ErrorOut]},
    summary="服务定义（附加属性）",
)
@api.get("/services/{service_code}.xml", include_in_schema=False)
def service_definition(
    request: HttpRequest, service_code: str, params: Query[JurisdictionQuery]
) -> HttpResponse:
    params.validated()
    service = service_check(service_code)
    districts = selectors.districts() if service.metadata else []
    data = rendering.service_definition_data(service, districts)
    return rendering.render(request, data, "service_definition", "")


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
    intake = data.validated(channel_label=key.channel)
    try:
        token = request_create(api_key=key, intake=intake)
    except TransitionError as exc:
        raise Open311Error(400, exc.message) from exc
    body = rendering.created_data(
        token, email_given=bool((data.email or "").strip()), account_id=data.account_id
    )
    return rendering.requests_render(request, body)


@api.get(
    "/requests.json",
    response={200: list[RequestOut], 400: list[ErrorOut], 404: list[ErrorOut], 429: list[ErrorOut]},
    summary="查询举报（默认最近90天，最多1000条）",
)
@api.get("/requests.xml", include_in_schema=False)
def requests_list(request: HttpRequest, params: Query[RequestsQuery]) -> HttpResponse:
    _throttle(request)
    cases = selectors.requests_find(params.validated())
    return rendering.requests_render(request, [rendering.request_data(c) for c in cases])


@api.get(
    "/requests/{service_request_id}.json",
    response={200: list[RequestOut], 400: list[ErrorOut], 404: list[ErrorOut], 429: list[ErrorOut]},
    summary="查询单个举报",
)
@api.get("/requests/{service_request_id}.xml", include_in_schema=False)
def request_detail(
    request: HttpRequest, service_request_id: str, params: Query[RequestQuery]
) -> HttpResponse:
    _throttle(request)
    params.validated()
    case = selectors.request_find(service_request_id, params.query_code or "")
    if case is None:
        raise Open311Error(404, f"service_request_id 不存在：{service_request_id}")
    return rendering.requests_render(request, [rendering.request_data(case)])


@api.get(
    "/tokens/{token}.json",
    response={200: list[TokenOut], 400: list[ErrorOut], 404: list[ErrorOut], 429: list[ErrorOut]},
    summary="由令牌查询编号",
)
@api.get("/tokens/{token}.xml", include_in_schema=False)
def token_detail(request: HttpRequest, token: str, params: Query[JurisdictionQuery]) -> HttpResponse:
    _throttle(request)
    params.validated()
    row = selectors.token_find(token)
    if row is None:
        raise Open311Error(404, f"token 不存在：{token}")
    return rendering.requests_render(request, rendering.token_data(row))


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
