"""Duplicate reports get an answer (Art. 11, 14): the reporter of a duplicate may query the case it was
merged into (its public status only) and is told when that case closes."""

from __future__ import annotations

from typing import Any

import pytest

from eco12369.cases.models import Case
from eco12369.cases.services import case_answer, case_approve, case_mark_duplicate
from eco12369.crypto import blind_q
from eco12369.notifications.models import OutboxMessage

from .conftest import WeChatServer

pytestmark = pytest.mark.django_db
FIRST, SECOND, STRANGER = "oFirstReporter01", "oSecondReporter1", "oStrangerReport1"
HEPING = (39.1172, 117.2150)


def _report(wechat: WeChatServer, openid: str, text: str) -> Case:
    wechat.text(openid, text)
    wechat.location(openid, *HEPING, "和平区某路")
    wechat.text(openid, "提交")
    return Case.objects.filter(blind_q("reporter_openid", openid)).get()


def test_the_reporter_of_a_duplicate_can_query_the_original_and_is_told_when_it_closes(
    wechat: WeChatServer, tianjin: None, make_user: Any
) -> None:
    original = _report(wechat, FIRST, "张三家旁边的电镀厂排黄水，电话13812345678。")
    duplicate = _report(wechat, SECOND, "电镀厂排黄色废水。")
    operator, reviewer = make_user("operator"), make_user("reviewer")
    case_mark_duplicate(case=duplicate, actor=operator, duplicate_of=original)
    notice = OutboxMessage.objects.get(blind_q("openid", SECOND), template="duplicate").text
    assert f"办理结果请查询编号 {original.number}" in notice

    status = wechat.reply(wechat.text(SECOND, f"查询 {original.number}"))
    assert original.number in status and "并入" in status
    assert "已接收，待受理" in status and "天津市和平区生态环境局" in status
    assert "张三" not in status and "13812345678" not in status and "电镀厂排黄水" not in status
    # Their own case points to it.
    assert f"查询 {original.number}" in wechat.reply(wechat.text(SECOND, f"查询 {duplicate.number}"))
    # Nobody else may query it.
    assert "未找到" in wechat.reply(wechat.text(STRANGER, f"查询 {original.number}"))

    case_answer(case=original, actor=operator, text="经核实，该厂已停产整改。")
    case_approve(case=Case.objects.get(pk=original.pk), actor=reviewer)
    told = OutboxMessage.objects.filter(blind_q("openid", SECOND), template="status")
    assert told.count() == 1
    message = told.get()
    assert message.case_id == duplicate.pk
    assert original.number in message.text and "已办结" in message.text
    # The original's reporter gets the answer, not the merged-case notice.
    assert not OutboxMessage.objects.filter(blind_q("openid", FIRST), template="status").exists()

    status = wechat.reply(wechat.text(SECOND, f"查询 {original.number}"))
    assert "已答复" in status and "办结时间" in status
    assert "已停产整改" not in status  # the answer is the original reporter's


def test_a_reporter_who_filed_the_same_matter_twice_gets_no_extra_notice(
    wechat: WeChatServer, tianjin: None, make_user: Any
) -> None:
    original = _report(wechat, FIRST, "电镀厂排黄水。")
    wechat.text(FIRST, "电镀厂又在排黄水。")
    wechat.location(FIRST, *HEPING, "和平区某路")
    wechat.text(FIRST, "提交")
    again = Case.objects.exclude(pk=original.pk).get()
    operator, reviewer = make_user("operator"), make_user("reviewer")
    case_mark_duplicate(case=again, actor=operator, duplicate_of=original)
    case_answer(case=original, actor=operator, text="已查处。")
    case_approve(case=Case.objects.get(pk=original.pk), actor=reviewer)
    assert not OutboxMessage.objects.filter(template="status").exists()
