"""Reporting by chat: text, photos, location, 提交; 查询; subscribe; menu clicks; the menu command."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command
from PIL import Image

from eco12369.cases.models import Case
from eco12369.cases.services import case_accept, case_answer, case_approve, case_escalate
from eco12369.crypto import blind_q
from eco12369.wechat.models import Conversation, DraftPhoto, InboundMessage
from eco12369.wechat.simulator import Simulator

from .conftest import WeChatServer

pytestmark = pytest.mark.django_db
OPENID = "oChatReporter0001"


def _image(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "#3a7").save(buf, format=fmt)
    return buf.getvalue()


# Real images: what is stored is the photo decoded and encoded again without its metadata.
PNG = _image("PNG")
JPEG = _image("JPEG")
HEPING = (39.1172, 117.2150)
BINHAI = (39.0100, 117.7000)


def test_text_photos_location_then_submit(
    wechat: WeChatServer,
    wechat_simulator: Simulator,
    tianjin: None,
    media_root: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert "已记录您的举报内容" in wechat.reply(wechat.text(OPENID, "某电镀厂向河道排放黄色废水。"))
    assert "已补充" in wechat.reply(wechat.text(OPENID, "每天晚上十点以后排，已持续一周。"))
    for n, data in enumerate([PNG, JPEG], start=1):
        media_id = wechat_simulator.add_media(data, "image/jpeg")
        with django_capture_on_commit_callbacks(execute=True):  # the fetch task runs (Huey is immediate)
            reply = wechat.reply(wechat.image(OPENID, media_id))
        assert f"已收到第{n}张照片" in reply
    assert DraftPhoto.objects.filter(fetched_at__isnull=False).count() == 2
    for draft in DraftPhoto.objects.all():  # randomly named, never after the row id
        assert re.fullmatch(r"wechat/drafts/\d{4}/\d{2}/[0-9a-f]{32}\.(png|jpg)", draft.file.name), (
            draft.file.name
        )
    reply = wechat.reply(wechat.location(OPENID, *BINHAI, "天津市滨海新区某工业园"))
    assert "滨海新区" in reply and "提交" in reply

    ack = wechat.reply(wechat.text(OPENID, "提交"))
    case = Case.objects.get()
    assert case.number in ack
    assert case.description == "某电镀厂向河道排放黄色废水。\n每天晚上十点以后排，已持续一周。"
    assert case.region.name == "滨海新区"
    assert case.agency.name == "天津市滨海新区生态环境局"
    assert case.address == "天津市滨海新区某工业园"
    assert case.latitude is not None and float(case.latitude) == pytest.approx(BINHAI[0])
    assert case.category == "water"
    photos = list(case.attachments.order_by("id"))
    assert [p.content_type for p in photos] == ["image/png", "image/jpeg"]
    with Image.open(photos[0].file) as stored, Image.open(io.BytesIO(PNG)) as sent:
        assert stored.tobytes() == sent.tobytes()  # PNG is lossless: the same picture
    # The draft is gone: the next 提交 does not file it again.
    assert DraftPhoto.objects.count() == 0
    assert "请先用文字描述" in wechat.reply(wechat.text(OPENID, "提交"))
    assert Case.objects.count() == 1
    assert InboundMessage.objects.get(case=case).reply_text == ack


def test_photos_not_fetched_yet_are_attached_after_submit_and_non_images_are_refused(
    wechat: WeChatServer,
    wechat_simulator: Simulator,
    tianjin: None,
    media_root: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    wechat.text(OPENID, "工厂夜间冒黑烟。")
    jpeg = wechat_simulator.add_media(JPEG, "image/jpeg")
    wechat.image(OPENID, jpeg)  # no commit hook: not fetched yet
    wechat.image(OPENID, wechat_simulator.add_media(b"<html>not a picture</html>", "image/jpeg"))
    with django_capture_on_commit_callbacks(execute=False) as after_submit:
        ack = wechat.reply(wechat.text(OPENID, "提交"))
    case = Case.objects.get()
    assert case.number in ack
    # Nothing was downloaded while the callback held the conversation: the photos come after the commit.
    assert case.attachments.count() == 0 and DraftPhoto.objects.count() == 0
    assert case.description == "工厂夜间冒黑烟。"
    for callback in after_submit:
        callback()
    assert [(a.original_name, a.content_type) for a in case.attachments.all()] == [
        ("微信照片1.jpg", "image/jpeg")
    ]
    assert case.category == "air"
    # No location: the city centre confirms and routes it.
    assert case.agency.kind == "city_centre"


def test_a_photo_wechat_did_not_give_at_submit_is_attached_on_retry_once(
    wechat: WeChatServer,
    wechat_simulator: Simulator,
    tianjin: None,
    media_root: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from eco12369.wechat.tasks import attach_chat_photo

    simulator_url = settings.WECHAT["API_BASE_URL"]
    wechat.text(OPENID, "河道排黑水。")
    media_id = wechat_simulator.add_media(PNG, "image/png")
    wechat.image(OPENID, media_id)
    settings.WECHAT = {**settings.WECHAT, "API_BASE_URL": "http://127.0.0.1:9/"}  # WeChat unreachable
    with django_capture_on_commit_callbacks(execute=True):
        assert "已收到" in wechat.reply(wechat.text(OPENID, "提交"))
    case = Case.objects.get()
    assert case.attachments.count() == 0  # the task failed: Huey retries it
    settings.WECHAT = {**settings.WECHAT, "API_BASE_URL": simulator_url}
    attach_chat_photo(case.pk, media_id, 1)  # the retry
    attach_chat_photo(case.pk, media_id, 1)  # a second delivery of the task changes nothing
    [photo] = case.attachments.all()
    assert photo.original_name == "微信照片1.png" and photo.content_type == "image/png"
    # Staff see on the timeline that the photo came after the report was submitted.
    assert list(case.events.filter(action="photo_attach").values_list("note", flat=True)) == [
        "微信照片1在提交后从微信取回，已附入本件。"
    ]
    with Image.open(photo.file) as stored, Image.open(io.BytesIO(PNG)) as sent:
        assert stored.tobytes() == sent.tobytes()


def test_a_photo_wechat_no_longer_has_is_given_up_on_the_timeline(
    wechat: WeChatServer,
    wechat_simulator: Simulator,
    tianjin: None,
    media_root: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    wechat.text(OPENID, "河道排黑水。")
    wechat.image(OPENID, "MEDIA_THE_SIMULATOR_NEVER_HAD")  # WeChat answers 40007 (invalid media_id)
    with django_capture_on_commit_callbacks(execute=True):
        wechat.text(OPENID, "提交")
    case = Case.objects.get()
    assert case.attachments.count() == 0
    [event] = case.events.filter(action="photo_failed")
    assert event.note.startswith("微信照片1未能从微信取回")


def test_the_last_failed_try_of_a_late_photo_is_on_the_timeline(
    wechat: WeChatServer, tianjin: None, settings: Any
) -> None:
    from eco12369.wechat.media import case_photo_attach

    wechat.text(OPENID, "河道排黑水。")
    wechat.text(OPENID, "提交")
    case = Case.objects.get()
    settings.WECHAT = {**settings.WECHAT, "API_BASE_URL": "http://127.0.0.1:9/"}  # WeChat unreachable
    with pytest.raises(requests.ConnectionError):  # raised: Huey retries an earlier try…
        case_photo_attach(case_id=case.pk, media_id="MEDIA1", index=1)
    assert not case.events.filter(action="photo_failed").exists()
    with pytest.raises(requests.ConnectionError):  # …and the last one is written down
        case_photo_attach(case_id=case.pk, media_id="MEDIA1", index=1, last_try=True)
    [event] = case.events.filter(action="photo_failed")
    assert event.note == "微信照片1多次尝试仍未能从微信取回（ConnectionError）。"


def test_a_location_outside_tianjin_goes_to_the_city_centre(wechat: WeChatServer, tianjin: None) -> None:
    wechat.text(OPENID, "工地噪声扰民。")
    assert "不在天津市范围内" in wechat.reply(wechat.location(OPENID, 31.23, 121.47, "上海市"))
    wechat.text(OPENID, "提交")
    assert Case.objects.get().agency.kind == "city_centre"


def test_location_in_heping_routes_to_its_bureau(wechat: WeChatServer, tianjin: None) -> None:
    wechat.text(OPENID, "餐馆后厨油烟直排。")
    wechat.location(OPENID, *HEPING, "和平区南京路")
    wechat.text(OPENID, "提交")
    assert Case.objects.get().region.name == "和平区"


def test_submit_needs_a_description_and_cancel_discards_the_draft(
    wechat: WeChatServer, wechat_simulator: Simulator, tianjin: None, media_root: Any
) -> None:
    assert "请先用文字描述" in wechat.reply(wechat.text(OPENID, "提交"))
    wechat.image(OPENID, wechat_simulator.add_media(PNG, "image/png"))
    assert "请先用文字描述" in wechat.reply(wechat.text(OPENID, "提交"))
    wechat.text(OPENID, "有人倾倒黑渣。")
    assert "已取消" in wechat.reply(wechat.text(OPENID, "取消"))
    assert DraftPhoto.objects.count() == 0
    assert Conversation.objects.get(blind_q("openid", OPENID)).draft_text == ""
    assert "请先用文字描述" in wechat.reply(wechat.text(OPENID, "提交"))
    assert Case.objects.count() == 0


def test_at_most_nine_photos(wechat: WeChatServer, tianjin: None, media_root: Any) -> None:
    wechat.text(OPENID, "工厂排黑水。")
    for i in range(9):
        assert f"第{i + 1}张" in wechat.reply(wechat.image(OPENID, f"media-{i}"))
    assert "最多9张" in wechat.reply(wechat.image(OPENID, "media-10"))
    assert DraftPhoto.objects.count() == 9


# --------------------------------------------------------------------------------------------- 查询
def test_query_shows_public_status_and_only_the_approved_reply(
    wechat: WeChatServer, tianjin: None, make_user: Any
) -> None:
    wechat.text(OPENID, "小区旁边的厂子晚上机器轰鸣。")
    wechat.location(OPENID, *HEPING, "和平区某路")
    wechat.text(OPENID, "提交")
    case = Case.objects.get()
    status = wechat.reply(wechat.text(OPENID, f"查询 {case.number}"))
    assert case.number in status
    assert "已接收，待受理" in status and "天津市和平区生态环境局" in status and "确认期限" in status

    operator, reviewer = make_user("operator"), make_user("reviewer")
    case_answer(case=case, actor=operator, text="经核实，该噪声来自建筑工地，已转城管部门。")
    status = wechat.reply(wechat.text(OPENID, f"查询{case.number}"))
    assert "办理中" in status
    assert "待审核" not in status  # an internal step, as on the H5 pages
    assert "经核实" not in status  # not approved yet: never shown
    case_approve(case=Case.objects.get(pk=case.pk), actor=reviewer)
    status = wechat.reply(wechat.text(OPENID, f"查询：{case.number.lower()}"))
    assert "已答复" in status and "经核实，该噪声来自建筑工地" in status


def test_query_never_shows_internal_states(wechat: WeChatServer, tianjin: None, make_user: Any) -> None:
    """待批转, 待市级协调 and 待审核 are steps of the staff's work: chat shows the H5 pages' public status."""
    wechat.text(OPENID, "河边工厂排黑水。")
    wechat.location(OPENID, *HEPING, "和平区某路")
    wechat.text(OPENID, "提交")
    case = Case.objects.get()
    operator = make_user("operator")
    case = case_escalate(case=case, actor=operator, reason="涉及多个区")
    assert case.get_state_display() == "待市级协调"
    for query in (f"查询 {case.number}", "查询"):
        reply = wechat.reply(wechat.text(OPENID, query))
        assert "已接收，待受理" in reply and "待市级协调" not in reply
    centre = make_user("operator", district_name=None)
    case = case_accept(case=Case.objects.get(pk=case.pk), actor=centre)
    assert case.get_state_display() == "待批转"
    for query in (f"查询 {case.number}", "查询"):
        reply = wechat.reply(wechat.text(OPENID, query))
        assert "已受理，办理中" in reply and "待批转" not in reply


def test_query_never_shows_another_reporters_case(wechat: WeChatServer, tianjin: None) -> None:
    wechat.text("oSomeoneElse", "排污口排黑水。")
    wechat.text("oSomeoneElse", "提交")
    number = Case.objects.get().number
    reply = wechat.reply(wechat.text(OPENID, f"查询 {number}"))
    assert "未找到" in reply
    assert "待确认" not in reply and "生态环境局" not in reply
    assert "未找到" in wechat.reply(wechat.text(OPENID, "查询 TJ20990101000001"))


def test_query_without_number_lists_my_cases(wechat: WeChatServer, tianjin: None) -> None:
    assert "还没有" in wechat.reply(wechat.text(OPENID, "查询"))
    wechat.text(OPENID, "工厂排黑烟。")
    wechat.text(OPENID, "提交")
    reply = wechat.reply(wechat.text(OPENID, "查询"))
    assert Case.objects.get().number in reply


# ---------------------------------------------------------------------------------- events and menu
def test_subscribe_gets_the_welcome_with_the_scope_of_article_6(wechat: WeChatServer, tianjin: None) -> None:
    welcome = wechat.reply(wechat.event(OPENID, "subscribe"))
    for words in ("欢迎关注", "第六条", "冒黑烟", "排黑水", "噪声", "危险废物", "提交", "保密"):
        assert words in welcome
    assert Conversation.objects.get(blind_q("openid", OPENID)).subscribed
    assert wechat.event(OPENID, "unsubscribe").content == b"success"
    assert not Conversation.objects.get(blind_q("openid", OPENID)).subscribed


def test_menu_click_on_rules_is_answered_with_the_rules(wechat: WeChatServer, tianjin: None) -> None:
    rules = wechat.reply(wechat.event(OPENID, "CLICK", key="RULES"))
    assert "举报须知" in rules and "2个工作日" in rules and "60日" in rules and "30日" in rules
    assert wechat.event(OPENID, "VIEW", key="http://127.0.0.1:8000/portal/report/").content == b"success"


def test_subscription_notice_consent_is_recorded(wechat: WeChatServer, settings: Any, tianjin: None) -> None:
    tid = settings.WECHAT["SUBSCRIBE_TEMPLATE_ID"]
    popup = (
        "<xml><ToUserName>gh</ToUserName><FromUserName>%s</FromUserName><CreateTime>%d</CreateTime>"
        "<MsgType>event</MsgType><Event>subscribe_msg_popup_event</Event><SubscribeMsgPopupEvent><List>"
        "<TemplateId>%s</TemplateId><SubscribeStatusString>%s</SubscribeStatusString><PopupScene>2</PopupScene>"
        "</List></SubscribeMsgPopupEvent></xml>"
    )
    import time

    assert wechat.push(popup % (OPENID, int(time.time()), tid, "accept")).status_code == 200
    assert Conversation.objects.get(blind_q("openid", OPENID)).notify_consent
    assert wechat.push(popup % (OPENID, int(time.time()) + 1, tid, "reject")).status_code == 200
    assert not Conversation.objects.get(blind_q("openid", OPENID)).notify_consent


def test_help_for_an_empty_message(wechat: WeChatServer, tianjin: None) -> None:
    assert "举报方法" in wechat.reply(wechat.text(OPENID, "帮助"))


def test_menu_command_pushes_the_menu_to_wechat(wechat_simulator: Simulator, settings: Any) -> None:
    settings.WECHAT = {**settings.WECHAT, "SITE_URL": "https://12369.example.cn/"}
    call_command("wechat_menu")
    menu = wechat_simulator.state.menu
    assert menu is not None
    assert [b["name"] for b in menu["button"]] == ["提交举报", "我的举报", "举报须知"]
    assert menu["button"][0] == {
        "type": "view",
        "name": "提交举报",
        "url": "https://12369.example.cn/portal/report/",
    }
    assert menu["button"][1]["url"] == "https://12369.example.cn/portal/mine/"
    assert menu["button"][2] == {"type": "click", "name": "举报须知", "key": "RULES"}


def test_menu_command_reports_an_unreachable_wechat() -> None:
    with pytest.raises(CommandError, match="菜单推送失败"):
        call_command("wechat_menu")


def test_only_a_message_opens_the_48_hour_window(
    wechat: WeChatServer, tianjin: None, django_capture_on_commit_callbacks: Any
) -> None:
    """WeChat's 客服消息 rules: a message opens 48 hours (5 messages); a menu CLICK, subscribing or a scan only
    3 messages in 1 minute; a VIEW link, a LOCATION report or a subscription-notice answer nothing."""
    from eco12369.notifications.models import OutboxMessage
    from eco12369.notifications.services import outbox_write

    def last_inbound() -> Any:
        return Conversation.objects.get(blind_q("openid", OPENID)).last_inbound_at

    wechat.event(OPENID, "subscribe")
    assert last_inbound() is None
    wechat.event(OPENID, "VIEW", key="http://127.0.0.1:8000/portal/mine/")
    location = WeChatServer.xml(
        OPENID, "event", Event="LOCATION", Latitude="39.1", Longitude="117.2", Precision="30"
    )
    assert wechat.push(location).status_code == 200
    wechat.event(OPENID, "CLICK", key="RULES")
    wechat.event(OPENID, "SCAN", key="1")
    assert last_inbound() is None
    # A message no channel carries waits; a VIEW click does not release it, a message does.
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox_write(case=None, openid=OPENID, template="status", text="进度通知")
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.WAITING
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        wechat.event(OPENID, "VIEW", key="http://127.0.0.1:8000/portal/report/")
    assert callbacks == []
    wechat.text(OPENID, "帮助")
    assert last_inbound() is not None
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.PENDING  # released for the outbox to deliver
