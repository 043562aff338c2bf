"""The notification centre: alerts for due soon, overdue and supervision orders (once per case and kind),
each person's choices, the unread count in the header, opening and reading."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from eco12369.cases import services
from eco12369.workbench.alerts import alerts_scan
from eco12369.workbench.models import AgencyAlertChannel, StaffNotification

from .conftest import advance


def kinds_of(user) -> list[str]:
    return sorted(StaffNotification.objects.filter(recipient=user).values_list("kind", flat=True))


def test_due_soon_then_overdue_once_each_for_the_people_holding_the_case(heping, hexi, make_case) -> None:
    case = make_case("和平区", description="小区门口的烧烤摊油烟太大了！！")
    assert case.warn_at is not None and case.due_at is not None
    soon = case.warn_at + dt.timedelta(minutes=5)
    assert alerts_scan(now=soon) == 1  # the operator confirms: only they hold a received case
    assert alerts_scan(now=soon + dt.timedelta(minutes=10)) == 0  # once per case and kind
    late = case.due_at + dt.timedelta(hours=1)
    assert alerts_scan(now=late) == 1 and alerts_scan(now=late) == 0
    assert kinds_of(heping.operator) == ["due_soon", "overdue"]
    assert kinds_of(heping.handler) == [] and kinds_of(hexi.operator) == []
    overdue = StaffNotification.objects.get(kind="overdue")
    assert overdue.text == f"举报件 {case.number} 已超过确认期限"


def test_the_closing_deadline_alerts_the_handlers_of_the_department(heping, make_case) -> None:
    case = advance(make_case("和平区"), heping, "handling")
    assert case.due_at is not None
    alerts_scan(now=case.due_at + dt.timedelta(minutes=1))
    assert kinds_of(heping.handler) == ["overdue"]
    assert "办结期限" in StaffNotification.objects.get(recipient=heping.handler).text


def test_a_supervision_order_reaches_the_district(heping, make_case, make_user) -> None:
    city = make_user("operator", district_name=None)
    case = advance(make_case("和平区"), heping, "handling")
    services.case_supervise(
        case=case,
        actor=city,
        instruction="群众反映强烈，请于5个工作日内查清并回复",
        answer_due=timezone.localdate() + dt.timedelta(days=7),
    )
    assert alerts_scan() == 4  # the bureau's operator, handler, reviewer and head
    assert alerts_scan() == 0
    assert kinds_of(heping.head) == ["supervision"] and kinds_of(city) == []


def test_a_muted_kind_is_not_created(client: Client, heping, make_case) -> None:
    client.force_login(heping.operator)
    url = reverse("workbench:notification_preferences")
    assert client.post(url, {"kinds": ["mention", "overdue"], "email_digest": "on"}).status_code == 302
    case = make_case("和平区")
    alerts_scan(now=case.warn_at + dt.timedelta(minutes=1))
    assert kinds_of(heping.operator) == []
    page = client.get(url).content.decode()
    assert 'value="due_soon">' in page and 'value="overdue" checked>' in page


def test_unread_count_in_the_header_then_open_marks_read(client: Client, heping, make_case) -> None:
    case = advance(make_case("和平区"), heping, "handling")
    client.force_login(heping.operator)
    client.post(
        reverse("workbench:case_note_add", args=[case.number]),
        {"body": f"@{heping.handler.username} 企业说设备检修中，下周一再去"},
    )
    client.force_login(heping.handler)
    home = client.get(reverse("workbench:queue")).content.decode()
    assert reverse("workbench:notifications_badge") in home
    badge = client.get(reverse("workbench:notifications_badge")).content.decode()
    assert "1 条未读通知" in badge
    page = client.get(reverse("workbench:notifications")).content.decode()
    assert f"在举报件 {case.number} 的内部备注中提及了您" in page and "1 条未读" in page
    item = StaffNotification.objects.get(recipient=heping.handler)
    opened = client.post(reverse("workbench:notification_open", args=[item.pk]))
    assert opened["Location"] == reverse("workbench:case", args=[case.number]) + "#notes"
    assert "未读" not in client.get(reverse("workbench:notifications_badge")).content.decode()


def test_someone_elses_notification_cannot_be_opened(client: Client, heping, make_case) -> None:
    case = make_case("和平区")
    alerts_scan(now=case.due_at + dt.timedelta(minutes=1))
    item = StaffNotification.objects.get(recipient=heping.operator)
    client.force_login(heping.handler)
    assert client.post(reverse("workbench:notification_open", args=[item.pk])).status_code == 404
    client.post(reverse("workbench:notifications_read_all"))
    assert StaffNotification.objects.get(pk=item.pk).read_at is None


def test_daily_digest_by_email_once_per_person_respecting_the_choice(
    client: Client, heping, make_case, make_user
) -> None:
    night_shift = make_user("operator", display_name="夜班 赵某")
    for person, address in (
        (heping.operator, "caozuoyuan.hp@example.cn"),
        (night_shift, "zhao_night@example.cn"),
    ):
        person.email = address
        person.save(update_fields=["email"])
    client.force_login(night_shift)
    client.post(reverse("workbench:notification_preferences"), {"kinds": ["overdue", "mention"]})  # no e-mail
    case = make_case("和平区", description="工地晚上十二点还在打桩，吵得孩子睡不着")
    alerts_scan(now=case.due_at + dt.timedelta(minutes=1))
    assert kinds_of(night_shift) == ["overdue"]  # in the centre, not by e-mail

    call_command("send_digest")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["caozuoyuan.hp@example.cn"] and "1 条未读" in message.subject
    assert f"举报件 {case.number} 已超过确认期限" in message.body and f"/cases/{case.number}/" in message.body
    assert "打桩" not in message.body  # no case content by e-mail, only the number and the link
    call_command("send_digest")
    assert len(mail.outbox) == 1  # each notification goes by e-mail once


def test_a_returned_case_alerts_the_operators_once(heping, make_case) -> None:
    case = advance(make_case("和平区", description="河边有人烧垃圾，烟很大"), heping, "handling")
    services.case_send_back(case=case, actor=heping.handler, reason="烧垃圾归城管管，不是我们科室的")
    assert alerts_scan() == 1 and alerts_scan() == 0
    item = StaffNotification.objects.get(kind="returned")
    assert item.recipient == heping.operator
    assert item.text == f"举报件 {case.number} 被{heping.department.name}退单，请重新批转"


class _WeComRobot(BaseHTTPRequestHandler):
    """Stands in for WeCom's group-robot endpoint: POST JSON {msgtype, text{content}} → {errcode, errmsg}."""

    received: ClassVar[list[dict]] = []
    fail = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body)
        answer = (
            {"errcode": 93000, "errmsg": "invalid webhook url"}
            if type(self).fail
            else {"errcode": 0, "errmsg": "ok"}
        )
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_the_agencys_wecom_robot_hears_each_alert_once_and_failures_never_block(
    heping, make_case, caplog
) -> None:
    server = HTTPServer(("127.0.0.1", 0), _WeComRobot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _WeComRobot.received = []
        _WeComRobot.fail = False
        url = f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=693a91f6-7xxx"
        AgencyAlertChannel.objects.create(agency=heping.operator.agency, wecom_webhook=url)
        case = make_case("和平区", description="废品站有人烧电线，黑烟")
        alerts_scan(now=case.due_at + dt.timedelta(minutes=1))
        alerts_scan(now=case.due_at + dt.timedelta(minutes=20))
        assert _WeComRobot.received == [
            {"msgtype": "text", "text": {"content": f"举报件 {case.number} 已超过确认期限"}}
        ]
        _WeComRobot.fail = True
        other = make_case("和平区", description="噪音扰民")
        assert alerts_scan(now=other.due_at + dt.timedelta(minutes=1)) == 1  # the alert is given all the same
        assert "WeCom webhook" in caplog.text and "93000" in caplog.text
    finally:
        server.shutdown()
    AgencyAlertChannel.objects.update(wecom_webhook=url)  # the server is gone: a refused connection is logged
    third = make_case("和平区", description="河里死鱼")
    assert alerts_scan(now=third.due_at + dt.timedelta(minutes=1)) == 1
