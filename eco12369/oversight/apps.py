from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "eco12369.oversight"
    verbose_name = "督查督办"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # lazy: models load after the app registry is ready
        from eco12369.cases.hooks import hook_register, on_case_created

        from .hooks import case_created
        from .retention import retention_register

        hook_register(on_case_created, case_created)  # the duplicate finder follows case intake
        retention_register()  # its part of the reporter-data erasure (compliance/retention.py)
