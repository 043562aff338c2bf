from django.apps import AppConfig


class Open311Config(AppConfig):
    name = "eco12369.open311"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Open311 开放接口"
