from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """Outbound content rules (Art. 16), retention of reporter data, field-key rotation, deployment checks
    and security headers (issue #5, issue #7 item 5)."""

    name = "eco12369.compliance"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "合规与安全"

    def ready(self) -> None:
        from . import checks  # noqa: F401  # lazy: registers the deployment checks once the apps are ready
