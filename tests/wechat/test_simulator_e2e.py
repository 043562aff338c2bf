"""The simulator as the demo uses it: it plays a reporter against the running platform (signed, encrypted
XML to the callback), and the platform's answers come back through the simulated WeChat API."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from PIL import Image

from eco12369.cases.models import Case
from eco12369.cases.services import case_accept, case_approve, case_assign, case_submit_reply
from eco12369.wechat.simulator import Simulator

pytestmark = pytest.mark.django_db(transaction=True)
OPENID = "oSimE2E0001"


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "#468").save(buf, format="PNG")
    return buf.getvalue()


PNG = _png()  # a real image: what is stored is the photo decoded and encoded again without its metadata


@pytest.mark.parametrize("mode", ["safe", "compat", "plain"])
def test_report_from_the_simulator_and_the_answer_comes_back(
    live_server: Any,
    wechat_simulator: Simulator,
    tianjin: None,
    make_user: Any,
    media_root: Any,
    mode: str,
    settings: Any,
) -> None:
    settings.WECHAT = {**settings.WECHAT, "MESSAGE_MODE": mode}  # the account and the platform agree
    sim = wechat_simulator
    sim.config.callback_url = live_server.url + "/wechat/callback/"
    sim.config.callback_timeout = 60  # here Huey runs every task inline, inside the callback's request
    sim.config.mode = mode
    assert "欢迎关注" in sim.send_event(OPENID, "subscribe")["reply"]
    assert "已记录" in sim.send_text(OPENID, "和平区某洗染厂排放有色废水，河道发臭。")["reply"]
    assert "第1张照片" in sim.send_image(OPENID, PNG)["reply"]
    assert "和平区" in sim.send_location(OPENID, 39.1172, 117.2150, "和平区南京路")["reply"]
    ack = sim.send_text(OPENID, "提交")["reply"]
    case = Case.objects.get()
    assert case.number in ack
    assert case.region.name == "和平区"
    with Image.open(case.attachments.get().file) as stored, Image.open(io.BytesIO(PNG)) as sent:
        assert stored.tobytes() == sent.tobytes()  # fetched from the simulator's media/get (PNG: lossless)
    assert sim.received(OPENID) == []  # the acknowledgement was the passive reply, not sent again

    operator, handler, reviewer = make_user("operator"), make_user("handler"), make_user("reviewer")
    case = case_accept(case=case, actor=operator)
    case = case_assign(case=case, actor=operator, department=handler.department)
    case = case_submit_reply(
        case=case,
        actor=handler,
        party_facts="某洗染厂，有排污许可证。",
        inspection="执法人员现场检查，排污口水样超标。",
        violations="超标排放水污染物。",
        decision="责令停产整改，立案处罚。",
        communication="已电话告知举报人。",
    )
    case_approve(case=case, actor=reviewer)
    texts = [r.text for r in sim.received(OPENID)]
    assert len(texts) == 2
    assert "已由天津市和平区生态环境局受理" in texts[0]
    assert "已办结" in texts[1] and "责令停产整改" in texts[1]
    # The conversation the demo page shows: the reporter's messages, the replies and the pushed messages.
    conv = requests.get(sim.url + "_sim/conversation", params={"openid": OPENID}, timeout=5).json()
    whos = [e["who"] for e in conv["entries"]]
    assert whos.count("user") == 5 and whos.count("reply") == 5 and whos.count("custom") == 2


def test_the_reporter_page_is_served_in_chinese(wechat_simulator: Simulator) -> None:
    res = requests.get(wechat_simulator.url, timeout=5)
    assert res.status_code == 200
    assert "微信模拟器" in res.text and "扮演举报人" in res.text
    assert wechat_simulator.config.callback_url in res.text  # where it sends the reporter's messages


def test_simulator_api_rejects_a_bad_access_token(wechat_simulator: Simulator) -> None:
    res = requests.post(
        wechat_simulator.url + "cgi-bin/message/custom/send",
        params={"access_token": "forged"},
        json={"touser": "x", "msgtype": "text", "text": {"content": "hi"}},
        timeout=5,
    )
    assert res.json()["errcode"] == 40001
    assert wechat_simulator.received() == []
    token = requests.get(
        wechat_simulator.url + "cgi-bin/token",
        params={"grant_type": "client_credential", "appid": "wrong", "secret": "x"},
        timeout=5,
    ).json()
    assert token["errcode"] == 40013
