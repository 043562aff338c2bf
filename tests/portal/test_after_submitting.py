"""The reporter after submitting (issue 14 item 4): 补充材料 (text and photos) and 撤回 (with a reason) on
their own case until it is accepted; a withdrawal closes the case through the state machine, stays on the
timeline and in the audit trail, and counts in the monthly report."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from eco12369.audit.models import AuditEntry
from eco12369.cases import services
from eco12369.cases.models import Case, CaseEvent, Outcome, State
from eco12369.cases.workflow import refusal
from eco12369.crypto import blind_index
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.models import User
from eco12369.stats.figures import Month, monthly_figures

from .helpers import photo

pytestmark = pytest.mark.django_db
Reporter = Callable[[str], Client]


@pytest.fixture
def case(make_case: Callable[..., Case]) -> Case:
    return make_case(
        reporter_openid="oAFTER",
        description="小区后面的小厂天天晚上烧东西，味儿特别大。",
        category="air",
        reported_party="某某塑料加工点",
    )


def test_the_reporter_adds_text_and_photos_before_acceptance(reporter: Reporter, case: Case) -> None:
    client = reporter("oAFTER")
    page = client.get(f"/portal/mine/{case.number}/").content.decode()
    assert "补充材料或撤回" in page
    resp = client.post(
        f"/portal/mine/{case.number}/supplement/",
        {"text": "补充：昨晚十点又烧了，烟是黑的，我拍了照片。", "photos": [photo("黑烟.png")]},
    )
    assert resp.status_code == 302 and resp["Location"].endswith("?supplemented=1#after")
    event = CaseEvent.objects.get(case=case, action="supplement")
    assert "昨晚十点又烧了" in event.note and len(event.data["photos"]) == 1
    assert case.attachments.count() == 1
    assert AuditEntry.objects.filter(action="case.supplement", object_id=case.number).exists()
    page = client.get(resp["Location"]).content.decode()
    assert "已收到您补充的材料" in page and "昨晚十点又烧了" in page


def test_nothing_to_add_and_a_bad_photo_are_refused(reporter: Reporter, case: Case) -> None:
    client = reporter("oAFTER")
    assert client.post(f"/portal/mine/{case.number}/supplement/", {"text": "  "}).status_code == 422
    not_image = {"text": "", "photos": [SimpleUploadedFile("x.jpg", b"<?php echo 1; ?>", "image/jpeg")]}
    resp = client.post(f"/portal/mine/{case.number}/supplement/", not_image)
    assert resp.status_code == 422 and "不是有效的图片" in resp.content.decode()
    assert not CaseEvent.objects.filter(action="supplement").exists()


def test_after_acceptance_nothing_can_be_added_or_withdrawn(
    reporter: Reporter, case: Case, make_user: Callable[..., User]
) -> None:
    services.case_accept(case=case, actor=make_user("operator", district_name="和平区"))
    client = reporter("oAFTER")
    assert "补充材料或撤回" not in client.get(f"/portal/mine/{case.number}/").content.decode()
    resp = client.post(f"/portal/mine/{case.number}/supplement/", {"text": "还有新情况"})
    assert resp.status_code == 409 and "已受理" in resp.content.decode()
    resp = client.post(f"/portal/mine/{case.number}/withdraw/", {"reason": "不想举报了"})
    assert resp.status_code == 409 and "已受理，不能撤回举报" in resp.content.decode()
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED


def test_withdrawal_closes_the_case_keeps_it_and_counts_in_the_month(reporter: Reporter, case: Case) -> None:
    client = reporter("oAFTER")
    assert client.post(f"/portal/mine/{case.number}/withdraw/", {"reason": "  "}).status_code == 422
    resp = client.post(f"/portal/mine/{case.number}/withdraw/", {"reason": "厂子已经搬走了，问题解决了。"})
    assert resp.status_code == 302
    closed = Case.objects.get(pk=case.pk)
    assert (closed.state, closed.outcome) == (State.CLOSED, Outcome.WITHDRAWN) and closed.closed_at
    event = CaseEvent.objects.get(case=case, action="withdraw")
    assert event.actor is None and event.note == "厂子已经搬走了，问题解决了。"
    assert (event.from_state, event.to_state) == (State.RECEIVED, State.CLOSED)
    audit = AuditEntry.objects.get(action="case.withdraw", object_id=case.number)
    assert audit.actor is None and audit.actor_label == "举报人本人"
    page = client.get(f"/portal/mine/{case.number}/").content.decode()
    assert "您已撤回此举报" in page and "补充材料或撤回" not in page
    month = Month(closed.received_at.year, closed.received_at.month)
    figures = monthly_figures(region=None, month=month)
    assert {r.key: r.count for r in figures.by_outcome}["withdrawn"] == 1
    assert {r.key: r.count for r in figures.confirmation}["withdrawn"] == 1


def test_another_reporter_cannot_withdraw_or_add(reporter: Reporter, case: Case) -> None:
    stranger = reporter("oSTRANGER")
    assert stranger.post(f"/portal/mine/{case.number}/withdraw/", {"reason": "捣乱"}).status_code == 404
    assert stranger.post(f"/portal/mine/{case.number}/supplement/", {"text": "捣乱"}).status_code == 404
    with pytest.raises(services.TransitionError):
        services.case_withdraw(case=case, openid="oSTRANGER", reason="捣乱")
    assert Case.objects.get(pk=case.pk).state == State.RECEIVED


def test_staff_cannot_withdraw_for_the_reporter(case: Case, make_user: Callable[..., User]) -> None:
    operator = make_user("operator", district_name="和平区")
    assert refusal(case, operator, "withdraw") == "“撤回举报”只能由举报人本人操作。"


def test_a_withdrawal_tells_the_wechat_reporter_through_the_outbox(reporter: Reporter, case: Case) -> None:
    client = reporter("oAFTER")
    resp = client.post(f"/portal/mine/{case.number}/withdraw/", {"reason": "搞错了，是隔壁小区的事"})
    assert resp.status_code == 302
    notice = OutboxMessage.objects.get(case=case, template="withdrawn")
    assert notice.openid_digest == blind_index("oAFTER")
    assert case.number in notice.text and "搞错了，是隔壁小区的事" in notice.text and "已撤回" in notice.text
    assert notice.get_template_display() == "已撤回"
    # written in the withdrawal's transaction: a refused withdrawal (already closed) writes none
    assert client.post(f"/portal/mine/{case.number}/withdraw/", {"reason": "再撤一次"}).status_code == 409
    assert OutboxMessage.objects.filter(case=case, template="withdrawn").count() == 1
