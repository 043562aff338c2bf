"""The reporter's openid in the WeChat tables, step 2 of 3: encrypt what was written in clear and fill the
blind indexes, in batches of 500 rows, one transaction each (a large table is never one long transaction;
running it again is harmless: an encrypted value is read back in clear and written again).

- outbox and conversation: the openid encrypted, ``openid_digest`` its blind index;
- the callback's record: ``openid_digest`` filled, an event's ``dedupe_key`` (``evt:<openid>:…``) rebuilt
  from the blind index, ``raw`` without the sender (as the callback now stores it). 0005 drops its openid.

Reversible in part: reversing writes the outbox's and the conversation's openids back in clear (0003's
reversal then makes them plain columns again). The inbound messages' openid, the sender in their raw XML
and their events' keys cannot come back: only a one-way digest was kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.db import migrations, transaction

BATCH = 500
# As ``eco12369.wechat.inbound.sender_removed`` (frozen here, as migrations must be).
_FROM_USER = re.compile(r"<FromUserName\b[^>]*?(?:/>|>.*?</FromUserName>)", re.DOTALL)


def _sender_removed(xml: str, openid: str) -> str:
    xml = _FROM_USER.sub("<FromUserName><![CDATA[]]></FromUserName>", xml or "")
    return xml.replace(openid, "") if openid else xml


def _batches(model: Any, fields: tuple[str, ...], alias: str) -> Iterator[list[tuple[Any, ...]]]:
    last = 0
    while True:
        rows = list(
            model.objects.using(alias)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", *fields)[:BATCH]
        )
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def encrypt_existing(apps: Any, schema_editor: Any) -> None:
    from eco12369.crypto import blind_index

    alias = schema_editor.connection.alias
    for name in ("OutboxMessage", "Conversation"):
        model = apps.get_model("wechat", name)
        for rows in _batches(model, ("openid",), alias):
            # The historical EncryptedTextField decrypts on read (clear text passes through unchanged) and
            # encrypts on write.
            objs = [model(pk=pk, openid=openid or "", openid_digest=blind_index(openid or "")) for pk, openid in rows]
            with transaction.atomic(using=alias):
                model.objects.using(alias).bulk_update(objs, ["openid", "openid_digest"])
    inbound = apps.get_model("wechat", "InboundMessage")
    for rows in _batches(inbound, ("openid", "dedupe_key", "raw"), alias):
        objs = []
        for pk, openid, key, raw in rows:
            digest = blind_index(openid or "")
            if openid and key.startswith(f"evt:{openid}:"):
                key = f"evt:{digest}:{key[len(openid) + 5 :]}"[:250]
            objs.append(inbound(pk=pk, openid_digest=digest, dedupe_key=key, raw=_sender_removed(raw, openid)))
        with transaction.atomic(using=alias):
            inbound.objects.using(alias).bulk_update(objs, ["openid_digest", "dedupe_key", "raw"])


def decrypt_back(apps: Any, schema_editor: Any) -> None:
    """Reverse: the outbox's and the conversation's openids back in clear (plain SQL: through the ORM the
    encrypted field would encrypt them again)."""
    alias = schema_editor.connection.alias
    connection = schema_editor.connection
    q = connection.ops.quote_name
    for name in ("OutboxMessage", "Conversation"):
        model = apps.get_model("wechat", name)
        sql = f"UPDATE {q(model._meta.db_table)} SET {q('openid')} = %s WHERE {q('id')} = %s"  # noqa: S608
        for rows in _batches(model, ("openid",), alias):
            with transaction.atomic(using=alias), connection.cursor() as cursor:
                cursor.executemany(sql, [(openid or "", pk) for pk, openid in rows])


class Migration(migrations.Migration):
    atomic = False  # one transaction per batch

    dependencies = [("wechat", "0003_openid_encrypted")]

    operations = [migrations.RunPython(encrypt_existing, decrypt_back, elidable=False)]
