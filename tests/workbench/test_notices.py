"""Notices to reporters as staff see them (DESIGN §9): the case page's "告知举报人记录" panel, the list of
failed and long-waiting notices (scoped like the cases), sending a failed one again; and the case page's
link to the duplicate candidates. The reporter's openid appears nowhere."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from eco12369.audit.models import AuditEntry
from eco12369.cases.models import Case
from eco12369.notifications.models import DeliveryAttempt, OutboxMessage
from eco12369.oversight.duplicates import duplicates_find
from eco12369.wechat import delivery
from eco12369.wechat.models import Conversation

from .conftest import page_text

pytestmark = pytest.mark.django_db

NOTICES = reverse("workbench:notices")


def failed_acknowledgement(case: Case, settings) -> OutboxMessage:
    """The case's acknowledgement, failed through the real delivery (WeChat unreachable, one attempt)."""
    settings.WECHAT = {**settings.WECHAT, "DELIVERY_MAX_ATTEMPTS": 1}
    Conversation.objects.create(openid=case.reporter_openid, last_inbound_at=timezone.now())
    message = OutboxMessage.objects.get(case=case, template="acknowledged")
    assert delivery.outbox_deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    return message


def test_case_page_shows_what_the_reporter_was_told_without_the_openid(
    client: Client, heping, make_case, settings
) -> None:
    case = make_case("和平区", reporter_openid="oSecretOpenid123")
    message = failed_acknowledgement(case, settings)
    client.force_login(heping.handler)  # any role that may see the case
    text = page_text(client.get(reverse("workbench:case", args=[case.number])))
    assert "告知举报人记录" in text
    assert "受理回执" in text and "发送失败" in text
    assert message.last_error and message.last_error[:20] in text
    assert "oSecretOpenid123" not in text
    # A handler may not send it again; the operator may.
    assert reverse("workbench:notice_retry", args=[message.pk]) not in text
    client.force_login(heping.operator)
    text = page_text(client.get(reverse("workbench:case", args=[case.number])))
    assert reverse("workbench:notice_retry", args=[message.pk]) in text


def test_a_notice_wechat_cannot_send_now_is_named_in_plain_words(client: Client, heping, make_case) -> None:
    """Issue 12, D12: a notice no WeChat channel may carry now (the reporter last wrote over 48 hours ago
    and has not subscribed) reads 微信暂不能发送 to staff, with the reason, not the jargon 等待可用通道."""
    case = make_case("和平区", reporter_openid="oWaitingReporter01")
    Conversation.objects.create(
        openid=case.reporter_openid, last_inbound_at=timezone.now() - dt.timedelta(days=3)
    )
    message = OutboxMessage.objects.get(case=case, template="acknowledged")
    assert delivery.outbox_deliver(message_id=message.pk) == "waiting"
    client.force_login(heping.operator)
    text = page_text(client.get(reverse("workbench:case", args=[case.number])))
    assert "微信暂不能发送" in text and "等待可用通道" not in text
    assert "距举报人最近一次来信已超过48小时" in text  # why, from the delivery
    # A day later it is on the notices page, under the same words.
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - dt.timedelta(hours=25))
    listing = page_text(client.get(NOTICES))
    assert case.number in listing and "微信暂不能发送" in listing and "等待可用通道" not in listing
    assert "DESIGN" not in listing  # the page explains itself, it does not cite the design document


