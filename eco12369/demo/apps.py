from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Tianjin demo data (``manage.py load_demo``, run by ``./scripts/demo``): the top layer, as it drives
    the services of every app below it to give demo cases real histories."""

    name = "eco12369.demo"
    verbose_name = "演示数据"
