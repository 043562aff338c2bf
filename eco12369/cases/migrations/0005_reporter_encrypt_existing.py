"""Encrypt the reporter identity of cases written before encryption (Art. 17) and fill the openid's blind
index. Idempotent: a value already encrypted is read back in clear and written again with the newest key."""

from __future__ import annotations

from typing import Any

from django.db import migrations

BATCH = 500


def encrypt_existing(apps: Any, schema_editor: Any) -> None:
    from eco12369.crypto import blind_index

    Case = apps.get_model("cases", "Case")
    last = 0
    while True:
        # The historical model's EncryptedTextField decrypts on read (clear text passes through unchanged)
        # and encrypts on write.
        rows = list(
            Case.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "reporter_name", "reporter_phone", "reporter_openid")[:BATCH]
        )
        if not rows:
            return
        for pk, name, phone, openid in rows:
            Case.objects.filter(pk=pk).update(
                reporter_name=name or "",
                reporter_phone=phone or "",
                reporter_openid=openid or "",
                reporter_openid_digest=blind_index(openid or ""),
            )
        last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_reporter_encrypted")]

    operations = [migrations.RunPython(encrypt_existing, migrations.RunPython.noop, elidable=False)]
