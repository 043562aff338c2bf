"""The reporter's openid of an H5 form, step 2 of 2: encrypt what was written in clear and fill the blind
index, in batches of 500 rows, one transaction each; running it again is harmless. Reversible: reversing
writes the openids back in clear (0002's reversal then makes the column plain again)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations, transaction

BATCH = 500


def _batches(model: Any, alias: str) -> Iterator[list[tuple[Any, str]]]:
    last = 0
    while True:
        rows = list(
            model.objects.using(alias).filter(pk__gt=last).order_by("pk").values_list("pk", "openid")[:BATCH]
        )
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def encrypt_existing(apps: Any, schema_editor: Any) -> None:
    from eco12369.crypto import blind_index

    alias = schema_editor.connection.alias
    submission = apps.get_model("portal", "Submission")
    for rows in _batches(submission, alias):
        # The historical EncryptedTextField decrypts on read (clear text passes through) and encrypts on write.
        objs = [submission(pk=pk, openid=openid or "", openid_digest=blind_index(openid or "")) for pk, openid in rows]
        with transaction.atomic(using=alias):
            submission.objects.using(alias).bulk_update(objs, ["openid", "openid_digest"])


def decrypt_back(apps: Any, schema_editor: Any) -> None:
    """Reverse: the openids back in clear (plain SQL: the encrypted field would encrypt them again)."""
    alias = schema_editor.connection.alias
    connection = schema_editor.connection
    q = connection.ops.quote_name
    submission = apps.get_model("portal", "Submission")
    sql = f"UPDATE {q(submission._meta.db_table)} SET {q('openid')} = %s WHERE {q('id')} = %s"  # noqa: S608
    for rows in _batches(submission, alias):
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.executemany(sql, [(openid or "", pk) for pk, openid in rows])


class Migration(migrations.Migration):
    atomic = False  # one transaction per batch

    dependencies = [("portal", "0002_submission_openid_encrypted")]

    operations = [migrations.RunPython(encrypt_existing, decrypt_back, elidable=False)]
