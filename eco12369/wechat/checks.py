"""Deploy check (``manage.py check --deploy``): a real official account (``WECHAT_APP_ID`` set) must have
its own secret, token and EncodingAESKey. Left unset, each falls back to the simulator's well-known value,
with which anyone could forge WeChat's callbacks or read them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

SETTINGS = {
    "APP_SECRET": "WECHAT_APP_SECRET",
    "TOKEN": "WECHAT_TOKEN",
    "ENCODING_AES_KEY": "WECHAT_ENCODING_AES_KEY",
}


@register(Tags.security, deploy=True)
def wechat_credentials_set(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    conf: dict[str, Any] = settings.WECHAT
    simulator: dict[str, str] = settings.WECHAT_SIMULATOR_CREDENTIALS
    if conf["APP_ID"] == simulator["APP_ID"]:
        return []  # the simulator: development and the demo
    missing = [
        variable
        for key, variable in SETTINGS.items()
        if not str(conf.get(key) or "").strip() or conf[key] == simulator[key]
    ]
    if not missing:
        return []
    return [
        Error(
            f"已设置 WECHAT_APP_ID，但未设置 {'、'.join(missing)}：正在使用模拟器的公开默认值，"
            "任何人都可伪造或解密微信推送的消息。",
            hint="请按公众号后台“基本配置”中的 AppSecret、Token 和 EncodingAESKey 设置这些环境变量；"
            "见 docs/deploy.md。",
            id="eco12369.wechat.E001",
        )
    ]
