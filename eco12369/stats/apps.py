from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "eco12369.stats"
    default_auto_field = "django.db.models.BigAutoField"
