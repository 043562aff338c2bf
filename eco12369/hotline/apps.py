from django.apps import AppConfig


class HotlineConfig(AppConfig):
    name = "eco12369.hotline"
    verbose_name = "电话代录与转办导入"
