from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """The outbox (what a reporter is told), below ``cases`` so a case change writes its message in its
    own transaction. The channels that deliver it register their waker (``services.outbox_waker_set``)."""

    name = "eco12369.notifications"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "举报人通知"

    def ready(self) -> None:
        from .retention import retention_register  # lazy: models load after the app registry is ready

        retention_register()  # the outbox's part of the reporter-data erasure (compliance/retention.py)
