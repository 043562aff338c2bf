"""The prompt for subscription notices (订阅通知) on the reporter's pages (DESIGN §9).

In real WeChat a reporter consents through the open tag ``<wx-open-subscribe>``: WeChat shows its popup and,
on acceptance, pushes ``subscribe_msg_popup_event`` to our callback, which records the consent
(``eco12369.wechat.handlers.on_subscribe_popup``). The page itself records nothing. With the simulator
the page shows the same tag, but never loads WeChat's JS-SDK (the demo works offline): consent is given on
the simulator's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from eco12369.wechat.jssdk import jssdk_config
from eco12369.wechat.selectors import conversation_of

from .oauth import real_wechat

JSSDK_URL = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"


@dataclass(frozen=True)
class NotifyPrompt:
    template_id: str
    wx_config: dict[str, Any] | None  # wx.config's parameters, None when WeChat gave no ticket
    jssdk_url: str  # WeChat's JS-SDK to load, "" with the simulator
    simulated: bool


def notify_prompt(*, request: HttpRequest, openid: str) -> NotifyPrompt | None:
    """What the page needs to offer subscription notices, or ``None`` when the reporter already consented
    (or no template is configured)."""
    template_id = str(settings.WECHAT.get("SUBSCRIBE_TEMPLATE_ID") or "")
    if not template_id or not openid:
        return None
    conv = conversation_of(openid=openid)
    if conv is not None and conv.notify_consent:
        return None
    # The signature covers the page's exact address: scheme, host, path and query string, no fragment.
    config = jssdk_config(url=request.build_absolute_uri())
    real = real_wechat()
    return NotifyPrompt(
        template_id=template_id,
        wx_config=config,
        jssdk_url=JSSDK_URL if real and config is not None else "",
        simulated=not real,
    )
