"""Followers are told when the case they follow closes (``followers_notify_closed``, a closing hook). A
hotline caller attached to the case (a phone follower, no openid) gets no WeChat notice: the case still
closes, and the notice meant for followers never goes to the case's reporter instead."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eco12369.cases.models import Case, Channel, State
from eco12369.followup.services import case_follow, case_follow_call
from eco12369.notifications.models import OutboxMessage

from .conftest import People, handled

pytestmark = pytest.mark.django_db
REPORTER = "oREPORTER-of-the-case"
FOLLOWER = "oFOLLOWER-on-wechat"
FOLLOWERS_NOTICE = "您关注的举报"


def texts_to(openid: str, case: Case) -> list[str]:
    return [m.text for m in OutboxMessage.objects.filter(case=case) if m.openid == openid]


def test_a_phone_case_with_a_phone_follower_closes(make_case: Callable[..., Case], people: People) -> None:
    case = make_case("和平区", channel=Channel.PHONE, reporter_openid="", reporter_phone="13800000001")
    follow, created = case_follow_call(case=case, actor=people.hp.operator, phone="13900000002", name="李四")
    assert created and follow.openid == ""
    closed = handled(case, people)
    assert closed.state == State.CLOSED
    assert Case.objects.get(pk=case.pk).state == State.CLOSED  # committed, not rolled back
    assert not OutboxMessage.objects.filter(case=case).exists()  # nobody on WeChat to tell


def test_a_phone_follower_sends_the_wechat_reporter_no_followers_notice(
    make_case: Callable[..., Case], people: People
) -> None:
    case = make_case("和平区", reporter_openid=REPORTER)
    case_follow_call(case=case, actor=people.hp.operator, phone="13900000002", name="李四")
    closed = handled(case, people)
    assert closed.state == State.CLOSED
    to_reporter = texts_to(REPORTER, case)
    assert any(closed.number in t for t in to_reporter)  # the reporter's own notices did go out
    assert not any(FOLLOWERS_NOTICE in t for t in to_reporter), to_reporter
    assert not OutboxMessage.objects.filter(case=case, text__contains=FOLLOWERS_NOTICE).exists()


def test_a_wechat_follower_is_told_beside_a_phone_follower(
    make_case: Callable[..., Case], people: People
) -> None:
    case = make_case("和平区", reporter_openid=REPORTER)
    case_follow(case=case, openid=FOLLOWER, note="我也看到了")
    case_follow_call(case=case, actor=people.hp.operator, phone="13900000002", name="李四")
    closed = handled(case, people)
    told = [t for t in texts_to(FOLLOWER, case) if FOLLOWERS_NOTICE in t]
    assert told == [
        f"{FOLLOWERS_NOTICE}（编号 {closed.number}）已办结（{closed.get_outcome_display()}）。如问题仍然存在，欢迎再次举报。"
    ]
    assert OutboxMessage.objects.filter(case=case, text__contains=FOLLOWERS_NOTICE).count() == 1
    assert not any(FOLLOWERS_NOTICE in t for t in texts_to(REPORTER, case))
