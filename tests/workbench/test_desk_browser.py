"""The desk in a real browser (issue 15): a Chinese free-text search, a filter and a sort on /search/, the
export downloaded and opened with openpyxl, the case page's map drawn, and a 退单 by the handler."""

from __future__ import annotations

import re
from decimal import Decimal

import openpyxl
import pytest

from eco12369.cases.models import Case, State
from tests.browser import sign_in

from .conftest import advance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def listed(page) -> list[str]:
    return page.locator("#search-results a.case-link").all_inner_texts()


def test_search_sort_filter_and_export(live_server, page, heping, make_case, tmp_path) -> None:
    smell = make_case(
        "和平区",
        category="air",
        reported_party="鑫源化工",
        description="晚上一股刺鼻的化学味儿",
        address="解放南路",
    )
    typo = make_case("和平区", category="water", reported_party="鑫原化工", description="排污口冒黑水，刺鼻")
    noise = make_case("和平区", category="noise", reported_party="某某工地", description="半夜打桩")
    hostile = make_case(
        "和平区", category="air", reported_party="=1+1", description="刺鼻 <img src=x onerror=alert(1)>"
    )
    sign_in(page, live_server.url, heping.operator.username)
    page.goto(live_server.url + "/search/")

    # A Chinese free-text search (description, party, address).
    page.fill("input[name=q]", "刺鼻")
    page.click("#search-area button[type=submit]")
    page.wait_for_url(re.compile(r".*q=%E5%88%BA%E9%BC%BB.*"))
    assert set(listed(page)) == {smell.number, typo.number, hostile.number}

    # A filter on top of it, then a sort by the reported party, both ways.
    page.select_option("select[name=category]", "air")
    page.click("#search-area button[type=submit]")
    page.wait_for_url(re.compile(r".*category=air.*"))
    assert set(listed(page)) == {smell.number, hostile.number}
    page.click("th >> a.sort-link:has-text('被举报对象')")
    page.wait_for_url(re.compile(r".*sort=party.*"))
    assert listed(page) == [hostile.number, smell.number]  # "=1+1" sorts before 鑫
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("被举报对象")
    page.click("th >> a.sort-link:has-text('被举报对象')")
    page.wait_for_url(re.compile(r".*sort=-party.*"))
    assert listed(page) == [smell.number, hostile.number]
    assert noise.number not in listed(page)

    # The export of the list as filtered and sorted, downloaded and opened.
    with page.expect_download() as info:
        page.click("a.export-link")
    path = tmp_path / "export.xlsx"
    info.value.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [smell.number, hostile.number]
    assert sheet["F3"].value == "=1+1" and sheet["F3"].data_type == "s"
    assert page.console_errors == []


def test_case_map_is_drawn(live_server, page, heping, make_case) -> None:
    case = make_case(
        "和平区", latitude=Decimal("39.117000"), longitude=Decimal("117.203000"), address="南京路与营口道交口"
    )
    sign_in(page, live_server.url, heping.operator.username)
    page.goto(f"{live_server.url}/cases/{case.number}/")
    page.locator("#case-map[data-drawn='1'] canvas").first.wait_for()
    box = page.locator("#case-map").bounding_box()
    assert box and box["height"] > 200
    assert page.console_errors == []


def test_handler_sends_a_case_back(live_server, page, heping, make_case) -> None:
    case = advance(
        make_case("和平区", category="noise", reported_party="XX烧烤店", description="油烟扰民"),
        heping,
        "handling",
    )
    sign_in(page, live_server.url, heping.handler.username)
    page.goto(f"{live_server.url}/cases/{case.number}/")
    page.fill("textarea[name=send_back-reason]", "地点在河西区，不属本部门，请改派")
    page.click("form[action$='/send-back/'] button[type=submit]")
    page.locator(".alert-success", has_text="“退单”已完成").wait_for()
    assert page.locator(".case-head .state").inner_text() == "待批转"
    assert "地点在河西区，不属本部门，请改派" in page.locator("body").inner_text()
    case = Case.objects.get(pk=case.pk)
    assert case.state == State.ACCEPTED and case.department_id is None
