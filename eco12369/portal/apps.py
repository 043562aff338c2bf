from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "eco12369.portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .retention import retention_register  # lazy: models load after the app registry is ready

        retention_register()  # the H5 form's part of the reporter-data erasure (compliance/retention.py)
