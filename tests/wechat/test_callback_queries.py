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
# the nonce, the message record, the conversation (locked; inserted for a first message), released
# waiting notices, the conversation and the record's reply. "提交" adds the case: the district's bureau,
# the working-day calendar, the number, the case, its fingerprint and its bigrams (one bulk INSERT, the
# duplicate finder's look-up table since issue 13), timeline event and acknowledgement, the audit entry,
# the draft's photos (read once), the dashboard's three rollups (the day's and the month's intake, the
# located case's grid cell: one upsert each, stats.rollups), and the acknowledgement answered passively (one
# UPDATE … RETURNING marks it sent and gives its text, and its delivery record). The audit entry is two
# statements on PostgreSQL, three on SQLite (audit.services). (The nonce is one INSERT per message, counted in
# every step above.) Issue 16: the conversation's SELECT, the waiting notices' release and the two UPDATEs are
# written by hand (compiling the ORM's queries cost more CPU than the rest of a message), the same statements.
TEXT_QUERIES = 8
FIRST_TEXT_QUERIES = 10


def submit_queries() -> int:
    return 26 if connection.vendor == "postgresql" else 27


def test_each_step_of_a_chat_report_takes_a_bounded_number_of_queries(
    wechat: WeChatServer, tianjin: None, django_assert_num_queries: Any
) -> None:
    for n in range(3):  # other reporters' conversations and cases already there
        wechat.text(f"o-other-{n}", "河边工厂夜里排放黑水，臭味很大")
        wechat.location(f"o-other-{n}", 39.1175, 117.2103, "和平区南京路")
        wechat.text(f"o-other-{n}", "提交")
    with django_assert_num_queries(FIRST_TEXT_QUERIES):
        first = wechat.reply(wechat.text("o-reporter", "小区旁边的工地晚上施工，噪声很大"))
    with django_assert_num_queries(TEXT_QUERIES):
        wechat.reply(wechat.text("o-reporter", "每天晚上十点以后还在打桩"))
    with django_assert_num_queries(TEXT_QUERIES):
        wechat.reply(wechat.location("o-reporter", 39.1175, 117.2103, "和平区南京路"))
    with django_assert_num_queries(submit_queries()):
        acknowledgement = wechat.reply(wechat.text("o-reporter", "提交"))
    case = Case.objects.latest("id")
    assert first and case.number in acknowledgement  # the steps did their work within those queries
    assert Case.objects.count() == 4
