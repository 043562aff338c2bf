from django.apps import AppConfig


class CasesConfig(AppConfig):
    verbose_name = "举报件"
    name = "eco12369.cases"
    default_auto_field = "django.db.models.BigAutoField"
