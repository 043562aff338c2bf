"""Art. 17 at rest, end to end: a reporter chats with the official account (the callback), files a second
report on the H5 form and opens “我的举报”; notices that find no channel wait, go out through the simulated
WeChat API when the reporter writes again, or are shown on the H5 page. Read past the ORM, no table of the
database holds the openid in clear (not the callback's raw XML, not an event's de-duplication key), while
every look-up by openid still works; when the retention period has run out, the blind index goes too."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.compliance.retention import retention_erase
from eco12369.crypto import PREFIXES, blind_index
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.models import User
from eco12369.portal.selectors import reporter_list
from eco12369.wechat.simulator import Simulator
from tests.portal.helpers import form_data, oauth_login
from tests.wechat.conftest import WeChatServer

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
OPENID = "oAtRest-Hq4Nw8Kz2Xc6Vb9Lm3Pd"
T0 = dt.datetime(2025, 3, 3, 9, 0, tzinfo=TZ)  # a Monday
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
FIVE = {
    "party_facts": "该化工厂位于和平区南京路。",
    "inspection": "执法人员赴现场检查并采样。",
    "violations": "超标排放水污染物。",
    "decision": "责令停产整改。",
    "communication": "已告知举报人处理情况。",
}
# The tables the reporter's openid passes through (besides the case's own, encrypted before).
WECHAT_AND_H5 = ("wechat_outboxmessage", "wechat_inboundmessage", "wechat_conversation", "portal_submission")


@contextmanager
def at(moment: dt.datetime) -> Iterator[None]:
    with time_machine.travel(moment, tick=True):
        yield


def select(table: str, columns: str = "*", where: str = "", params: tuple[Any, ...] = ()) -> list[Any]:
    """Rows as stored, read with plain SQL (table and columns are this file's constants)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {connection.ops.quote_name(table)} {where}", params)
        return list(cursor.fetchall())


def whole_database() -> str:
    return "\n".join(f"{t}: {select(t)!r}" for t in connection.introspection.table_names())


@dataclass
class Scenario:
    chat_case: Case
    h5_case: Case
    mine_page: str  # “我的举报” as the reporter saw it


@pytest.fixture
def scenario(
    settings: Any,
    wechat_simulator: Simulator,
    make_user: Callable[..., User],
    media_root: Any,
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
) -> Scenario:
    sim = wechat_simulator
    wechat = WeChatServer(Client(), settings.WECHAT)

    def committed() -> AbstractContextManager[Any]:  # what the outbox enqueues on commit runs (Huey inline)
        return django_capture_on_commit_callbacks(execute=True)

    operator, handler, reviewer = make_user("operator"), make_user("handler"), make_user("reviewer")
    with at(T0), committed():
        assert "欢迎关注" in wechat.reply(wechat.event(OPENID, "subscribe"))
        assert "已记录" in wechat.reply(wechat.text(OPENID, "南京路化工厂夜里排黑水，河道发臭。"))
        assert "和平区" in wechat.reply(wechat.location(OPENID, 39.1172, 117.2150, "和平区南京路"))
        ack = wechat.reply(wechat.text(OPENID, "提交"))
    chat_case = Case.objects.get()
    assert chat_case.number in ack
    with at(T0 + HOUR):  # the status query finds the reporter's case by the blind index
        assert chat_case.number in wechat.reply(wechat.text(OPENID, "查询"))

    # Accepted three days later: the 48-hour window is closed and no notices were accepted, so it waits.
    with at(T0 + 3 * DAY), committed():
        services.case_accept(case=chat_case, actor=operator)
    accepted = OutboxMessage.objects.get(case=chat_case, template="accepted")
    assert accepted.status == OutboxMessage.Status.WAITING
    assert sim.received() == []
    # The reporter writes again: the waiting notice is released and delivered through WeChat.
    with at(T0 + 3 * DAY + HOUR), committed():
        assert f"举报编号：{chat_case.number}\n当前状态：" in wechat.reply(
            wechat.text(OPENID, f"查询 {chat_case.number}")
        )
    accepted.refresh_from_db()
    assert (accepted.status, accepted.channel) == (OutboxMessage.Status.SENT, OutboxMessage.Channel.CUSTOM)
    assert [(r.openid, r.text) for r in sim.received()] == [(OPENID, accepted.text)]

    # Handled a week later: the closing notice waits again; the reporter files on the H5 form and opens
    # “我的举报”, which shows what WeChat could not carry.
    with at(T0 + 8 * DAY), committed():
        case = services.case_assign(
            case=Case.objects.get(pk=chat_case.pk), actor=operator, department=handler.department
        )
        case = services.case_submit_reply(case=case, actor=handler, **FIVE)
        services.case_approve(case=case, actor=reviewer)
    [closing] = OutboxMessage.objects.filter(case=chat_case, status=OutboxMessage.Status.WAITING)
    with at(T0 + 8 * DAY + HOUR), committed():
        browser = Client()
        assert oauth_login(browser, sim, OPENID).status_code == 302
        assert browser.post("/portal/report/", form_data()).status_code == 302
        h5_case = Case.objects.exclude(pk=chat_case.pk).get()
        page = browser.get("/portal/mine/").content.decode()
    assert chat_case.number in page and h5_case.number in page
    assert "未能通过微信送达" in page and closing.text.replace("\n", "<br>") in page
    closing.refresh_from_db()
    assert (closing.status, closing.channel) == (OutboxMessage.Status.SENT, OutboxMessage.Channel.H5)
    # The H5 report is the same matter: closed as a duplicate (so both cases' retention periods run).
    with at(T0 + 8 * DAY + 2 * HOUR), committed():
        services.case_mark_duplicate(case=h5_case, actor=operator, duplicate_of=chat_case)
    return Scenario(chat_case=chat_case, h5_case=h5_case, mine_page=page)


def test_no_table_holds_the_openid_in_clear(scenario: Scenario) -> None:
    everything = whole_database()
    assert OPENID not in everything
    assert OPENID.removeprefix("oAtRest-") not in everything  # not even a recognisable part of it
    # ... while the rows are all there, encrypted and indexed.
    digest = blind_index(OPENID)
    outbox = select("wechat_outboxmessage", "openid, openid_digest, template, status, channel")
    assert (
        len(outbox) == 5
    )  # acknowledgement, accepted, closing; the H5 acknowledgement, its duplicate notice
    assert all(openid.startswith(PREFIXES) and index == digest for openid, index, *_ in outbox)
    inbound = select(
        "wechat_inboundmessage", "openid_digest, dedupe_key, raw", "ORDER BY id"
    )  # 4 + 2 queries
    assert len(inbound) == 6 and {index for index, _, _ in inbound} == {digest}
    assert inbound[0][1].startswith(f"evt:{digest}:") and inbound[0][1].endswith(":subscribe")
    assert all("<FromUserName><![CDATA[]]></FromUserName>" in raw for _, _, raw in inbound)
    for table in ("wechat_conversation", "portal_submission"):
        [(openid, index)] = select(table, "openid, openid_digest")
        assert openid.startswith(PREFIXES) and index == digest, table


def test_retention_erases_the_blind_index_with_the_openid(scenario: Scenario) -> None:
    digest = blind_index(OPENID)
    with at(T0 + 8 * DAY + 1096 * DAY):
        assert retention_erase().cases == 2
    ids = (scenario.chat_case.pk, scenario.h5_case.pk)
    of_cases = "WHERE case_id IN (%s, %s)"
    assert {row for row in select("wechat_outboxmessage", "openid, openid_digest", of_cases, ids)} == {
        ("", "")
    }
    assert select("portal_submission", "openid, openid_digest", of_cases, ids) == [("", "")]
    [submit] = select("wechat_inboundmessage", "openid_digest, raw, dedupe_key", of_cases, ids)
    assert submit[:2] == ("", "") and submit[2].startswith("msg:")
    assert not reporter_list(openid=OPENID).exists()
    # What stays of the reporter is not linked to any case: the conversation (still encrypted) and the
    # chat messages before the report, by the blind index.
    assert select("wechat_outboxmessage", "id", "WHERE openid_digest = %s", (digest,)) == []
    assert select("portal_submission", "id", "WHERE openid_digest = %s", (digest,)) == []
    linked = select(
        "wechat_inboundmessage", "id", "WHERE openid_digest = %s AND case_id IS NOT NULL", (digest,)
    )
    assert linked == []
