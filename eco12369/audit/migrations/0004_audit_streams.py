"""Audit streams (issue 16): the trail becomes several chains so that writes about different objects do
not queue on one row lock. Existing entries are stream 1, whose head is the old single ``AuditHead`` row
(id 1): the chain written so far continues unchanged. SQLite rebuilds the table to add a column, which
drops its append-only triggers: they are created again (``eco12369.audit.protection``)."""

from typing import Any

from django.db import migrations, models

from eco12369.audit.protection import SQLITE_DROP, SQLITE_TRIGGERS


def sqlite_triggers_again(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for sql in (*SQLITE_DROP, *SQLITE_TRIGGERS):
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_keyed_chain")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="stream",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.RunPython(sqlite_triggers_again, migrations.RunPython.noop, elidable=False),
    ]
