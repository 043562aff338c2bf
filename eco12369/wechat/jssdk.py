"""WeChat JS-SDK configuration (``wx.config``) for the H5 pages.

The page needs it to render WeChat's open tag ``<wx-open-subscribe>``: a reporter who accepts in its popup
makes WeChat push ``subscribe_msg_popup_event`` to our callback, which records the consent
(``handlers.on_subscribe_popup``). The jsapi_ticket comes through wechatpy's client and is cached, with
its expiry, in the client's session store, the one that holds the access token (Redis in production): every
process shares one ticket instead of fetching its own (WeChat limits ``getticket`` calls per day).
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from django.conf import settings

from .client import api_client

logger = logging.getLogger(__name__)

OPEN_TAGS = ["wx-open-subscribe"]


def jssdk_config(*, url: str) -> dict[str, Any] | None:
    """The ``wx.config`` parameters for the page at ``url`` (its full address with the query string, no
    ``#fragment``), or ``None`` when WeChat cannot give a ticket now: the page then shows no open tag."""
    url = url.split("#", 1)[0]
    client = api_client()
    try:
        ticket = client.jsapi.get_jsapi_ticket()
    except Exception:  # WeChat, the network or the session store (Redis): the page must still render
        logger.warning("jsapi_ticket unavailable; the page is rendered without the JS-SDK", exc_info=True)
        return None
    nonce = secrets.token_hex(8)
    timestamp = int(time.time())
    return {
        "debug": False,
        "appId": settings.WECHAT["APP_ID"],
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": client.jsapi.get_jsapi_signature(nonce, ticket, timestamp, url),
        "jsApiList": [],
        "openTagList": list(OPEN_TAGS),
    }
