from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "eco12369.followup"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "回访与答复模板"

    def ready(self) -> None:
        # lazy: models load after the app registry is ready
        from eco12369.cases.hooks import hook_register, on_case_closed

        from .hooks import case_closed
        from .retention import retention_register

        hook_register(on_case_closed, case_closed)  # followers are told when a case closes
        retention_register()  # its part of the reporter-data erasure (compliance/retention.py)
