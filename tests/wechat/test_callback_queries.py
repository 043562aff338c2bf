"""The callback's cost per message is bounded (issue #6): a reporter's steps each take a fixed number of
queries, whatever the number of cases, conversations and messages already stored."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from eco12369.cases.models import Case

from .conftest import WeChatServer

pytestmark = pytest.mark.django_db

# The statements of one message, counting the transaction's two (in a test, its SAVEPOINT and RELEASE):
# the nonce, the conversation (locked; inserted for a first message; PostgreSQL: the nonce's INSERT and the
# conversation's SELECT … FOR UPDATE in one statement), the conversation's UPDATE with the
# release of waiting notices (PostgreSQL: one statement, a data-modifying WITH; SQLite: two), and the
# message's record with its reply (one INSERT, last: its unique key is the MsgId dedupe). "提交" adds the
# case: the district and its bureau (one SELECT), the draft's photos (read once), the working-day calendar
# (one SELECT), the number, the case, its fingerprint and its bigrams (the duplicate finder's look-up
# table since issue 13), timeline event and acknowledgement, the dashboard's three rollups (the day's and
# the month's intake, the located case's grid cell: one upsert each, stats.rollups), the audit entry (two
# statements on PostgreSQL, three on SQLite: audit.services), and the acknowledgement answered passively
# (marked sent, its text returned and its delivery recorded: PostgreSQL one statement, SQLite two).
# Issue 16 item 2: the record written once instead of INSERT + UPDATE, the first conversation's INSERT …
# RETURNING instead of INSERT + SELECT, district and bureau in one SELECT, the calendar in one, the
# release with the conversation's UPDATE, the delivery record with the acknowledgement's. Then, on
# PostgreSQL: the conversation's UPDATE and the record's INSERT in one statement, the number taken in the
# case's INSERT, the fingerprint and its bigrams in one, the three rollups in one; the nonce with the
# conversation's lock in one.


def text_queries() -> int:
    return 4 if connection.vendor == "postgresql" else 7


def first_text_queries() -> int:
    return text_queries() + 1


def submit_queries() -> int:
    return 13 if connection.vendor == "postgresql" else 24


def test_each_step_of_a_chat_report_takes_a_bounded_number_of_queries(
    wechat: WeChatServer, tianjin: None, django_assert_num_queries: Any
) -> None:
    for n in range(3):  # other reporters' conversations and cases already there
        wechat.text(f"o-other-{n}", "河边工厂夜里排放黑水，臭味很大")
        wechat.location(f"o-other-{n}", 39.1175, 117.2103, "和平区南京路")
        wechat.text(f"o-other-{n}", "提交")
    with django_assert_num_queries(first_text_queries()):
        first = wechat.reply(wechat.text("o-reporter", "小区旁边的工地晚上施工，噪声很大"))
    with django_assert_num_queries(text_queries()):
        wechat.reply(wechat.text("o-reporter", "每天晚上十点以后还在打桩"))
    with django_assert_num_queries(text_queries()):
        wechat.reply(wechat.location("o-reporter", 39.1175, 117.2103, "和平区南京路"))
    with django_assert_num_queries(submit_queries()):
        acknowledgement = wechat.reply(wechat.text("o-reporter", "提交"))
    case = Case.objects.latest("id")
    assert first and case.number in acknowledgement  # the steps did their work within those queries
    assert Case.objects.count() == 4


def test_the_acknowledgement_sent_as_the_passive_reply_queues_no_delivery(
    wechat: WeChatServer,
    tianjin: None,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The callback answers 提交 with the acknowledgement and marks it sent in its transaction: waking the
    outbox for it would queue a task (a queue round trip) that only finds the row sent. (Released waiting
    notices are still woken: test_delivery.)"""
    from eco12369.notifications import services

    woken: list[int] = []
    monkeypatch.setattr(services, "_waker", lambda message_id, at=None: woken.append(message_id))
    wechat.text("o-passive", "河边工厂夜里排放黑水，臭味很大")
    wechat.location("o-passive", 39.1175, 117.2103, "和平区南京路")
    with django_capture_on_commit_callbacks(execute=True):
        acknowledgement = wechat.reply(wechat.text("o-passive", "提交"))
    case = Case.objects.latest("id")
    assert case.number in acknowledgement
    ack = case.outbox_messages.get()
    assert (ack.status, ack.channel) == ("sent", "passive")
    assert woken == []
