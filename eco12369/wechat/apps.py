from django.apps import AppConfig


class WechatConfig(AppConfig):
    name = "eco12369.wechat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401
