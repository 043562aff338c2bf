from django.apps import AppConfig


class WechatConfig(AppConfig):
    name = "eco12369.wechat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # lazy: models load after the app registry is ready
        from eco12369.notifications.services import outbox_waker_set

        from . import checks  # noqa: F401  (registers the deployment checks)
        from .retention import retention_register
        from .tasks import outbox_wake

        outbox_waker_set(outbox_wake)  # the outbox rows are delivered by this channel's Huey task
        retention_register()  # the WeChat part of the reporter-data erasure (compliance/retention.py)
