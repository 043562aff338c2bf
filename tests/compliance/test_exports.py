"""Exports carry no reporter data (Art. 17): the oversight assessment's Excel (the monthly report's Excel and
PDF, the disclosure pages and Open311 are walked in tests/security/test_masking.py). Its rows are per
district: a case of the period reported with a name, phone and openid leaves none of them in it."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import time_machine
from django.test import Client
from openpyxl import load_workbook

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.orgs.models import User
from eco12369.oversight.periods import previous_month

from .conftest import Staff

NAME, PHONE, OPENID = "张伟", "13812341234", "oEXPORT-openid"


def _xlsx_text(data: bytes) -> str:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(
        str(v)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for v in row
        if v is not None
    )


def test_assessment_excel_has_no_reporter_data(
    staff: Staff, make_case: Callable[..., Case], login: Callable[[User], Client]
) -> None:
    period = previous_month()
    with time_machine.travel(period.start_at + dt.timedelta(days=2, hours=10), tick=False):
        case = make_case(
            reporter_name=NAME,
            reporter_phone=PHONE,
            reporter_openid=OPENID,
            description=f"我是{NAME}，电话{PHONE}，工厂排放黑水。",
        )
        services.case_accept(case=case, actor=staff.operator)
    response = login(staff.city_head).get("/oversight/assessment/export/", {"period": period.key})
    assert response.status_code == 200
    text = _xlsx_text(response.content)
    assert "和平区" in text
    for secret in (NAME, PHONE, OPENID, case.number):
        assert secret not in text, secret
