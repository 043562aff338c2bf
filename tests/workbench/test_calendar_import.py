"""The holiday calendar import (issue 15, item 6) over HTTP: a 2027 notice typed the way it is printed,
with mistakes in it; the preview shows each row's errors and the days that change and writes nothing;
the confirm enters the year (audited); the system administrator and the city centre only."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from eco12369.audit.models import AuditEntry
from eco12369.cases import deadlines
from eco12369.cases.models import CalendarYear, Case, WorkdayOverride

from .conftest import TZ

pytestmark = pytest.mark.django_db

URL = "/calendar/import/"
DECEMBER_2026 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=TZ)  # the built-in calendar stops at 2026

# As copied out of the notice's table into a spreadsheet and pasted (tabs), title and header included.
NOTICE_2027 = """国务院办公厅关于2027年部分节假日安排的通知（摘录）
日期\t安排\t说明
2027年1月1日至1月3日\t休息\t元旦
2027年2月5日至2月12日\t休息\t春节（含除夕）
2027年2月20日\t上班\t春节调休
2027年4月3日至5日\t休息\t清明节
2027年4月25日\t上班\t劳动节调休
2027年5月1日至5月5日\t放假\t劳动节
2027年5月8日\t上班\t劳动节调休
2027年6月9日\t休息\t端午节
2027年9月15日\t休息\t中秋节
2027年9月26日\t调休上班\t国庆节调休
2027年10月1日至10月7日\t休息\t国庆节
2027年10月9日\t上班\t国庆节调休
"""

# What a tired person types at the end of the table.
MISTAKES = """2027年2月30日\t休息\t春节
2027-05-06\t上班\t劳动节调休
2026-12-31\t休息\t元旦
10月8日\t国庆节
2027-02-07\t上班\t春节调休
=HYPERLINK("http://evil.example")\t休息\t<script>alert(1)</script>
"""


@pytest.fixture
def centre(make_user):
    return make_user("head", district_name=None, display_name="市中心负责人")


def preview(client, text: str, year: int = 2027, **extra):
    return client.post(
        URL, {"year": year, "note": "国办发明电〔2026〕7号", "table": text, "action": "preview", **extra}
    )


def digest_of(response) -> str:
    match = re.search(r'name="digest" value="([0-9a-f]{64})"', response.content.decode())
    assert match, "no digest in the preview"
    return match.group(1)


def row_errors(response) -> dict[int, str]:
    text = response.content.decode()
    rows = re.findall(r'<tr class="row-error" data-line="(\d+)">(.*?)</tr>', text, re.S)
    return {
        int(line): " ".join(re.findall(r'<p class="field-error">([^<]+)</p>', body)) for line, body in rows
    }


def test_preview_shows_each_bad_row_and_writes_nothing(client, centre) -> None:
    with time_machine.travel(DECEMBER_2026, tick=False):
        client.force_login(centre)
        response = preview(client, NOTICE_2027 + MISTAKES)
    assert response.status_code == 200
    errors = row_errors(response)
    assert set(errors) == {15, 16, 17, 18, 19, 20}
    assert "日期不存在" in errors[15]
    assert "2027-05-06 是周四，本来就是工作日" in errors[16]
    assert "日期不在2027年内" in errors[17]
    assert "没有注明“上班”或“休息”" in errors[18]
    assert "2027-02-07 与第4行矛盾" in errors[19]
    assert "没有可识别的日期" in errors[20]
    text = response.content.decode()
    assert "6 行有错误" in text and 'value="confirm"' not in text
    assert "&lt;script&gt;" in text and "<script>alert" not in text
    assert not WorkdayOverride.objects.exists() and not CalendarYear.objects.exists()
    assert not AuditEntry.objects.filter(action="calendar.import").exists()


def test_preview_then_confirm_enters_the_year(client, centre, heping, make_case) -> None:
    with time_machine.travel(dt.datetime(2027, 2, 3, 10, 0, tzinfo=TZ), tick=False):
        case = make_case("和平区")  # received Wednesday 3 Feb: confirm by the end of the 2nd working day
    assert case.deadline_provisional and case.due_at.astimezone(TZ).date() == dt.date(2027, 2, 5)
    with time_machine.travel(DECEMBER_2026, tick=False):
        client.force_login(centre)
        response = preview(client, NOTICE_2027)
        assert response.status_code == 200 and row_errors(response) == {}
        text = response.content.decode()
        assert "共 12 行：放假 28 天，调休上班 5 天" in text and 'value="confirm"' in text
        changes = re.findall(
            r"<tr><td class=\"nowrap\">(2027-\d\d-\d\d)</td><td>(周.)</td><td>(..日)</td><td><strong>(..日)</strong></td><td>([^<]*)</td>",
            text,
        )
        # 18 weekdays off and 5 weekend make-up days differ from the weekend rule used until now.
        assert len(changes) == 23
        assert ("2027-02-08", "周一", "工作日", "休息日", "春节（含除夕）") in changes
        assert ("2027-02-20", "周六", "休息日", "工作日", "春节调休") in changes
        assert not any(day == "2027-01-02" for day, *_ in changes)  # a Saturday off stays a Saturday off
        assert not CalendarYear.objects.exists()  # a preview writes nothing
        response = client.post(
            URL,
            {
                "year": 2027,
                "note": "国办发明电〔2026〕7号",
                "table": NOTICE_2027.replace("\n", "\r\n"),  # as the browser sends the text area back
                "digest": digest_of(response),
                "action": "confirm",
            },
        )
        assert response.status_code == 303
        page = client.get(response["Location"]).content.decode()
    assert "已导入2027年节假日安排：放假28天、调休上班5天" in page
    assert CalendarYear.objects.get(year=2027).note == "国办发明电〔2026〕7号"
    assert WorkdayOverride.objects.get(date=dt.date(2027, 2, 8)).note == "春节（含除夕）"
    assert WorkdayOverride.objects.get(date=dt.date(2027, 10, 9)).is_workday is True
    assert not deadlines.is_workday(dt.date(2027, 2, 11)) and deadlines.is_workday(dt.date(2027, 2, 20))
    # The open case's deadline moved past the Spring Festival and is no longer provisional.
    case = Case.objects.get(pk=case.pk)
    assert case.due_at is not None
    assert not case.deadline_provisional and case.due_at.astimezone(TZ).date() == dt.date(2027, 2, 15)
    entry = AuditEntry.objects.get(action="calendar.import")
    assert entry.actor == centre and entry.object_id == "2027"
    assert entry.detail["holidays"] == 28 and entry.detail["workdays"] == 5
    assert len(entry.detail["changed_days"]) == 23 and entry.detail["source"] == "粘贴"


def test_a_table_changed_after_the_preview_is_not_entered(client, centre) -> None:
    client.force_login(centre)
    digest = digest_of(preview(client, NOTICE_2027))
    response = client.post(
        URL,
        {
            "year": 2027,
            "table": NOTICE_2027 + "2027-02-13\t休息\t春节\n",
            "digest": digest,
            "action": "confirm",
        },
    )
    assert response.status_code == 200
    assert "表格在预览后有改动" in response.content.decode()
    assert not CalendarYear.objects.exists()
    # Nor a table with errors, whatever the digest says.
    bad = NOTICE_2027 + MISTAKES
    response = client.post(
        URL, {"year": 2027, "table": bad, "digest": digest_of(preview(client, bad)), "action": "confirm"}
    )
    assert response.status_code == 422 and "表格中还有错误" in response.content.decode()
    assert not CalendarYear.objects.exists()


def test_csv_upload_in_gbk(client, make_user) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    admin = make_user("admin", district_name=None)
    client.force_login(admin)
    body = '日期,安排,说明\r\n2027-01-01,休息,元旦\r\n"2027-02-05 至 2027-02-12",休息,春节\r\n2027-02-20,上班,春节调休\r\n'
    upload = SimpleUploadedFile("2027节假日.csv", body.encode("gb18030"), content_type="text/csv")
    response = client.post(URL, {"year": 2027, "file": upload, "action": "preview"})
    assert response.status_code == 200 and row_errors(response) == {}
    text = response.content.decode()
    assert "共 3 行：放假 9 天，调休上班 1 天" in text
    assert "2027-02-05 至 2027-02-12（8天）" in text
    assert "2027-02-20,上班,春节调休" in text  # the file's text is in the form, for the confirm
    assert not CalendarYear.objects.exists()


def test_only_the_administrator_and_the_city_centre(client, heping, make_user, centre) -> None:
    for user in (heping.head, heping.operator, make_user("auditor", district_name=None)):
        client.force_login(user)
        assert client.get(URL).status_code == 403
        assert preview(client, NOTICE_2027).status_code == 403
    for user in (centre, make_user("operator", district_name=None), make_user("admin", district_name=None)):
        client.force_login(user)
        response = client.get(URL)
        assert response.status_code == 200 and "导入节假日安排" in response.content.decode()
        assert 'href="/calendar/import/"' in response.content.decode()  # in the menu
    client.logout()
    assert client.get(URL).status_code == 302
