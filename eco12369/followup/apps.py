from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "eco12369.followup"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "回访与答复模板"

    def ready(self) -> None:
        from . import signals  # noqa: F401
