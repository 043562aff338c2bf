"""Fixtures for the H5 portal: uploads go to a temporary MEDIA_ROOT; reporters are identified through the
real WeChat OAuth round trip against the simulator (wechatpy's ``WeChatOAuth`` as the client)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from eco12369.wechat.simulator import Simulator

from .helpers import oauth_login


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def reporter(tianjin: None, wechat_simulator: Simulator) -> Callable[[str], Client]:
    """reporter("openid-A") → a Django test client identified as that WeChat user."""

    def make(openid: str) -> Client:
        client = Client()
        response = oauth_login(client, wechat_simulator, openid)
        assert response.status_code == 302 and response["Location"] == "/portal/report/"
        return client

    return make
