"""Reporter confidentiality in the workbench (Art. 17): the reporter's name and phone are masked for
everyone; the owning bureau's operator and the assigned department's handler reveal them with one click
that asks a reason, and each reveal is written to the audit trail with that reason. Nobody else can."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from eco12369.audit.models import AuditEntry
from eco12369.audit.services import audit_verify
from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.orgs.models import User

from .conftest import Staff

NAME, PHONE, OPENID = "张伟", "13812341234", "oREVEAL-openid-secret"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "reporter-card"}


@pytest.fixture
def case(make_case: Callable[..., Case]) -> Case:
    return make_case(reporter_name=NAME, reporter_phone=PHONE, reporter_openid=OPENID)


def _page(client: Client, case: Case) -> str:
    response = client.get(f"/cases/{case.number}/")
    assert response.status_code == 200
    return response.content.decode()


def _reveal(client: Client, case: Case, reason: str = "电话核实举报地点", **extra: Any) -> Any:
    return client.post(f"/cases/{case.number}/reporter/reveal/", {"reason": reason}, **extra)


def test_masked_by_default_even_for_the_owning_operator(
    staff: Staff, case: Case, login: Callable[[User], Client]
) -> None:
    for user in (staff.operator, staff.reviewer, staff.head, staff.city_operator):
        page = _page(login(user), case)
        assert '<dd class="reporter-name">张*</dd>' in page, user
        assert '<dd class="reporter-phone">138****1234</dd>' in page, user
        assert NAME not in page and PHONE not in page and OPENID not in page, user
        assert "已关联" in page  # a linked WeChat account is shown, never which one
    assert "<summary>查看完整信息</summary>" in _page(login(staff.operator), case)
    assert "<summary>查看完整信息</summary>" not in _page(login(staff.reviewer), case)
    assert "<summary>查看完整信息</summary>" not in _page(login(staff.city_operator), case)
    assert not AuditEntry.objects.filter(action="reveal").exists()  # looking at the page reveals nothing


def test_operator_reveals_with_a_reason_and_the_reveal_is_audited(
    staff: Staff, case: Case, login: Callable[[User], Client]
) -> None:
    response = _reveal(login(staff.operator), case, reason="  电话核实  举报地点 ", **HTMX)
    assert response.status_code == 200
    text = response.content.decode()
    assert text.lstrip().startswith(
        '<section class="card reporter-card" id="reporter-card">'
    )  # htmx: the card only
    assert f'<dd class="reporter-name">{NAME}</dd>' in text
    assert f'<dd class="reporter-phone">{PHONE}</dd>' in text
    assert OPENID not in text
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.get(action="reveal")
    assert entry.actor_id == staff.operator.pk
    assert (entry.object_type, entry.object_id) == ("case", case.number)
    assert entry.detail["reason"] == "电话核实 举报地点"
    assert NAME not in str(entry.detail) and PHONE not in str(entry.detail)  # the log holds no personal data
    assert audit_verify().ok
    # The next page view is masked again.
    assert NAME not in _page(login(staff.operator), case)


def test_reveal_without_javascript_returns_the_case_page_revealed(
    staff: Staff, case: Case, login: Callable[[User], Client]
) -> None:
    response = _reveal(login(staff.operator), case)
    assert response.status_code == 200
    text = response.content.decode()
    assert case.number in text and "timeline-item" in text  # the whole case page
    assert f'<dd class="reporter-name">{NAME}</dd>' in text


@pytest.mark.parametrize("reason", ["", " ", "查"])
def test_a_reason_is_required(staff: Staff, case: Case, login: Callable[[User], Client], reason: str) -> None:
    response = _reveal(login(staff.operator), case, reason=reason, **HTMX)
    assert response.status_code == 422
    text = response.content.decode()
    assert "请填写查看理由" in text
    assert NAME not in text and PHONE not in text
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_assigned_handler_may_reveal_other_handlers_may_not(
    staff: Staff, case: Case, login: Callable[[User], Client]
) -> None:
    case = services.case_accept(case=case, actor=staff.operator)
    assert _reveal(login(staff.handler), case, **HTMX).status_code == 403  # not assigned to them yet
    case = services.case_assign(case=case, actor=staff.operator, department=staff.handler.department)
    ok = _reveal(login(staff.handler), case, **HTMX)
    assert ok.status_code == 200 and NAME in ok.content.decode()
    refused = _reveal(login(staff.other_handler), case, **HTMX)
    assert refused.status_code == 403
    assert NAME not in refused.content.decode() and "无权查看" in refused.content.decode()
    assert list(AuditEntry.objects.filter(action="reveal").values_list("actor_id", flat=True)) == [
        staff.handler.pk
    ]


def test_nobody_else_can_reveal(staff: Staff, case: Case, login: Callable[[User], Client]) -> None:
    for user in (staff.reviewer, staff.head, staff.city_operator, staff.city_head):
        response = _reveal(login(user), case, **HTMX)
        assert response.status_code == 403, user
        assert NAME not in response.content.decode() and PHONE not in response.content.decode()
    for user in (staff.hexi_operator, staff.admin, staff.auditor):
        response = _reveal(login(user), case, **HTMX)
        assert response.status_code == 404, user  # they cannot see the case at all
        assert NAME not in response.content.decode()
    assert Client().post(f"/cases/{case.number}/reporter/reveal/", {"reason": "x理由"}).status_code == 302
    assert login(staff.operator).get(f"/cases/{case.number}/reporter/reveal/").status_code == 405
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_every_refused_reveal_is_audited_with_actor_case_and_reason(
    staff: Staff, case: Case, login: Callable[[User], Client]
) -> None:
    """Issue 11, L4: a refused reveal leaves a trace too: who tried, on which case, why it was refused and
    the reason they gave."""
    assert _reveal(login(staff.reviewer), case, reason="想看看是谁举报的", **HTMX).status_code == 403
    assert _reveal(login(staff.operator), case, reason="查", **HTMX).status_code == 422
    refused = AuditEntry.objects.filter(action="reveal_refused").order_by("id")
    assert [(e.actor_id, e.object_type, e.object_id) for e in refused] == [
        (staff.reviewer.pk, "case", case.number),
        (staff.operator.pk, "case", case.number),
    ]
    first, second = refused
    assert first.detail["reason"] == "想看看是谁举报的" and "无权查看" in first.detail["refusal"]
    assert second.detail["reason"] == "查" and "请填写查看理由" in second.detail["refusal"]
    assert NAME not in str(first.detail) + str(second.detail) and PHONE not in str(first.detail)
    assert not AuditEntry.objects.filter(action="reveal").exists()
    assert audit_verify().ok  # written into the chain like every entry


def test_city_centre_operator_reveals_the_cases_it_owns(
    staff: Staff, make_case: Callable[..., Case], login: Callable[[User], Client]
) -> None:
    owned = make_case(None, reporter_name=NAME, reporter_phone=PHONE)  # no district: the city centre owns it
    response = _reveal(login(staff.city_operator), owned, **HTMX)
    assert response.status_code == 200 and PHONE in response.content.decode()


def test_anonymous_reports_have_nothing_to_reveal(
    staff: Staff, make_case: Callable[..., Case], login: Callable[[User], Client]
) -> None:
    anonymous = make_case(anonymous=True, reporter_name=NAME, reporter_phone=PHONE)
    page = _page(login(staff.operator), anonymous)
    assert "匿名" in page and "<summary>查看完整信息</summary>" not in page
    response = _reveal(login(staff.operator), anonymous, **HTMX)
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="reveal").exists()


@pytest.mark.parametrize("role", ["operator", "handler"])
def test_in_production_every_reveal_needs_a_verified_second_factor(
    staff: Staff, case: Case, settings: Any, role: str
) -> None:
    """Issue 11, L5: operators and handlers sign in with a password only, but a reveal waits for TOTP."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.ECO_OTP_ENFORCE = True
    user = getattr(staff, role)
    if role == "handler":
        case = services.case_accept(case=case, actor=staff.operator)
        case = services.case_assign(case=case, actor=staff.operator, department=user.department)
    client = Client()
    client.force_login(user)  # the password step: no second factor yet
    assert client.get(f"/cases/{case.number}/").status_code == 200  # their pages need no TOTP …
    refused = _reveal(client, case, **HTMX)
    assert refused.status_code == 403  # … the reveal does: not before the second factor
    assert PHONE not in refused.content.decode() and "动态口令" in refused.content.decode()
    entry = AuditEntry.objects.get(action="reveal_refused")
    assert entry.actor == user and "动态口令" in entry.detail["refusal"]

    device = TOTPDevice.objects.create(user=user, name="手机", confirmed=True)
    verified = client.post("/account/otp/verify/", {"code": f"{totp(device.bin_key):06d}"})
    assert verified.status_code == 302
    revealed = _reveal(client, case, **HTMX)
    assert revealed.status_code == 200 and PHONE in revealed.content.decode()
    assert AuditEntry.objects.filter(action="reveal", actor=user).count() == 1
