from django.apps import AppConfig


class OrgsConfig(AppConfig):
    verbose_name = "机构与人员"
    name = "eco12369.orgs"
    default_auto_field = "django.db.models.BigAutoField"
