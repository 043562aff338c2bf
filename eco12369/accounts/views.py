"""TOTP enrolment and verification (django-otp)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record
from eco12369.qr import qr_svg


class CodeForm(forms.Form):
    code = forms.RegexField(
        label="动态验证码",
        regex=r"^\d{6}$",
        error_messages={"invalid": "请输入6位数字验证码。", "required": "请输入验证码。"},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return "/"
    return target


@login_required
def otp_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user_has_device(user):
        return redirect("accounts:otp_verify")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="动态口令", confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit_record(
                action=AuditAction.OTP_ENROLLED,
                actor=user,
                object_type="user",
                object_id=user.pk,
                request=request,
            )
            return redirect(_next(request))
        form.add_error("code", "验证码不正确或已过期，请重新输入。")
        audit_record(
            action=AuditAction.OTP_FAILED, actor=user, object_type="user", object_id=user.pk, request=request
        )
    secret = device.config_url.split("secret=")[1].split("&")[0]
    return render(
        request,
        "accounts/otp_setup.html",
        {"form": form, "qr": qr_svg(device.config_url), "secret": secret, "next": _next(request)},
    )


@login_required
def otp_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user_has_device(user):
        return redirect("accounts:otp_setup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        for device in TOTPDevice.objects.filter(user=user, confirmed=True):
            if device.verify_token(form.cleaned_data["code"]):
                otp_login(request, device)
                audit_record(
                    action=AuditAction.OTP_VERIFIED,
                    actor=user,
                    object_type="user",
                    object_id=user.pk,
                    request=request,
                )
                return redirect(_next(request))
        form.add_error("code", "验证码不正确或已过期，请重新输入。")
        audit_record(
            action=AuditAction.OTP_FAILED, actor=user, object_type="user", object_id=user.pk, request=request
        )
    return render(request, "accounts/otp_verify.html", {"form": form, "next": _next(request)})


def locked_out(
    request: HttpRequest, credentials: object = None, *args: object, **kwargs: object
) -> HttpResponse:
    return render(request, "accounts/locked_out.html", status=429)
