"""Who the reporter is: WeChat web authorisation (网页授权, scope ``snsapi_base``).

wechatpy's own ``WeChatOAuth`` does the work (``eco12369.wechat.client.oauth_client``: only its base URLs
come from ``settings.WECHAT``), so in development and tests it talks to the bundled simulator and in
production to WeChat.

The reporter's openid is kept in its own signed, HttpOnly cookie, apart from the staff session: a reporter
is not a user, the staff session's short idle timeout must not throw away a half-filled report, and the
reporter's identity needs no server-side row. The cookie's age is checked on the server from its signed
timestamp and renewed on every page (``ECO_PORTAL_IDENTITY_SECONDS``, one day by default).

Each authorisation round trip carries a random ``state`` that is also kept in a short-lived signed cookie
of this browser, so a callback this browser did not start (login CSRF) or one replayed is refused.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from wechatpy.exceptions import WeChatOAuthException

from eco12369.qr import QrTooLong, qr_svg
from eco12369.wechat.client import oauth_client

IDENTITY_COOKIE = "eco_reporter"
IDENTITY_SALT = "eco12369.portal.identity"
STATE_COOKIE = "eco_oauth_state"
STATE_SALT = "eco12369.portal.oauth-state"
STATE_SECONDS = 10 * 60
MAX_PENDING_STATES = 5  # a few tabs may be authorising at once; older round trips are forgotten
COOKIE_PATH = "/portal/"


class OAuthError(Exception):
    """The authorisation round trip failed; ``message`` is shown to the reporter."""

    def __init__(self, message: str, *, pending: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pending = pending


def identity_seconds() -> int:
    return int(getattr(settings, "ECO_PORTAL_IDENTITY_SECONDS", 24 * 3600))


def _cookie_options() -> dict[str, Any]:
    return {
        "path": COOKIE_PATH,
        "httponly": True,
        "samesite": "Lax",  # sent on WeChat's top-level redirect back to the callback
        "secure": bool(getattr(settings, "SESSION_COOKIE_SECURE", False)),
    }


def callback_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("portal:oauth_callback"))


def reporter_openid(request: HttpRequest) -> str:
    """The identified reporter's openid, or ``""``; a forged, altered or expired cookie counts as none."""
    value = request.get_signed_cookie(
        IDENTITY_COOKIE, default="", salt=IDENTITY_SALT, max_age=identity_seconds()
    )
    return str(value or "")


def identity_set(response: HttpResponseBase, openid: str) -> None:
    response.set_signed_cookie(
        IDENTITY_COOKIE, openid, salt=IDENTITY_SALT, max_age=identity_seconds(), **_cookie_options()
    )


def _pending_states(request: HttpRequest) -> dict[str, str]:
    raw = request.get_signed_cookie(STATE_COOKIE, default="", salt=STATE_SALT, max_age=STATE_SECONDS)
    try:
        pending = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in pending.items()} if isinstance(pending, dict) else {}


def _store_states(response: HttpResponseBase, pending: dict[str, str]) -> None:
    if pending:
        response.set_signed_cookie(
            STATE_COOKIE, json.dumps(pending), salt=STATE_SALT, max_age=STATE_SECONDS, **_cookie_options()
        )
    else:
        response.delete_cookie(STATE_COOKIE, path=COOKIE_PATH, samesite="Lax")


def _safe_next(request: HttpRequest, target: str) -> str:
    if (
        target
        and target.startswith(COOKIE_PATH)
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    ):
        return target
    return reverse("portal:report")


def real_wechat() -> bool:
    """True when the real WeChat authorises reporters, False with the simulator (development, demo)."""
    return urlsplit(settings.WECHAT["OAUTH_BASE_URL"]).hostname == "open.weixin.qq.com"


def outside_wechat(request: HttpRequest) -> bool:
    """WeChat's web authorisation works only in WeChat's own browser: elsewhere WeChat shows an error
    page. True when the real WeChat authorises (not the simulator) and the browser is not WeChat's."""
    return real_wechat() and "micromessenger" not in request.META.get("HTTP_USER_AGENT", "").lower()


def _this_page_qr(request: HttpRequest) -> tuple[str, str]:
    """The address to open in WeChat and its QR code: this page's whole address when it fits in a QR code;
    else without its query string (what a portal page needs is in its path); else the report form (a path
    too long for a QR code is no page of ours)."""
    for url in (request.build_absolute_uri(), request.build_absolute_uri(request.path)):
        try:
            return url, qr_svg(url, box_size=6)
        except QrTooLong:
            continue
    url = request.build_absolute_uri(reverse("portal:report"))
    return url, qr_svg(url, box_size=6)


def authorize_redirect(request: HttpRequest) -> HttpResponseBase:
    """Start a round trip: remember a fresh ``state`` and where to come back to, send the browser to WeChat.
    A browser that is not WeChat's is asked to open the page in WeChat (with its QR code) instead."""
    if outside_wechat(request):
        url, qr = _this_page_qr(request)
        return render(request, "portal/open_in_wechat.html", {"url": url, "qr": qr})
    state = secrets.token_urlsafe(24)
    pending = _pending_states(request)
    pending[state] = _safe_next(request, request.get_full_path())
    while len(pending) > MAX_PENDING_STATES:
        pending.pop(next(iter(pending)))
    response = HttpResponseRedirect(
        oauth_client(redirect_uri=callback_uri(request), state=state).authorize_url
    )
    _store_states(response, pending)
    return response


def state_store(response: HttpResponseBase, pending: dict[str, str]) -> None:
    _store_states(response, pending)


@dataclass(frozen=True)
class Completed:
    openid: str
    target: str
    pending: dict[str, str]  # the round trips still open in this browser (for the state cookie)


def complete(request: HttpRequest, *, code: str, state: str) -> Completed:
    """Finish a round trip: check ``state`` (good once), exchange ``code`` for the openid.

    On failure the ``OAuthError`` carries ``pending`` (``None`` when the state was not this browser's)."""
    pending = _pending_states(request)
    match = (
        next((known for known in pending if secrets.compare_digest(known, state)), None) if state else None
    )
    if match is None:
        raise OAuthError("登录状态已失效或链接不完整，请返回重新打开页面。")
    target = pending.pop(match)
    if not code:
        raise OAuthError("需要您同意微信授权后才能提交和查询举报。", pending=pending)
    client = oauth_client(redirect_uri=callback_uri(request), state=match)
    try:
        data = client.fetch_access_token(code)
    except (WeChatOAuthException, requests.RequestException, KeyError, ValueError) as exc:
        raise OAuthError("微信授权失败，请稍后重新打开页面。", pending=pending) from exc
    openid = str(data.get("openid") or "")
    if not openid:
        raise OAuthError("微信授权失败，请稍后重新打开页面。", pending=pending)
    return Completed(openid=openid, target=_safe_next(request, target), pending=pending)


ViewFunc = Callable[..., HttpResponseBase]


def reporter_required(view: ViewFunc) -> ViewFunc:
    """Pages that need to know the reporter: identified → run the view (and renew the identity);
    otherwise authorise first. A form sent without identity writes nothing."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        openid = reporter_openid(request)
        if not openid:
            if request.method != "GET":
                return HttpResponseRedirect(reverse("portal:report"))
            return authorize_redirect(request)
        response = view(request, *args, **kwargs)
        if request.method == "GET":
            identity_set(response, openid)
        return response

    return wrapper
