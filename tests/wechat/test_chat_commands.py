"""Issue 12, D1 and D20: chat commands and small talk never become cases; one text limit with the H5 form;
a hint for matters outside Art. 6; the notice consent is confirmed. All through the signed, encrypted
callback (``WeChatServer``), with messages typed the way people type them."""

from __future__ import annotations

import time
from typing import Any

import pytest

from eco12369.cases.models import DESCRIPTION_MIN, TEXT_MAX, Case
from eco12369.crypto import blind_q
from eco12369.portal.forms import DESCRIPTION_MAX
from eco12369.wechat.models import Conversation

from .conftest import WeChatServer

pytestmark = pytest.mark.django_db
HEPING = (39.1172, 117.2150)


def _draft(openid: str) -> str:
    conv = Conversation.objects.filter(blind_q("openid", openid)).first()
    return conv.draft_text if conv else ""


# The reproductions of D1, from a new openid each.
@pytest.mark.parametrize(
    "first",
    ["查询 TJ1234", "查询编号TJ20261207000008", "你好", "您好！", "在吗？", "有人吗", "谢谢", "hi"],
)
def test_a_command_or_a_greeting_then_submit_creates_no_case(
    wechat: WeChatServer, tianjin: None, first: str
) -> None:
    openid = f"oNewcomer-{abs(hash(first)) % 10**8}"
    wechat.reply(wechat.text(openid, first))
    reply = wechat.reply(wechat.text(openid, "提交"))
    assert Case.objects.count() == 0
    assert "请先用文字描述" in reply
    assert _draft(openid) == ""


@pytest.mark.parametrize(
    "typed",
    [
        "查询 TJ1234",
        "查询：TJ12",
        "查询 我的举报怎么样了",
        "查询编号 ABC",
        "查詢　ＴＪ１２",  # traditional, full-width space, letters and digits
    ],
)
def test_a_malformed_query_is_told_how_to_query(wechat: WeChatServer, tianjin: None, typed: str) -> None:
    reply = wechat.reply(wechat.text("oQueryTypo", typed))
    assert "查询 TJ20261207000008" in reply and "没有读懂" in reply
    assert _draft("oQueryTypo") == ""


def test_every_way_of_writing_a_query_finds_the_case(wechat: WeChatServer, tianjin: None) -> None:
    openid = "oZhangMou"
    wechat.text(openid, "南京路化工厂夜里排黑水，河道发臭。")
    wechat.location(openid, *HEPING, "和平区南京路")
    wechat.text(openid, "提交")
    number = Case.objects.get().number
    wide = number.translate({ord(c): ord(c) + 0xFEE0 for c in number})  # full-width, as some keyboards type
    for typed in (
        f"查询 {number}",
        f"查询编号{number}",
        f"查询编号：{number}",
        f"查询：{number}。",
        f"查询 {number.lower()}",
        f"  查询  举报编号 {number} ",
        f"查询{wide}",
        f"查{number}",
    ):
        reply = wechat.reply(wechat.text(openid, typed))
        assert f"举报编号：{number}" in reply, (typed, reply)
    assert _draft(openid) == ""
    assert Case.objects.count() == 1


@pytest.mark.parametrize("typed", ["提交", "提交。", "提 交", "提交！", "确认提交", "提交举报", "提交吧"])
def test_submit_written_any_way_is_the_command(wechat: WeChatServer, tianjin: None, typed: str) -> None:
    wechat.text("oLiSi", "东丽区某化工厂夜里偷排废水，河水发黑。")
    ack = wechat.reply(wechat.text("oLiSi", typed))
    case = Case.objects.get()
    assert case.number in ack
    assert case.description == "东丽区某化工厂夜里偷排废水，河水发黑。"  # the command is not in it


@pytest.mark.parametrize("typed", ["帮助", "帮助。", "Ｈｅｌｐ", "？", "取消", "取消举报", "菜单"])
def test_commands_never_become_draft_text(wechat: WeChatServer, tianjin: None, typed: str) -> None:
    wechat.text("oWangWu", "厂子排黑烟")
    wechat.reply(wechat.text("oWangWu", typed))
    assert typed not in _draft("oWangWu")
    assert "帮助" not in _draft("oWangWu") and "菜单" not in _draft("oWangWu")


