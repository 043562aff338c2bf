"""Every WeChat HTTP call has a timeout: a WeChat that accepts the connection and never answers cannot block
a callback or a delivery worker (which would outlive its lease)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from wechatpy.exceptions import WeChatClientException

from eco12369.wechat import client


@pytest.fixture
def hung_wechat(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A listening socket that never accepts: connections complete, no answer ever comes."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    url = f"http://127.0.0.1:{server.getsockname()[1]}/"
    monkeypatch.setattr(client, "API_TIMEOUT_SECONDS", 0.5)
    settings.WECHAT = {**settings.WECHAT, "API_BASE_URL": url, "OAUTH_BASE_URL": url}
    try:
        yield url
    finally:
        server.close()


def _fails_within(seconds: float, call: Any) -> None:
    started = time.monotonic()
    with pytest.raises((requests.Timeout, WeChatClientException)):
        call()
    assert time.monotonic() - started < seconds


def test_the_access_token_fetch_times_out(hung_wechat: str) -> None:
    _fails_within(3, lambda: client.api_client().fetch_access_token())


def test_an_api_call_times_out_when_fetching_its_token(hung_wechat: str) -> None:
    _fails_within(3, lambda: client.api_client().message.send_text("oSomeone", "您好"))


def test_the_oauth_exchange_times_out(hung_wechat: str) -> None:
    _fails_within(3, lambda: client.oauth_openid(code="CODE"))
