"""Issue 14: a caller who phoned a report in sends “查询 <编号> <查询码>” from their own WeChat, through the
signed, encrypted callback: they get the case's status, the case is bound to their WeChat (audited, on the
timeline) and its notices reach them through the outbox. A wrong code is refused without telling whether
the number exists, and guessing is limited per WeChat account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from eco12369.audit.models import AuditEntry
from eco12369.cases import services
from eco12369.cases.models import Case, CaseEvent
from eco12369.crypto import blind_index, blind_q
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.models import User
from eco12369.wechat import texts
from eco12369.wechat.models import Conversation
from eco12369.wechat.status import CODE_TRIES

from .conftest import WeChatServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def phoned_in(make_case: Callable[..., Case]) -> Case:
    """What the hotline form records: a phone case with the caller's number, no WeChat."""
    return make_case(
        "和平区",
        channel="phone",
        reporter_openid="",
        reporter_phone="13502223344",
        reporter_name="赵大爷",
        description="小区后面那个汽修厂天天晚上喷漆，味儿大得没法睡觉",
        category="air",
    )


def _wrong(code: str) -> str:
    """Another code of the same shape (the last character changed)."""
    return code[:-1] + ("X" if code[-1] != "X" else "Y")


def test_the_right_code_answers_and_binds_the_case_to_the_callers_wechat(
    wechat: WeChatServer, phoned_in: Case, make_user: Callable[..., User]
) -> None:
    openid = "oCallerZhao"
    reply = wechat.reply(wechat.text(openid, f"查询 {phoned_in.number} {phoned_in.query_code.lower()}"))
    assert f"举报编号：{phoned_in.number}" in reply and "当前状态：" in reply
    assert texts.CODE_BOUND in reply
    case = Case.objects.get(pk=phoned_in.pk)
    assert case.reporter_openid == openid and case.reporter_phone == "13502223344"  # the caller's data kept
    event = CaseEvent.objects.get(case=case, action="bind_wechat")
    assert event.actor is None and "绑定" in event.note
    entry = AuditEntry.objects.get(action="case.bind_wechat", object_id=case.number)
    assert entry.actor is None and openid not in str(entry.detail) and openid not in entry.actor_label
    # From now on the case's notices go to that WeChat through the outbox, as a WeChat reporter's do.
    operator = make_user("operator", district_name="和平区")
    services.case_accept(case=case, actor=operator)
    notice = OutboxMessage.objects.get(case=case, template="accepted")
    assert notice.openid_digest == blind_index(openid)
    # and 查询 without the code now finds it, as for any reporter's own case
    assert f"举报编号：{case.number}" in wechat.reply(wechat.text(openid, f"查询 {case.number}"))
    # the same code again changes nothing (no second binding event)
    again = wechat.reply(wechat.text(openid, f"查询：{case.number}，查询码 {case.query_code}"))
    assert f"举报编号：{case.number}" in again and texts.CODE_BOUND not in again
    assert CaseEvent.objects.filter(case=case, action="bind_wechat").count() == 1


def test_a_wrong_code_and_an_unknown_number_get_the_same_refusal(
    wechat: WeChatServer, phoned_in: Case
) -> None:
    openid = "oStrangerQian"
    wrong = wechat.reply(wechat.text(openid, f"查询 {phoned_in.number} {_wrong(phoned_in.query_code)}"))
    unknown_number = phoned_in.number[:-1] + ("9" if phoned_in.number[-1] != "9" else "8")
    unknown = wechat.reply(wechat.text(openid, f"查询 {unknown_number} {phoned_in.query_code}"))
    left = CODE_TRIES - 1
    assert wrong == texts.CODE_REFUSED.format(left=left)
    assert unknown == texts.CODE_REFUSED.format(left=left - 1)  # the same words, one try fewer
    assert phoned_in.number not in wrong + unknown and "当前状态" not in wrong + unknown
    assert Case.objects.get(pk=phoned_in.pk).reporter_openid == ""
    assert not CaseEvent.objects.filter(action="bind_wechat").exists()


def test_guessing_codes_is_limited_per_wechat_account(wechat: WeChatServer, phoned_in: Case) -> None:
    guesser = "oGuesserSun"
    for i in range(CODE_TRIES - 1):
        reply = wechat.reply(wechat.text(guesser, f"查询 {phoned_in.number} {_wrong(phoned_in.query_code)}"))
        assert reply == texts.CODE_REFUSED.format(left=CODE_TRIES - 1 - i)
    last = wechat.reply(wechat.text(guesser, f"查询 {phoned_in.number} {_wrong(phoned_in.query_code)}"))
    assert "输错次数过多" in last and "60分钟后再试" in last
    # Locked: even the right code is refused now, and nothing is bound.
    locked = wechat.reply(wechat.text(guesser, f"查询 {phoned_in.number} {phoned_in.query_code}"))
    assert "输错次数过多" in locked and "当前状态" not in locked
    assert Case.objects.get(pk=phoned_in.pk).reporter_openid == ""
    # Another account is not affected.
    other = wechat.reply(wechat.text("oCallerLi", f"查询 {phoned_in.number} {phoned_in.query_code}"))
    assert texts.CODE_BOUND in other
    # The window over, the guesser may try again (and is told the case belongs to another WeChat).
    conv = Conversation.objects.get(blind_q("openid", guesser))
    assert conv.code_failures == CODE_TRIES and conv.code_failures_since is not None
    Conversation.objects.filter(pk=conv.pk).update(
        code_failures_since=conv.code_failures_since - dt.timedelta(minutes=61)
    )
    later = wechat.reply(wechat.text(guesser, f"查询 {phoned_in.number} {phoned_in.query_code}"))
    assert f"举报编号：{phoned_in.number}" in later and texts.CODE_BOUND_OTHER in later


def test_the_code_of_a_wechat_reporters_case_shows_its_state_but_never_rebinds_it(
    wechat: WeChatServer, make_case: Callable[..., Case]
) -> None:
    case = make_case("河西区", reporter_openid="oOwnerWang", description="河西某洗车店污水直排雨水井")
    reply = wechat.reply(wechat.text("oNeighbourChen", f"查询 {case.number} {case.query_code}"))
    assert f"举报编号：{case.number}" in reply and texts.CODE_BOUND_OTHER in reply
    assert Case.objects.get(pk=case.pk).reporter_openid == "oOwnerWang"
    assert not CaseEvent.objects.filter(action="bind_wechat").exists()


@pytest.mark.parametrize("typed", ["查询 {n} ABC", "查询 {n} K7M2Q9XW4", "查询 TJ12345678 K7M2Q9XW4P"])
def test_a_code_that_cannot_be_read_is_told_how_to_query(
    wechat: WeChatServer, phoned_in: Case, typed: str
) -> None:
    reply = wechat.reply(wechat.text("oTypoZhou", typed.format(n=phoned_in.number)))
    assert "没有读懂" in reply and "查询码" in reply
    assert Conversation.objects.get(blind_q("openid", "oTypoZhou")).code_failures == 0
