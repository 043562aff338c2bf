from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "eco12369.oversight"
    default_auto_field = "django.db.models.BigAutoField"
