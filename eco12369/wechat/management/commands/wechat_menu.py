"""``manage.py wechat_menu``: push the official account's menu (提交举报 / 我的举报 / 举报须知)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from wechatpy.exceptions import WeChatClientException

from eco12369.wechat.menu import menu_definition, menu_push


class Command(BaseCommand):
    help = "向微信推送公众号自定义菜单（提交举报、我的举报、举报须知）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--site-url", default=None, help="H5 页面所在网站地址（默认 settings.WECHAT['SITE_URL']）"
        )
        parser.add_argument("--dry-run", action="store_true", help="只显示菜单，不推送")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["dry_run"]:
            menu = menu_definition(site_url=opts["site_url"])
            self.stdout.write(json.dumps(menu, ensure_ascii=False, indent=2))
            return
        try:
            menu = menu_push(site_url=opts["site_url"])
        except WeChatClientException as exc:
            raise CommandError(f"菜单推送失败：{exc.errcode} {exc.errmsg}") from exc
        except Exception as exc:  # network: the simulator or WeChat is not reachable
            raise CommandError(f"菜单推送失败，无法连接微信接口：{exc.__class__.__name__}") from exc
        names = "、".join(b["name"] for b in menu["button"])
        self.stdout.write(self.style.SUCCESS(f"菜单已推送：{names}"))
