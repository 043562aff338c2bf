"""WeChat API clients configured from ``settings.WECHAT``: the real servers in production, the simulator
(``manage.py wechat_simulator``) in development and tests.

``api_client()`` is wechatpy's ``WeChatClient`` with a configurable base URL; ``oauth_client()`` is
wechatpy's ``WeChatOAuth`` for the H5 pages' web authorisation (网页授权).
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from wechatpy import WeChatClient
from wechatpy.oauth import WeChatOAuth
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage

API_TIMEOUT_SECONDS = 10

_clients: dict[tuple[str, str, str], WeChatClient] = {}
_lock = threading.Lock()


def _base(url: str) -> str:
    return url.rstrip("/") + "/"


class PlatformClient(WeChatClient):  # type: ignore[misc]
    """``WeChatClient`` whose every URL, the access-token URL included, hangs off ``api_root``."""

    def __init__(
        self, *, app_id: str, secret: str, api_root: str, session: SessionStorage | None, timeout: float
    ):
        super().__init__(app_id, secret, session=session, timeout=timeout)
        # wechatpy passes ``timeout`` on API calls but not when it fetches the access token: every request
        # of this client's HTTP session gets one, so a hung WeChat cannot block a callback or a worker.
        self._http.request = _with_timeout(self._http.request, timeout)
        self.api_root = _base(api_root)
        self.API_BASE_URL = self.api_root + "cgi-bin/"

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(  # type: ignore[no-any-return]
            url=self.api_root + "cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


def _session() -> SessionStorage:
    """Share the access token between processes through Redis when there is one: every fetch of a new
    token invalidates the previous one at WeChat, so workers must not each fetch their own."""
    redis_url = getattr(settings, "REDIS_URL", "")
    if redis_url:
        import redis
        from wechatpy.session.redisstorage import RedisStorage

        prefix = f"{settings.HUEY.get('name', 'eco12369')}_wechat"
        server = redis.Redis.from_url(
            redis_url, socket_timeout=API_TIMEOUT_SECONDS, socket_connect_timeout=API_TIMEOUT_SECONDS
        )
        return RedisStorage(server, prefix=prefix)  # type: ignore[no-any-return]
    return MemoryStorage()  # type: ignore[no-any-return]


def api_client() -> WeChatClient:
    conf: dict[str, Any] = settings.WECHAT
    key = (conf["APP_ID"], conf["APP_SECRET"], _base(conf["API_BASE_URL"]))
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = PlatformClient(
                app_id=key[0], secret=key[1], api_root=key[2], session=_session(), timeout=API_TIMEOUT_SECONDS
            )
            _clients[key] = client
        return client


def oauth_client(*, redirect_uri: str, state: str = "", scope: str = "snsapi_base") -> WeChatOAuth:
    """Web authorisation: send the browser to ``.authorize_url``; on return exchange the ``code`` with
    ``.fetch_access_token(code)["openid"]`` (or use ``oauth_openid``)."""
    conf: dict[str, Any] = settings.WECHAT
    oauth = WeChatOAuth(conf["APP_ID"], conf["APP_SECRET"], redirect_uri, scope=scope, state=state)
    oauth.OAUTH_BASE_URL = _base(conf["OAUTH_BASE_URL"]) + "connect/"
    oauth.API_BASE_URL = _base(conf["API_BASE_URL"])
    oauth._http.request = _with_timeout(oauth._http.request)
    return oauth


def oauth_openid(*, code: str, redirect_uri: str = "") -> str:
    """The openid behind an OAuth ``code`` (raises ``wechatpy.exceptions.WeChatOAuthException``)."""
    return str(oauth_client(redirect_uri=redirect_uri).fetch_access_token(code)["openid"])


def _with_timeout(request: Any, timeout: float | None = None) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = timeout or API_TIMEOUT_SECONDS
        return request(*args, **kwargs)

    return wrapped
