from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "eco12369.oversight"
    verbose_name = "督查督办"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the duplicate finder to case intake)
