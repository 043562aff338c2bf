"""The holiday calendar import in a real browser (issue 15, item 6): the administrator pastes the 2027
notice with a mistake, sees the row's error, corrects it, previews again and confirms."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from eco12369.cases.models import CalendarYear, WorkdayOverride
from tests.conftest import PASSWORD

from .test_calendar_import import NOTICE_2027

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_paste_preview_correct_and_confirm(live_server, page, make_user) -> None:
    admin = make_user("admin", district_name=None)
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    page.click("nav.sidenav >> text=节假日导入")
    page.wait_for_url(re.compile(r".*/calendar/import/$"))
    page.fill("input[name=year]", "2027")
    page.fill("input[name=note]", "国办发明电〔2026〕7号")
    page.fill("textarea[name=table]", NOTICE_2027 + "2027年10月8日\t上班\t国庆节调休\n")  # a Friday
    page.click("button[value=preview]")
    bad = page.locator("tr.row-error")
    bad.wait_for()
    assert bad.count() == 1 and "2027-10-08 是周五，本来就是工作日" in bad.inner_text()
    assert page.locator("button[value=confirm]").count() == 0
    assert not CalendarYear.objects.exists()

    page.fill("textarea[name=table]", NOTICE_2027)
    page.click("button[value=preview]")
    page.locator("button[value=confirm]").wait_for()
    assert page.locator("tr.row-error").count() == 0
    assert page.locator("table.calendar-changes tbody tr").count() == 23
    page.click("button[value=confirm]")
    page.locator(".alert-success", has_text="已导入2027年节假日安排").wait_for()
    assert CalendarYear.objects.filter(year=2027).exists()
    assert WorkdayOverride.objects.get(date=dt.date(2027, 10, 9)).is_workday
    assert page.console_errors == []
