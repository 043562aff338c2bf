from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    name = "eco12369.workbench"
    default_auto_field = "django.db.models.BigAutoField"
