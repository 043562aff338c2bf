"""A control character that XML 1.0 forbids (a vertical tab pasted into an address, a form feed in a staff
summary) never makes the public ``requests.xml`` not well-formed: intake drops it from the reporter's
text, and the XML output strips it from whatever is stored (text kept before the rule, staff text)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from eco12369.cases import services
from eco12369.cases.models import Case, State
from eco12369.open311.services import api_key_create
from eco12369.orgs.models import User

from ..followup.conftest import FIVE_PARTS

BASE = "/open311/v2"
pytestmark = pytest.mark.django_db


def handled_with_violations(case: Case, make_user: Callable[..., User]) -> Case:
    """Closed as handled with violations found: its address is published."""
    op, handler, reviewer = make_user("operator"), make_user("handler"), make_user("reviewer")
    case = services.case_accept(case=case, actor=op)
    case = services.case_assign(case=case, actor=op, department=handler.department)
    case = services.case_submit_reply(case=case, actor=handler, **FIVE_PARTS)
    return services.case_approve(case=case, actor=reviewer)


def test_stored_control_characters_never_break_requests_xml(
    client: Client, make_case: Callable[..., Case], make_user: Callable[..., User]
) -> None:
    case = handled_with_violations(make_case("和平区"), make_user)
    assert case.state == State.CLOSED
    # Text stored before intake dropped control characters, and a summary staff typed with one.
    Case.objects.filter(pk=case.pk).update(
        address="和平区南京路\x0b100号\x1b", public_summary="反映某化工厂\x0c夜间偷排污水。"
    )
    for url in (f"{BASE}/requests.xml", f"{BASE}/requests/{case.number}.xml"):
        root = ET.fromstring(client.get(url).content)  # well-formed
        row = next(r for r in root.findall("request") if r.findtext("service_request_id") == case.number)
        assert row.findtext("address") == "和平区南京路100号", url
        assert row.findtext("description") == "反映某化工厂夜间偷排污水。", url
    row = client.get(f"{BASE}/requests/{case.number}.json").json()[0]
    assert row["address"] == "和平区南京路\x0b100号\x1b"  # JSON escapes it: the stored text as it is


def test_an_open311_request_is_stored_without_control_characters(
    client: Client, tianjin: None, make_user: Callable[..., User]
) -> None:
    key = api_key_create(channel="12345热线")[1]
    data: dict[str, Any] = {
        "api_key": key,
        "service_code": "report_water",
        "address_string": "和平区南京路\x0b100号",
        "description": "工厂夜里\x1b偷排污水，\t河水发黑发臭。\n已持续一周。",
        "attribute[district]": "120101",
        "attribute[reported_party]": "天津某\x08化工有限公司",
    }
    resp = client.post(f"{BASE}/requests.json", data)
    assert resp.status_code in (200, 201), resp.content[:500]
    case = Case.objects.get(number=resp.json()[0]["service_request_id"])
    assert case.address == "和平区南京路100号"
    assert case.description == "工厂夜里偷排污水，\t河水发黑发臭。\n已持续一周。"  # tab and newline kept
    assert case.reported_party == "天津某化工有限公司"
    handled_with_violations(case, make_user)
    ET.fromstring(client.get(f"{BASE}/requests.xml").content)
