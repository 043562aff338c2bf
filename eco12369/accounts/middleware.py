"""Sends a signed-in user who must use a second factor to enrol or verify before anything else."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device

from .policy import otp_required_for

EXEMPT_PREFIXES = (
    "/account/otp/",
    "/logout/",
    "/static/",
    "/wechat/",
    "/portal/",
    "/open311/",
    "/disclosure/",
)


class OtpRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and otp_required_for(user)
            and not user.is_verified()  # type: ignore[union-attr,attr-defined]
        ):
            target = "accounts:otp_verify" if user_has_device(user) else "accounts:otp_setup"
            return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)
