"""The official account's custom menu (自定义菜单): two H5 pages and the rules."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .client import api_client
from .texts import MENU_RULES_KEY


def menu_definition(*, site_url: str | None = None) -> dict[str, Any]:
    site = (site_url or settings.WECHAT["SITE_URL"]).rstrip("/")
    return {
        "button": [
            {"type": "view", "name": "提交举报", "url": f"{site}/portal/report/"},
            {"type": "view", "name": "我的举报", "url": f"{site}/portal/mine/"},
            {"type": "click", "name": "举报须知", "key": MENU_RULES_KEY},
        ]
    }


def menu_push(*, site_url: str | None = None) -> dict[str, Any]:
    """Create (replace) the menu through WeChat's ``menu/create``."""
    menu = menu_definition(site_url=site_url)
    api_client().menu.create(menu)
    return menu
