from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    name = "eco12369.workbench"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The audit log names the workbench's own events (the audit app is layers below).
        from eco12369.audit.display import register_action_labels  # lazy: app registry

        register_action_labels({"case.note_add": "添加内部备注"})
