"""Reporter confidentiality (Art. 17) in everything the platform hands out: the workbench shows the
reporter's name and phone masked (张*, 138****1234), also to the owning bureau until its operator reveals
them with a reason (written to the audit trail) and to everyone else always; the monthly report's Excel and
PDF exports, the Open311 API and the public disclosure pages never contain them; the reporter's WeChat
openid appears nowhere, not even for the owning bureau.

The reporter wrote their own name and phone into the report text too, as reporters do: public outputs must
not repeat them from there either.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from eco12369.audit.models import AuditEntry
from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.cases.services import Intake, case_create
from eco12369.open311.services import api_key_create
from eco12369.orgs.models import Region, User
from eco12369.stats import exports
from eco12369.stats import services as stats_services
from eco12369.stats.figures import Month

from .conftest import response_text

TZ = ZoneInfo("Asia/Shanghai")
NAME, PHONE, OPENID = "张伟", "13812341234", "oMASK-secret-openid-zhangwei"
NAME_MASKED, PHONE_MASKED = "张*", "138****1234"
API_NAME, API_PHONE = "李秀英", "13900001111"
NEIGHBOUR = "3号楼502室的赵大明"  # someone the reporter names in their own text
SECRETS = {"name": NAME, "phone": PHONE, "openid": OPENID, "api name": API_NAME, "api phone": API_PHONE}


@dataclass
class Setup:
    case: Case  # closed last month, 和平区, reported through WeChat with name and phone
    api_case: Case  # reported through Open311 with name and phone
    month: Month
    op: User  # 和平区 operator (the owning bureau)
    head: User
    city_op: User  # the city centre sees every case, not the reporter


@contextmanager
def at(moment: dt.datetime) -> Iterator[None]:
    with time_machine.travel(moment, tick=False):
        yield


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [label for label, value in secrets.items() if value in text]


@pytest.fixture
def setup(make_user: Callable[..., User], media_root: Any) -> Setup:
    op = make_user("operator")
    handler = make_user("handler")
    reviewer = make_user("reviewer")
    head = make_user("head")
    city_op = make_user("operator", district_name=None)
    month = Month.of(timezone.now()).previous()
    day = dt.datetime(month.year, month.month, 3, 9, 0, tzinfo=TZ)
    heping = Region.objects.get(name="和平区")
    with at(day):
        case = case_create(
            intake=Intake(
                channel="wechat_h5",
                district=heping,
                category="water",
                reported_party="天津某化工有限公司",
                address="和平区南京路1号",
                description=f"我叫{NAME}，电话{PHONE}，工厂夜间排放黑水，河道发臭。",
                reporter_name=NAME,
                reporter_phone=PHONE,
                reporter_openid=OPENID,
            )
        )
        case = services.case_accept(case=case, actor=op)
        case = services.case_assign(case=case, actor=op, department=handler.department)
    with at(day + dt.timedelta(days=5)):
        case = services.case_submit_reply(
            case=case,
            actor=handler,
            party_facts="该公司主要生产涂料。",
            inspection="执法人员赴现场检查并采样。",
            violations="超标排放废水。",
            decision=f"责令停产整改；已告知举报人{NAME}（{PHONE}）。",
            communication=f"已电话联系举报人{NAME}，电话{PHONE}，举报人表示满意。",
        )
    with at(day + dt.timedelta(days=6)):
        case = services.case_approve(case=case, actor=reviewer)
    report = stats_services.monthly_report_generate(actor=op, region=heping, month=month)
    report = stats_services.monthly_report_edit_analysis(
        actor=op, report=report, analysis="本月处理举报1件，已全部办结。"
    )
    report = stats_services.monthly_report_send_for_approval(actor=op, report=report)
    report = stats_services.monthly_report_approve(actor=head, report=report)
    stats_services.monthly_report_submit(actor=head, report=report)  # the city reads it once submitted

    _, key = api_key_create(channel="合作渠道")
    response = Client().post(
        "/open311/v2/requests.json",
        {
            "api_key": key,
            "service_code": "report_air",
            "description": f"本人{API_NAME}（{API_PHONE}）反映：{NEIGHBOUR}在工地夜间焚烧垃圾，烟很大。",
            "address_string": "和平区滨江道5号",
            "last_name": API_NAME,  # the whole Chinese name in one field, as partners send it
            "phone": API_PHONE,
            "attribute[district]": heping.code,
        },
    )
    assert response.status_code == 200, response.content
    api_case = Case.objects.get(number=response.json()[0]["service_request_id"])
    assert (api_case.reporter_name, api_case.reporter_phone) == (API_NAME, API_PHONE)
    return Setup(case=case, api_case=api_case, month=month, op=op, head=head, city_op=city_op)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_workbench_masks_the_reporter_for_staff_outside_the_owning_bureau(setup: Setup) -> None:
    """The reporter block of the case page is masked for the city centre. (The free text of the report and
    of the reply is shown as written: what the reporter typed there is theirs to disclose.)"""
    quiet = case_create(
        intake=Intake(
            channel="wechat_chat",
            district=Region.objects.get(name="和平区"),
            description="化工厂夜间排放黑水，河道发臭。",
            reporter_name=NAME,
            reporter_phone=PHONE,
            reporter_openid=OPENID,
        )
    )
    city = _client(setup.city_op)
    page = response_text(city.get(f"/cases/{quiet.number}/"))
    assert quiet.number in page
    assert _card(page) == (NAME_MASKED, PHONE_MASKED)
    assert "已脱敏" in page
    assert not _leaks(page, SECRETS)
    api_page = response_text(city.get(f"/cases/{setup.api_case.number}/"))
    assert _card(api_page) == ("李**", "139****1111")
    for url in ("/search/?number=TJ", f"/search/?number={quiet.number}", "/queues/"):
        listing = response_text(city.get(url))
        assert quiet.number in listing or url == "/queues/", url
        assert not _leaks(listing, SECRETS), url


def _card(text: str) -> tuple[str, str]:
    """The reporter card's name and phone as shown."""
    name = re.search(r'<dd class="reporter-name">(.*?)</dd>', text)
    phone = re.search(r'<dd class="reporter-phone">(.*?)</dd>', text)
    assert name and phone, "no reporter card"
    return name.group(1), phone.group(1)


