"""Who the reporter is: WeChat web authorisation (网页授权, scope ``snsapi_base``).

wechatpy's own ``WeChatOAuth`` does the work (``eco12369.wechat.client.oauth_client``: only its base URLs
come from ``settings.WECHAT``), so in development and tests it talks to the bundled simulator and in
production to WeChat. The openid is kept in the Django session (an HttpOnly cookie holding only a random
key); the ``state`` of each authorisation round trip is a random value kept in the same session, so a
callback that this browser did not start is refused (CSRF).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

import requests
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from wechatpy.exceptions import WeChatOAuthException

from eco12369.wechat.client import oauth_client

SESSION_OPENID = "portal_openid"
SESSION_STATES = "portal_oauth_states"
MAX_PENDING_STATES = 5  # a few tabs may be authorising at once; older round trips are forgotten


class OAuthError(Exception):
    """The authorisation round trip failed; ``message`` is shown to the reporter."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def callback_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("portal:oauth_callback"))


def reporter_openid(request: HttpRequest) -> str:
    return str(request.session.get(SESSION_OPENID) or "")


def _safe_next(request: HttpRequest, target: str) -> str:
    portal_root = reverse("portal:report")
    if (
        target
        and target.startswith("/portal/")
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    ):
        return target
    return portal_root


def authorize_redirect(request: HttpRequest) -> HttpResponseRedirect:
    """Start a round trip: remember a fresh ``state`` and where to come back to, send the browser to WeChat."""
    state = secrets.token_urlsafe(24)
    pending: dict[str, str] = dict(request.session.get(SESSION_STATES) or {})
    pending[state] = _safe_next(request, request.get_full_path())
    while len(pending) > MAX_PENDING_STATES:
        pending.pop(next(iter(pending)))
    request.session[SESSION_STATES] = pending
    return HttpResponseRedirect(oauth_client(redirect_uri=callback_uri(request), state=state).authorize_url)


def complete(request: HttpRequest, *, code: str, state: str) -> str:
    """Finish a round trip: check ``state``, exchange ``code`` for the openid, keep it in a new session key.

    Returns the page to continue to."""
    pending: dict[str, str] = dict(request.session.get(SESSION_STATES) or {})
    match = (
        next((known for known in pending if secrets.compare_digest(known, state)), None) if state else None
    )
    if match is None:
        raise OAuthError("登录状态已失效或链接不完整，请返回重新打开页面。")
    target = pending.pop(match)
    request.session[SESSION_STATES] = pending
    if not code:
        raise OAuthError("需要您同意微信授权后才能提交和查询举报。")
    client = oauth_client(redirect_uri=callback_uri(request), state=match)
    try:
        data = client.fetch_access_token(code)
    except (WeChatOAuthException, requests.RequestException, KeyError, ValueError) as exc:
        raise OAuthError("微信授权失败，请稍后重新打开页面。") from exc
    openid = str(data.get("openid") or "")
    if not openid:
        raise OAuthError("微信授权失败，请稍后重新打开页面。")
    request.session.cycle_key()  # a new session key once identified: no session fixation
    request.session[SESSION_OPENID] = openid
    return _safe_next(request, target)


ViewFunc = Callable[..., HttpResponseBase]


def reporter_required(view: ViewFunc) -> ViewFunc:
    """Pages that need to know the reporter: identified → run the view; otherwise authorise first."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not reporter_openid(request):
            if request.method != "GET":
                return HttpResponseRedirect(reverse("portal:report"))
            return authorize_redirect(request)
        return view(request, *args, **kwargs)

    return wrapper
