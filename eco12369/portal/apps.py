from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "eco12369.portal"
    default_auto_field = "django.db.models.BigAutoField"
