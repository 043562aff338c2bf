"""回访 in the WeChat chat, through the real callback protocol (signed, encrypted pushes; passive replies):
``评价 <编号> <1/2/3> [意见]``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine

from eco12369.cases.models import Case
from eco12369.crypto import blind_q
from eco12369.followup.models import Rating
from eco12369.wechat.models import Conversation

from ..wechat.conftest import WeChatServer
from .conftest import MONDAY, People, handled

pytestmark = pytest.mark.django_db
OPENID = "oCHAT-RATER-01"


@pytest.fixture
def two_closed(make_case: Callable[..., Case], people: People) -> list[Case]:
    with time_machine.travel(MONDAY, tick=False):
        return [handled(make_case("和平区", reporter_openid=OPENID), people) for _ in range(2)]


def test_rating_by_chat_with_a_comment_goes_to_review(wechat: WeChatServer, two_closed: list[Case]) -> None:
    case = two_closed[0]
    with time_machine.travel(MONDAY + dt.timedelta(days=3), tick=True):
        reply = wechat.reply(wechat.text(OPENID, f"评价 {case.number} 3 夜里还是冒黑烟"))
    assert reply.startswith(f"感谢您的评价！您对举报（编号 {case.number}）的办理结果不满意")
    rating = Rating.objects.get(case=case)
    assert (rating.level, rating.comment, rating.channel, rating.review) == (
        "unsatisfied",
        "夜里还是冒黑烟",
        "wechat_chat",
        "pending",
    )
    # Not a draft report: the conversation stays idle.
    assert Conversation.objects.get(blind_q("openid", OPENID)).draft_text == ""
    with time_machine.travel(MONDAY + dt.timedelta(days=3, minutes=5), tick=True):
        again = wechat.reply(wechat.text(OPENID, f"评价 {case.number} 1"))
    assert again == "您已评价过该举报的办理结果（不满意），每次办理结果只能评价一次。"
    assert Rating.objects.get(case=case).level == "unsatisfied"


def test_words_and_full_width_digits_work(wechat: WeChatServer, two_closed: list[Case]) -> None:
    with time_machine.travel(MONDAY + dt.timedelta(days=1), tick=True):
        first = wechat.reply(wechat.text(OPENID, f"评价：{two_closed[0].number} 基本满意"))
        second = wechat.reply(wechat.text(OPENID, f"评价 {two_closed[1].number} １"))
    assert "“基本满意”" in first and "“满意”" in second
    assert dict(Rating.objects.values_list("case_id", "level")) == {
        two_closed[0].pk: "basic",
        two_closed[1].pk: "satisfied",
    }


def test_listing_and_asking_for_the_number(wechat: WeChatServer, two_closed: list[Case]) -> None:
    with time_machine.travel(MONDAY + dt.timedelta(days=1), tick=True):
        listing = wechat.reply(wechat.text(OPENID, "评价"))
        ambiguous = wechat.reply(wechat.text(OPENID, "评价 2"))
    for case in two_closed:
        assert case.number in listing and case.number in ambiguous
    assert "1 满意，2 基本满意，3 不满意" in listing
    assert ambiguous.startswith("您有多件举报可以评价，请写明编号。")
    assert not Rating.objects.exists()


def test_the_only_rateable_case_is_rated_without_a_number(
    wechat: WeChatServer, make_case: Callable[..., Case], people: People
) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = handled(make_case("和平区", reporter_openid=OPENID), people)
    with time_machine.travel(MONDAY + dt.timedelta(days=1), tick=True):
        reply = wechat.reply(wechat.text(OPENID, "评价 1"))
    assert case.number in reply and Rating.objects.get(case=case).level == "satisfied"


def test_refusals_in_chat(
    wechat: WeChatServer, two_closed: list[Case], make_case: Callable[..., Case]
) -> None:
    other = make_case("和平区", reporter_openid="oSOMEBODY-ELSE")
    with time_machine.travel(MONDAY + dt.timedelta(days=16), tick=True):
        late = wechat.reply(wechat.text(OPENID, f"评价 {two_closed[0].number} 1"))
        nothing = wechat.reply(wechat.text(OPENID, "评价"))
        not_mine = wechat.reply(wechat.text(OPENID, f"评价 {other.number} 3"))
    assert late == "评价期限已过：办结后15日内可以评价（截至2025年3月18日）。"
    assert nothing == "您目前没有可以评价的举报。举报办结后15日内可以评价办理结果。"
    assert not_mine.startswith(f"未找到编号为 {other.number} 的举报")
    assert not Rating.objects.exists()


def test_a_report_that_starts_with_the_word_is_still_a_report(wechat: WeChatServer, tianjin: None) -> None:
    reply = wechat.reply(wechat.text(OPENID, "评价一下河边那家工厂，天天排黑水。"))
    assert "已记录您的举报内容" in reply
    assert (
        Conversation.objects.get(blind_q("openid", OPENID)).draft_text == "评价一下河边那家工厂，天天排黑水。"
    )