def test_notice_list_is_scoped_and_a_failed_notice_is_sent_again(
    client: Client, heping, hexi, make_case, make_user, settings, django_capture_on_commit_callbacks
) -> None:
    mine = failed_acknowledgement(make_case("和平区", reporter_openid="oHePing0001"), settings).case
    theirs = failed_acknowledgement(make_case("河西区", reporter_openid="oHeXi00001"), settings).case
    assert mine is not None and theirs is not None
    # A notice waiting for a channel for a day and more is listed; a fresh one is not.
    waiting = make_case("和平区", reporter_openid="oWaiting0001")
    OutboxMessage.objects.filter(case=waiting).update(
        status=OutboxMessage.Status.WAITING, created_at=timezone.now() - dt.timedelta(hours=30)
    )
    fresh = make_case("和平区", reporter_openid="oFresh00001")

    client.force_login(heping.operator)
    text = page_text(client.get(NOTICES))
    assert mine.number in text and waiting.number in text
    assert theirs.number not in text and fresh.number not in text  # district A never sees district B
    assert "oHePing0001" not in text
    # Another district's notice cannot be sent again from here either.
    other = OutboxMessage.objects.get(case=theirs, template="acknowledged")
    assert client.post(reverse("workbench:notice_retry", args=[other.pk])).status_code == 404
    assert OutboxMessage.objects.get(pk=other.pk).status == "failed"

    client.force_login(make_user("head", district_name=None))  # the city centre sees every district
    text = page_text(client.get(NOTICES))
    assert mine.number in text and theirs.number in text

    # The operator sends theirs again: back to pending, a fresh round of attempts, delivered on commit,
    # audited with who asked.
    client.force_login(heping.operator)
    message = OutboxMessage.objects.get(case=mine, template="acknowledged")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("workbench:notice_retry", args=[message.pk]), {"back": "case"})
    assert response.status_code == 302 and response["Location"] == reverse(
        "workbench:case", args=[mine.number]
    )
    message.refresh_from_db()
    assert message.status in ("pending", "failed")  # WeChat is still unreachable: tried once more
    assert DeliveryAttempt.objects.filter(message=message).count() == 2
    entry = AuditEntry.objects.get(action="wechat.outbox_retry")
    assert (entry.actor, entry.object_id, entry.detail["case"]) == (
        heping.operator,
        str(message.pk),
        mine.number,
    )
    # Only a failed row is sent again.
    OutboxMessage.objects.filter(pk=message.pk).update(status="sent")
    client.post(reverse("workbench:notice_retry", args=[message.pk]))
    assert AuditEntry.objects.filter(action="wechat.outbox_retry").count() == 1


def test_notice_list_access(client: Client, heping, make_case, make_user, settings) -> None:
    case = make_case("和平区", reporter_openid="oAccess0001")
    failed_acknowledgement(case, settings)
    client.force_login(heping.handler)
    assert client.get(NOTICES).status_code == 403
    assert "告知异常" not in page_text(client.get(reverse("workbench:queue")))
    client.force_login(heping.reviewer)
    response = client.get(NOTICES)
    assert response.status_code == 200 and case.number in page_text(response)
    assert "重新发送" not in page_text(response)  # reviewers look, operators and heads act
    # The administrator sees every failure, without case number or text, and may send it again.
    admin = make_user("admin")
    client.force_login(admin)
    text = page_text(client.get(reverse("workbench:home")))
    assert f'href="{NOTICES}"' in text
    text = page_text(client.get(NOTICES))
    message = OutboxMessage.objects.get(case=case, template="acknowledged")
    assert "发送失败" in text and reverse("workbench:notice_retry", args=[message.pk]) in text
    assert case.number not in text and "内容摘要" not in text and message.text[:10] not in text


@pytest.mark.parametrize("rows", [1, 12])
def test_notice_list_query_count_is_bounded(
    client: Client, heping, make_case, rows, settings, django_assert_max_num_queries
) -> None:
    for i in range(rows):
        failed_acknowledgement(make_case("和平区", reporter_openid=f"oCount{i:04d}"), settings)
    client.force_login(heping.operator)
    with django_assert_max_num_queries(12):
        response = client.get(NOTICES)
    assert page_text(response).count('class="notice-row') == rows


def test_case_page_links_the_duplicate_candidates(client: Client, heping, make_case) -> None:
    make_case(
        "和平区", reported_party="天津某某化工厂", description="某化工厂晚上偷排黑水，河道发臭，鱼都死了"
    )
    case = make_case(
        "和平区", reported_party="某某化工厂", description="化工厂夜里偷排黑水，河里臭得很，死鱼很多"
    )
    duplicates_find(case=case)
    url = reverse("oversight:duplicates", args=[case.number])
    client.force_login(heping.operator)
    text = page_text(client.get(reverse("workbench:case", args=[case.number])))
    assert f'href="{url}"' in text and "疑似重复举报（1件）" in text
    response = client.get(url)
    assert response.status_code == 200 and case.number in page_text(response)
    # Handlers do not use the duplicates page: no link.
    client.force_login(heping.handler)
    assert url not in page_text(client.get(reverse("workbench:case", args=[case.number])))


def test_case_page_without_candidates_has_no_duplicates_link(client: Client, heping, make_case) -> None:
    """Issue 12, D8: "疑似重复举报" showed on every case, similar ones or not."""
    make_case("和平区", reported_party="XX餐馆", description="楼下餐馆油烟直排，熏得窗户都不敢开")
    case = make_case(
        "和平区", reported_party="某建筑工地", description="工地半夜还在打桩，吵得根本睡不着！！"
    )
    duplicates_find(case=case)
    client.force_login(heping.operator)
    text = page_text(client.get(reverse("workbench:case", args=[case.number])))
    assert "疑似重复举报" not in text
    assert reverse("oversight:duplicates", args=[case.number]) not in text
