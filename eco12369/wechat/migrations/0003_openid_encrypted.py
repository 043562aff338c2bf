"""The reporter's openid in the WeChat tables (Art. 17), step 1 of 3: the outbox and the conversation keep it
encrypted next to its blind index; the callback's record keeps only the blind index. Schema only: the
values are encrypted and indexed by 0004; 0005 then adds the unique and the indexes on the blind index and
drops the inbound message's openid."""

import eco12369.crypto
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wechat", "0002_delivery_conversation"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="outboxmessage",
            name="outbox_openid_status",
        ),
        migrations.RemoveIndex(
            model_name="outboxmessage",
            name="outbox_openid_channel_sent",
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="openid_digest",
            field=eco12369.crypto.BlindIndexField(
                blank=True, default="", editable=False, max_length=64, source="openid"
            ),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="openid",
            field=eco12369.crypto.EncryptedTextField(verbose_name="举报人微信标识"),
        ),
        migrations.AddField(
            model_name="inboundmessage",
            name="openid_digest",
            field=models.CharField(blank=True, db_index=True, default="", editable=False, max_length=64),
        ),
        # Not unique yet: every row's index is empty until 0004 fills it.
        migrations.AddField(
            model_name="conversation",
            name="openid_digest",
            field=eco12369.crypto.BlindIndexField(
                blank=True, default="", editable=False, max_length=64, source="openid"
            ),
        ),
        migrations.AlterField(
            model_name="conversation",
            name="openid",
            field=eco12369.crypto.EncryptedTextField(verbose_name="举报人微信标识"),
        ),
    ]
