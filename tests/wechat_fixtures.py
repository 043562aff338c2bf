"""pytest plugin: a running WeChat simulator for any test that talks to WeChat.

``wechat_simulator`` starts ``eco12369.wechat.simulator`` in a thread on a free port and points
``settings.WECHAT["API_BASE_URL"]`` and ``["OAUTH_BASE_URL"]`` at it, so wechatpy's clients
(``eco12369.wechat.client.api_client()`` / ``oauth_client()``) talk to it. Use ``sim.received(openid)`` to
see what the platform sent, ``sim.url`` for its address, and ``sim.config.callback_url`` (set it to
``live_server.url + "/wechat/callback/"``) to let it play a reporter.

Every other test runs with WeChat pointed at a closed port, so nothing leaves the machine and a running
demo simulator is never disturbed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from eco12369.wechat.simulator import Simulator, SimulatorConfig, serve_in_thread

OFFLINE_URL = "http://127.0.0.1:9/"  # the discard port: connections are refused at once


@pytest.fixture(autouse=True)
def _wechat_offline(settings: Any) -> None:
    settings.WECHAT = {**settings.WECHAT, "API_BASE_URL": OFFLINE_URL, "OAUTH_BASE_URL": OFFLINE_URL}


@pytest.fixture
def wechat_simulator(settings: Any, _wechat_offline: None) -> Iterator[Simulator]:
    conf = settings.WECHAT
    sim = Simulator(
        SimulatorConfig(
            app_id=conf["APP_ID"],
            app_secret=conf["APP_SECRET"],
            token=conf["TOKEN"],
            encoding_aes_key=conf["ENCODING_AES_KEY"],
            callback_url=OFFLINE_URL + "wechat/callback/",
            subscribe_template_id=conf["SUBSCRIBE_TEMPLATE_ID"],
        )
    )
    server, url = serve_in_thread(sim)
    sim.config.public_url = url
    settings.WECHAT = {**conf, "API_BASE_URL": url, "OAUTH_BASE_URL": url}
    try:
        yield sim
    finally:
        sim.state.release.set()
        server.shutdown()
        server.server_close()
