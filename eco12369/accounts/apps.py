from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "eco12369.accounts"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "登录安全"