def test_owning_bureau_reveals_the_reporter_with_a_reason_never_the_openid(setup: Setup) -> None:
    """(This case's report text names the reporter, as the reporter wrote it: the card is what is checked.)"""
    own = _client(setup.op)
    url = f"/cases/{setup.case.number}/"
    page = response_text(own.get(url))
    assert _card(page) == (NAME_MASKED, PHONE_MASKED)  # masked by default, also for the owner
    assert OPENID not in page
    assert "已关联" in page  # that a WeChat account is linked is shown, not which one
    refused = own.post(url + "reporter/reveal/", {"reason": ""})
    assert refused.status_code == 422 and _card(response_text(refused)) == (NAME_MASKED, PHONE_MASKED)
    revealed = own.post(url + "reporter/reveal/", {"reason": "电话核实举报地点"})
    text = response_text(revealed)
    assert revealed.status_code == 200 and _card(text) == (NAME, PHONE)
    assert OPENID not in text
    assert revealed["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.get(action="reveal")
    assert entry.actor == setup.op and entry.object_id == setup.case.number
    assert entry.detail["reason"] == "电话核实举报地点"
    # The next page view is masked again; the city centre may not reveal a district's reporter at all.
    assert _card(response_text(own.get(url))) == (NAME_MASKED, PHONE_MASKED)
    city = _client(setup.city_op).post(url + "reporter/reveal/", {"reason": "督办需要"})
    assert city.status_code == 403 and _card(response_text(city)) == (NAME_MASKED, PHONE_MASKED)
    assert AuditEntry.objects.filter(action="reveal").count() == 1
    for listing in ("/queues/", f"/search/?number={setup.case.number}", "/search/?number=TJ"):
        assert not _leaks(response_text(own.get(listing)), SECRETS), listing


def test_monthly_report_exports_contain_no_reporter(setup: Setup) -> None:
    """The district's report, its Excel and its PDF, as the district and as the city centre (both built
    from the same stored snapshot: the PDF is rendered once)."""
    assert exports.pdf_problem() is None, exports.pdf_problem()
    base = f"/stats/120101/{setup.month.key}"
    for user, formats in ((setup.op, ("xlsx", "pdf")), (setup.city_op, ("xlsx",))):
        client = _client(user)
        detail = client.get(f"{base}/")
        assert detail.status_code == 200
        texts = {"page": response_text(detail)}
        for fmt in formats:
            download = client.get(f"{base}/export.{fmt}")
            assert download.status_code == 200, (user, fmt)
            texts[fmt] = response_text(download)
            assert "和平区" in texts[fmt], (user, fmt)  # the month's figures are there, never the reporter
        for label, text in texts.items():
            assert not _leaks(text, SECRETS), (user, label)
            assert NAME_MASKED not in text or label == "page", (user, label)


def test_public_disclosure_contains_no_reporter(setup: Setup) -> None:
    public = Client()
    index = public.get("/disclosure/")
    page = public.get(f"/disclosure/{setup.month.key}/")
    assert page.status_code == 200
    text = response_text(page)
    assert setup.case.number in text  # the closed case is listed…
    assert not _leaks(text, SECRETS)  # …without the reporter, also not from the reply's text
    assert not _leaks(response_text(index), SECRETS)
    district = public.get(f"/disclosure/{setup.month.key}/?district=120101")
    assert not _leaks(response_text(district), SECRETS)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_contains_no_reporter(setup: Setup, fmt: str) -> None:
    """Nor the reporter's own words: the public rows carry the public summary, never the description, in
    which reporters name neighbours and flats."""
    services.case_accept(case=setup.api_case, actor=setup.op)  # accepted: listed with its public fields
    free_text = {"neighbour": "赵大明", "flat": "502室", "wechat text": "河道发臭", "api text": "烟很大"}
    public = Client()
    numbers = f"{setup.case.number},{setup.api_case.number}"
    urls = [
        f"/open311/v2/requests.{fmt}",
        f"/open311/v2/requests.{fmt}?service_request_id={numbers}",
        f"/open311/v2/requests/{setup.case.number}.{fmt}",
        f"/open311/v2/requests/{setup.api_case.number}.{fmt}",
        f"/open311/v2/requests.{fmt}?" + urlencode({"start_date": setup.month.start.isoformat()}),
    ]
    for url in urls:
        response = public.get(url)
        assert response.status_code == 200, url
        text = response_text(response)
        assert setup.api_case.number in text or setup.case.number in text, url
        assert not _leaks(text, SECRETS | free_text), (url, _leaks(text, SECRETS | free_text))
        assert "反映大气环境问题" in text or "反映水环境问题" in text, url


LANDLINE = "23456789"  # a Tianjin landline without its area code: eight digits


def _runs(number: str, length: int = 6) -> list[str]:
    """Every run of ``length`` consecutive digits of ``number``."""
    return [number[i : i + length] for i in range(len(number) - length + 1)]


def test_a_landline_recorded_by_the_hotline_is_masked_enough_for_every_role(
    make_user: Callable[..., User],
) -> None:
    """An eight-digit landline shows its last four digits at most (the old mask, 234*6789, showed seven):
    to the district's reviewer and head, to the city centre, and to the operator until they reveal it."""
    op = make_user("operator", display_name="和平区接线员")
    reviewer, head = make_user("reviewer"), make_user("head")
    city_op = make_user("operator", district_name=None)
    recorded = _client(op).post(
        "/hotline/call/",
        {
            "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "phone": LANDLINE,
            "name": "孙保密",
            "kind": "report",
            "description": "楼下饭馆油烟直接往居民楼排，呛得没法开窗。",
            "category": "air",
            "reported_party": "老街坊家常菜馆",
            "address": "和平区西康路与成都道交口",
        },
    )
    assert recorded.status_code == 302, response_text(recorded)[:2000]
    case = Case.objects.get()
    assert case.reporter_phone == LANDLINE
    for user in (reviewer, head, city_op, op):
        page = response_text(_client(user).get(f"/cases/{case.number}/"))
        assert case.number in page, user.username
        assert _card(page) == ("孙**", "****6789"), user.username
        shown = [run for run in _runs(LANDLINE) if run in page]
        assert shown == [], (user.username, shown)