def test_greetings_get_the_help_text(wechat: WeChatServer, tianjin: None) -> None:
    for typed in ("你好", "您好，在吗？", "在吗在吗", "有人吗？？", "谢谢！", "Hello", "你好啊", "早上好～"):
        reply = wechat.reply(wechat.text("oZhaoLiu", typed))
        assert "举报方法" in reply, typed
    assert _draft("oZhaoLiu") == ""


def test_a_greeting_inside_a_report_stays_report_text(wechat: WeChatServer, tianjin: None) -> None:
    """Only a message that is nothing but small talk is small talk."""
    wechat.text("oSunQi", "你好，我要举报西青区某铸造厂晚上冒黑烟")
    assert "铸造厂晚上冒黑烟" in _draft("oSunQi")


def test_submit_refuses_a_draft_below_the_h5_minimum_and_says_what_is_missing(
    wechat: WeChatServer, tianjin: None
) -> None:
    assert DESCRIPTION_MIN == 5  # the H5 form's minimum, one constant for both
    wechat.text("oQianBa", "冒烟。。。")
    reply = wechat.reply(wechat.text("oQianBa", "提交"))
    assert "太短" in reply and "现有2个字" in reply and f"至少需要{DESCRIPTION_MIN}个字" in reply
    assert Case.objects.count() == 0
    wechat.text("oQianBa", "塘沽某厂")
    assert "编号" in wechat.reply(wechat.text("oQianBa", "提交"))
    assert Case.objects.count() == 1


def test_submit_with_report_text_after_it_keeps_the_text(wechat: WeChatServer, tianjin: None) -> None:
    ack = wechat.reply(wechat.text("oZhouJiu", "提交：北辰区某电镀厂往沟里倒废液"))
    case = Case.objects.get()
    assert case.number in ack and case.description == "北辰区某电镀厂往沟里倒废液"


def test_a_text_that_only_starts_with_cha_is_report_text(wechat: WeChatServer, tianjin: None) -> None:
    reply = wechat.reply(wechat.text("oWuShi", "查了好几次了，那个厂还在排黑水"))
    assert "已记录您的举报内容" in reply
    assert "还在排黑水" in _draft("oWuShi")


# ---------------------------------------------------------------------------------------------- D20
def test_chat_and_h5_share_one_text_limit_and_a_cut_is_told(wechat: WeChatServer, tianjin: None) -> None:
    assert DESCRIPTION_MAX == TEXT_MAX == 2000
    first = wechat.reply(wechat.text("oLongText", "化工厂排污，" * 550))  # 3,300 characters
    assert "最多2000字" in first and "只保留了前2000字" in first
    wechat.text("oLongText", "提交")
    assert len(Case.objects.get().description) == 2000


@pytest.mark.parametrize(
    "typed, where",
    [
        ("楼下饭店油烟直排，熏得没法开窗", "12345"),
        ("楼上邻居天天半夜装修，吵死了", "110"),
        ("快速路上汽车鸣笛噪声太大", "12345"),
    ],
)
def test_a_matter_outside_article_6_gets_a_hint_where_to_go(
    wechat: WeChatServer, tianjin: None, typed: str, where: str
) -> None:
    reply = wechat.reply(wechat.text("oOutOfScope", typed))
    assert "提示" in reply and where in reply and "第六条" in reply


def test_industrial_pollution_gets_no_scope_hint(wechat: WeChatServer, tianjin: None) -> None:
    reply = wechat.reply(wechat.text("oInScope", "饭店旁边的塑料厂晚上冒黑烟"))
    assert "提示" not in reply


def test_consenting_to_progress_notices_is_confirmed(
    wechat: WeChatServer, settings: Any, tianjin: None
) -> None:
    tid = settings.WECHAT["SUBSCRIBE_TEMPLATE_ID"]
    popup = (
        "<xml><ToUserName>gh</ToUserName><FromUserName>oConsent</FromUserName><CreateTime>%d</CreateTime>"
        "<MsgType>event</MsgType><Event>subscribe_msg_popup_event</Event><SubscribeMsgPopupEvent><List>"
        "<TemplateId>%s</TemplateId><SubscribeStatusString>%s</SubscribeStatusString><PopupScene>2</PopupScene>"
        "</List></SubscribeMsgPopupEvent></xml>"
    )
    assert "已开启办理进度通知" in wechat.reply(wechat.push(popup % (int(time.time()), tid, "accept")))
    assert "未开启" in wechat.reply(wechat.push(popup % (int(time.time()) + 1, tid, "reject")))
