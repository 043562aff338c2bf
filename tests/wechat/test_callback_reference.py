"""The callback's ceiling for bench/run.py (issue 16): ``/bench/callback-reference/`` verifies the signature,
decrypts, commits one INSERT and answers encrypted; it exists only with the ``ECO_BENCH`` setting."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.checks import run_checks
from django.urls import clear_url_caches

import eco12369.urls
from eco12369.wechat.models import InboundMessage, SeenNonce

from .conftest import WeChatServer

pytestmark = pytest.mark.django_db
URL = "/bench/callback-reference/"


def _mount(on: bool, settings: Any) -> None:
    settings.ECO_BENCH = on
    importlib.reload(eco12369.urls)
    clear_url_caches()


@pytest.fixture
def bench_urls(settings: Any) -> Iterator[None]:
    _mount(True, settings)
    yield
    _mount(False, settings)


def test_it_is_not_mounted_without_the_setting(client: Any) -> None:
    assert client.post(URL, data=b"<xml/>", content_type="text/xml").status_code == 404


def test_it_verifies_decrypts_inserts_once_and_replies_encrypted(
    bench_urls: None, wechat: WeChatServer
) -> None:
    wechat.url = URL
    params, body = wechat.build(wechat.xml("o-某举报人", "text", Content="河边那个厂又冒黑烟了", MsgId=77001))
    answer = wechat.post_raw(params, body)
    assert "Encrypt" in answer.content.decode()
    assert wechat.reply(answer) == "已收到您的消息。"
    assert SeenNonce.objects.count() == 1 and not InboundMessage.objects.exists()
    assert wechat.post_raw(params, body).status_code == 403  # the same nonce again: a replay
    forged = {**params, "signature": "0" * 40}
    assert wechat.post_raw(forged, body).status_code == 403
    assert SeenNonce.objects.count() == 1


def test_check_deploy_warns_while_it_is_on(settings: Any) -> None:
    def warned() -> bool:
        found = run_checks(tags=["security"], include_deployment_checks=True)
        return "eco12369.W004" in {m.id for m in found}

    assert not warned()
    settings.ECO_BENCH = True
    assert warned()
