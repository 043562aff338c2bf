"""The keyed chain (issue 11, M5): each entry records how its ``hash`` was made and with which key. Earlier
entries keep ``alg`` "sha256" (a bare hash). SQLite rebuilds the table to add a column, which drops its
append-only triggers: they are created again (``eco12369.audit.protection``)."""

from typing import Any

from django.db import migrations, models

from eco12369.audit.protection import SQLITE_DROP, SQLITE_TRIGGERS


def sqlite_triggers_again(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for sql in (*SQLITE_DROP, *SQLITE_TRIGGERS):
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="alg",
            field=models.CharField(default="sha256", max_length=16),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="key_id",
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.RunPython(sqlite_triggers_again, migrations.RunPython.noop, elidable=False),
    ]
