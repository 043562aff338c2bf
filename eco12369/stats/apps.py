from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "eco12369.stats"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The audit log names the monthly report's events and statuses (issue 12, D4).
        from eco12369.audit.display import register_action_labels, register_value_labels  # lazy: app registry
        from eco12369.cases.hooks import hook_register, on_case_changed  # lazy: app registry

        from .models import MonthlyReport, MonthlyReportEvent  # lazy: models load once the registry is ready
        from .rollups import case_changed  # lazy: imports the models

        # The dashboard's rollups follow every case creation and transition (issue 15).
        hook_register(on_case_changed, case_changed)

        register_action_labels(
            {f"monthly_report.{a}": f"月报：{label}" for a, label in MonthlyReportEvent.ACTION_LABELS.items()}
        )
        for key in ("from", "to"):
            register_value_labels("monthly_report", key, dict(MonthlyReport.Status.choices))
