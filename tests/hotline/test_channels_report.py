"""Every channel goes into one ledger (issue 14): a case from WeChat chat, the H5 form, the hotline, a
forwarded file and Open311, each through its own entry point, appears in the city's monthly report's
channel table (the stored report and its page)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from eco12369.cases.models import Case, Channel
from eco12369.hotline.models import ImportBatch
from eco12369.open311.services import api_key_create
from eco12369.orgs.models import Region, User
from eco12369.stats import services as stats_services
from eco12369.stats.figures import Month
from eco12369.wechat.simulator import Simulator
from tests.portal.helpers import form_data, oauth_login
from tests.wechat.conftest import WeChatServer

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
NOVEMBER = Month(2026, 11)


def travel(day: int, hour: int = 10) -> time_machine.travel:
    return time_machine.travel(dt.datetime(2026, 11, day, hour, 0, tzinfo=TZ), tick=False)


def test_a_case_from_each_channel_is_in_the_monthly_channel_table(
    client: Client, make_user: Callable[..., User], wechat_simulator: Simulator, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.WECHAT = {**settings.WECHAT, "MESSAGE_MODE": "safe"}
    wechat = WeChatServer(Client(), settings.WECHAT, mode="safe")
    centre = make_user("operator", district_name=None, display_name="市中心接线员")
    with travel(3):  # WeChat chat: text, location, 提交
        wechat.text("oChannelChat", "河边排污口一直往外冒黄水，味道很冲。")
        wechat.location("oChannelChat", 39.1172, 117.2150, "南京路")
        wechat.text("oChannelChat", "提交")
    with travel(4):  # the H5 form
        reporter = Client()
        oauth_login(reporter, wechat_simulator, "oChannelH5")
        page = reporter.get("/portal/report/").content.decode()
        token = page.split('name="token" value="')[1].split('"')[0]
        resp = reporter.post("/portal/report/", form_data(token=token, occurred_at="2026-11-03T21:30"))
        assert resp.status_code == 302, resp.content.decode()[:500]
    with travel(5):  # the hotline
        client.force_login(centre)
        resp = client.post(
            "/hotline/call/",
            {
                "received_at": "2026-11-05T09:12",
                "phone": "022-23456789",
                "name": "老周",
                "kind": "report",
                "description": "搅拌站半夜还在干活，噪音大得睡不着。",
                "category": "noise",
                "reported_party": "某混凝土搅拌站",
                "address": "河西区友谊南路",
            },
        )
        assert resp.status_code == 302
    with travel(6):  # a forwarded file
        csv = "来源编号,转办时间,所在区,举报内容,来源类别\n12369-2026-118800,2026-11-06 08:40,北辰区,化工园区晚上有刺鼻气味,大气污染\n"
        f = io.BytesIO(csv.encode())
        f.name = "全国平台.csv"
        client.force_login(centre)  # a new day, a new session
        assert client.post("/hotline/imports/", {"source": "national_12369", "file": f}).status_code == 200
        client.post(f"/hotline/imports/{ImportBatch.objects.get().pk}/confirm/")
    with travel(7):  # Open311
        key = api_key_create(channel="12345热线")[1]
        resp = client.post(
            "/open311/v2/requests.json",
            {
                "api_key": key,
                "service_code": "report_water",
                "lat": "38.84",
                "long": "117.45",
                "description": "大港这边的河沟颜色发红。",
            },
        )
        assert resp.status_code == 200, resp.content

    assert sorted(Case.objects.values_list("channel", flat=True)) == sorted(
        [Channel.WECHAT_CHAT, Channel.WECHAT_H5, Channel.PHONE, Channel.FORWARDED, Channel.API]
    )
    city = Region.objects.get(level=Region.Level.CITY)
    with time_machine.travel(dt.datetime(2026, 12, 2, 10, 0, tzinfo=TZ), tick=False):
        report = stats_services.monthly_report_generate(actor=centre, region=city, month=NOVEMBER)
        client.force_login(centre)
        page = client.get(f"/stats/{city.code}/{NOVEMBER.key}/").content.decode()
    channels = {row.key: row.count for row in report.snapshot().by_channel}
    assert channels == {"wechat_chat": 1, "wechat_h5": 1, "phone": 1, "forwarded": 1, "api": 1, "other": 0}
    for label in ("微信对话", "微信H5表单", "电话", "转办", "开放接口"):
        assert label in page, label
