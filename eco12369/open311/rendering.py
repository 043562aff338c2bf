"""Open311 output: the public rows, and every answer in JSON (``.json``) or XML (``.xml``).

Only public fields leave this module: never the reporter's identity nor their own words.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from eco12369.cases.models import CONFIRMATION_STATES, Case, Outcome, State
from eco12369.cases.public import public_summary, reporter_secrets, scrub
from eco12369.plaintext import text_clean

from .catalogue import SERVICES, Service, service_for
from .models import RequestToken

CHANGESET = "2026-11-25T00:00:00+08:00"

STATUS_NOTES = {
    Outcome.HANDLED: "已查处办结",
    Outcome.ANSWERED: "已答复",
    Outcome.HANDED_OVER: "已移交其他部门办理",
    Outcome.DUPLICATE: "重复举报，已合并办理",
}


# ------------------------------------------------------------------------------------------ formats
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
        node.text = text_clean(str(value))  # a control character would make the document not well-formed


def _xml_fill(node: ET.Element, data: dict[str, Any]) -> None:
    for key, value in data.items():
        _xml_value(node, key, value)


def render(request: HttpRequest, data: Any, root: str, item: str, status: int = 200) -> HttpResponse:
    """``data`` as JSON, or as XML under ``root`` with each entry of a list as an ``item`` element (no item:
    the entry fills ``root`` itself), as the request's path asks."""
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


def requests_render(request: HttpRequest, rows: list[dict[str, Any]]) -> HttpResponse:
    return render(request, rows, "service_requests", "request")


# --------------------------------------------------------------------------------------------- data
def iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else timezone.localtime(moment).isoformat(timespec="seconds")


def _coarse(value: Decimal | None) -> float | None:
    """Two decimals (about 1 km): the neighbourhood, not the reporter's door."""
    return None if value is None else float(round(value, 2))


def discovery_data(base: str) -> dict[str, Any]:
    return {
        "changeset": CHANGESET,
        "contact": f"{settings.ECO['CITY_NAME']}环境保护举报受理中心 12369",
        "key_service": "接口密钥由平台系统管理员签发",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }


def services_data() -> list[dict[str, Any]]:
    return [
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


def service_definition_data(service: Service, districts: list[tuple[str, str]]) -> dict[str, Any]:
    """The service's attributes (only a service with metadata has any); ``districts`` are (code, name)."""
    attributes: list[dict[str, Any]] = []
    if service.metadata:
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
    return {"service_code": service.code, "attributes": attributes}


def _open_notes(case: Case) -> str:
    """An open case's status as the public is told it: no internal step (待批转, 待审核) is named."""
    return "待确认" if case.state in CONFIRMATION_STATES else "办理中"


def request_data(case: Case) -> dict[str, Any]:
    """The public row of a case (annotated by ``selectors.public_cases``). A listed case (accepted) shows the
    public summary (never the reporter's description), its district as the address and coordinates to about
    1 km; the address as written only when the disclosure shows it too (handled, violations found). Any
    other case, looked up by its number, shows only its number, status and service."""
    service = service_for(case.kind, case.category)
    notes = STATUS_NOTES.get(Outcome(case.outcome)) if case.outcome else _open_notes(case)
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


def created_data(token: RequestToken, *, email_given: bool, account_id: str | None) -> list[dict[str, Any]]:
    """The answer to a filed request: its number and token; the notice says when an email was not kept."""
    notice = "已收到，将在2个工作日内确认处理。"
    if email_given:
        notice += "email 未保存：平台不以电子邮件联系举报人。"
    return [
        {
            "service_request_id": token.case.number,
            "token": token.token,
            "query_code": token.case.query_code,
            "service_notice": notice,
            "account_id": account_id,
        }
    ]


def token_data(token: RequestToken) -> list[dict[str, Any]]:
    return [{"service_request_id": token.case.number, "token": token.token}]
