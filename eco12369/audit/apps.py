from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "eco12369.audit"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "审计"

    def ready(self) -> None:
        # lazy: the receivers and the SQLite hook need the app registry ready
        from django.db.backends.signals import connection_created

        from . import signals  # noqa: F401
        from .protection import sqlite_connected

        connection_created.connect(sqlite_connected, dispatch_uid="eco12369.audit.sqlite_connected")
