"""Sign-in security: lockout (django-axes), TOTP for sensitive roles (django-otp), password rules, idle timeout."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from eco12369.audit.models import AuditEntry
from eco12369.orgs.models import User
from tests.conftest import PASSWORD

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db


def login(client: Client, user: User, password: str = PASSWORD) -> Response:
    return client.post("/login/", {"username": user.username, "password": password})


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@override_settings(AXES_ENABLED=True)
def test_lockout_after_repeated_failures(client: Client, make_user: Callable[..., User]) -> None:
    user = make_user("operator")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        resp = login(client, user, "wrong-password-1")
        assert resp.status_code in (200, 429)
    locked = login(client, user, PASSWORD)  # even the right password is refused now
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="login_failed", actor_label=user.username).count() >= 5


@override_settings(AXES_ENABLED=True)
def test_success_resets_failures(client: Client, make_user: Callable[..., User]) -> None:
    user = make_user("operator")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, user, "wrong-password-1")
    assert login(client, user).status_code == 302
    client.post("/logout/")
    login(client, user, "wrong-password-1")
    assert login(client, user).status_code == 302


@override_settings(ECO_OTP_ENFORCE=True)
def test_reviewer_must_enrol_then_verify_totp(client: Client, make_user: Callable[..., User]) -> None:
    user = make_user("reviewer")
    assert login(client, user).status_code == 302
    resp = client.get("/queues/")
    assert resp.status_code == 302 and "/account/otp/setup/" in resp["Location"]
    page = client.get(resp["Location"])
    assert "<svg" in page.content.decode() and "设置双因素认证" in page.content.decode()
    device = TOTPDevice.objects.get(user=user)
    ok = client.post("/account/otp/setup/", {"code": current_code(device), "next": "/queues/"})
    assert ok.status_code == 302 and ok["Location"] == "/queues/"
    assert client.get("/queues/").status_code == 200
    # Next sign-in: the device exists, so verification (not enrolment) is asked for.
    client.post("/logout/")
    login(client, user)
    resp = client.get("/queues/")
    assert "/account/otp/verify/" in resp["Location"]
    assert "6位数字" in client.post("/account/otp/verify/", {"code": "12ab"}).content.decode()
    assert client.get("/queues/").status_code == 302
    assert AuditEntry.objects.filter(action="otp_enrolled", actor=user).exists()


@override_settings(ECO_OTP_ENFORCE=True)
def test_wrong_totp_code_is_refused_and_audited(client: Client, make_user: Callable[..., User]) -> None:
    user = make_user("reviewer")
    login(client, user)
    client.get("/account/otp/setup/")
    device = TOTPDevice.objects.get(user=user)
    wrong = "000000" if current_code(device) != "000000" else "111111"
    resp = client.post("/account/otp/setup/", {"code": wrong})
    assert "验证码不正确" in resp.content.decode()
    assert client.get("/queues/").status_code == 302
    assert AuditEntry.objects.filter(action="otp_failed", actor=user).exists()


@override_settings(ECO_OTP_ENFORCE=True)
def test_handler_needs_no_totp_but_city_centre_does(client: Client, make_user: Callable[..., User]) -> None:
    handler = make_user("handler")
    login(client, handler)
    assert client.get("/queues/").status_code == 200
    client.post("/logout/")
    city_operator = make_user("operator", district_name=None)
    login(client, city_operator)
    assert "/account/otp/setup/" in client.get("/queues/")["Location"]


@override_settings(ECO_OTP_ENFORCE=True)
def test_otp_next_cannot_redirect_offsite(client: Client, make_user: Callable[..., User]) -> None:
    user = make_user("head")
    login(client, user)
    client.get("/account/otp/setup/")
    device = TOTPDevice.objects.get(user=user)
    resp = client.post("/account/otp/setup/", {"code": current_code(device), "next": "https://evil.example/"})
    assert resp["Location"] == "/"


@pytest.mark.parametrize("password", ["short1!", "alllowercaseletters", "ALLUPPER12345", "12369123691"])
def test_weak_passwords_rejected(password: str) -> None:
    with pytest.raises(ValidationError):
        validate_password(password)


def test_strong_password_accepted() -> None:
    validate_password("Huanbao-12369!")


def test_session_ends_after_30_idle_minutes(client: Client, make_user: Callable[..., User]) -> None:
    user = make_user("operator")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        login(client, user)
    with time_machine.travel(start + dt.timedelta(minutes=25), tick=False):
        assert client.get("/queues/").status_code == 200  # activity renews the session
    with time_machine.travel(start + dt.timedelta(minutes=50), tick=False):
        assert client.get("/queues/").status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=81), tick=False):
        resp = client.get("/queues/")
        assert resp.status_code == 302 and "/login/" in resp["Location"]
