"""Security headers Django 5.2 does not set itself (it sets X-Content-Type-Options, Referrer-Policy,
Cross-Origin-Opener-Policy and X-Frame-Options, see settings.py).

Content-Security-Policy: scripts only from our own origin (no inline script, no eval: htmx, ECharts and the
portal's scripts are all vendored files) plus WeChat's JS-SDK host (in real WeChat the reporter's pages load
``jweixin-1.6.0.js`` for the subscription-notice open tag, which must come from WeChat), no plugins, no
framing, forms post only to us. Inline styles are allowed (a few templates and ECharts' tooltips use them;
CSS injection is the small risk left).
Images also from ``data:`` (the TOTP QR code) and ``blob:`` (photo previews before upload).
A view that sets its own policy (the photo view's sandbox) keeps it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' https://res.wx.qq.com",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# The H5 form asks for the reporter's location; nothing asks for the camera or microphone directly (photos
# come through the file input).
PERMISSIONS_POLICY = "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
