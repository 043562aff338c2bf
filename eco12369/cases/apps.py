from django.apps import AppConfig


class CasesConfig(AppConfig):
    verbose_name = "举报件"
    name = "eco12369.cases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The audit log names the case's events and states (issue 12, D4); the audit app is a layer below.
        from eco12369.audit.display import register_action_labels, register_value_labels  # lazy: app registry

        from .models import Action, State  # lazy: models load once the app registry is ready
        from .retention import retention_register  # lazy: models load after the app registry is ready

        # Every case event's name (``case.<action>``); "case.receive" keeps the audit app's 接收举报.
        register_action_labels(
            {f"case.{action}": action.label for action in Action if action != Action.RECEIVE}
        )
        for key in ("from", "to"):
            register_value_labels("case", key, dict(State.choices))
        retention_register()  # the cases retention counts from, and their own rows (compliance/retention.py)
