from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "eco12369.audit"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "审计"

    def ready(self) -> None:
        from . import signals  # noqa: F401
