"""``manage.py wechat_simulator --port 8001``: run the WeChat simulator (API, OAuth, a reporter page)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from eco12369.wechat.simulator import Simulator, SimulatorConfig, serve


class Command(BaseCommand):
    help = "启动微信模拟器：模拟微信接口（令牌、客服消息、订阅通知、菜单、素材、网页授权）并扮演举报人。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument(
            "--callback",
            default="http://127.0.0.1:8000/wechat/callback/",
            help="平台的微信回调地址（模拟器以微信服务器身份向其推送消息）",
        )
        parser.add_argument(
            "--mode",
            choices=["safe", "compat", "plain"],
            default="safe",
            help="消息加解密方式（平台须以相同的 WECHAT_MESSAGE_MODE 运行）",
        )
        parser.add_argument("--public-url", default="", help="模拟器对外地址（默认 http://HOST:PORT/）")
        parser.add_argument("--verbose-http", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        conf: dict[str, Any] = settings.WECHAT
        public_url = opts["public_url"] or f"http://{opts['host']}:{opts['port']}/"
        sim = Simulator(
            SimulatorConfig(
                app_id=conf["APP_ID"],
                app_secret=conf["APP_SECRET"],
                token=conf["TOKEN"],
                encoding_aes_key=conf["ENCODING_AES_KEY"],
                callback_url=opts["callback"],
                mode=opts["mode"],
                public_url=public_url,
                subscribe_template_id=conf["SUBSCRIBE_TEMPLATE_ID"],
            )
        )
        server = serve(sim, opts["host"], opts["port"], quiet=not opts["verbose_http"])
        self.stdout.write(
            f"微信模拟器已启动：{public_url}  （回调：{opts['callback']}，模式：{opts['mode']}）"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
