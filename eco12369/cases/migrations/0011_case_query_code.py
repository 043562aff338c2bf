"""The public query code (issue 11, M4): a new field, and a code of its own for every existing case."""

from typing import Any

from django.db import migrations, models

import eco12369.cases.models

BATCH = 2000


def backfill(apps: Any, schema_editor: Any) -> None:
    Case = apps.get_model("cases", "Case")
    new = eco12369.cases.models.query_code_new
    ids = list(Case.objects.using(schema_editor.connection.alias).values_list("pk", flat=True).order_by("pk"))
    for start in range(0, len(ids), BATCH):
        rows = [Case(pk=pk, query_code=new()) for pk in ids[start : start + BATCH]]
        Case.objects.using(schema_editor.connection.alias).bulk_update(rows, ["query_code"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0010_text_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="query_code",
            field=models.CharField(
                default=eco12369.cases.models.query_code_new,
                editable=False,
                max_length=16,
                verbose_name="查询码",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
