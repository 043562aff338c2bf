"""The reporter's openid in the WeChat tables, step 3 of 3: the look-ups by openid move to its blind index
(the conversation's unique, the outbox's two indexes) and the callback's record drops the openid column.

Reversing brings the column back empty: the openid of an inbound message cannot be recovered from its
blind index (a one-way digest)."""

import eco12369.crypto
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wechat", "0004_openid_encrypt_existing"),
    ]

    operations = [
        migrations.AlterField(
            model_name="conversation",
            name="openid_digest",
            field=eco12369.crypto.BlindIndexField(
                blank=True, default="", editable=False, max_length=64, source="openid", unique=True
            ),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(fields=["openid_digest", "status"], name="outbox_digest_status"),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(
                fields=["openid_digest", "channel", "sent_at"], name="outbox_digest_channel_sent"
            ),
        ),
        # A default first, so that reversing can bring the column back (empty) on every database.
        migrations.AlterField(
            model_name="inboundmessage",
            name="openid",
            field=models.CharField(blank=True, db_index=True, default="", max_length=200),
        ),
        migrations.RemoveField(
            model_name="inboundmessage",
            name="openid",
        ),
    ]
