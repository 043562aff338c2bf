"""The reporter's openid of an H5 form (Art. 17), step 1 of 2: encrypted, with its blind index for the
look-ups. Schema only: 0003 encrypts the values written in clear and fills the index."""

import eco12369.crypto
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="openid_digest",
            field=eco12369.crypto.BlindIndexField(
                blank=True, db_index=True, default="", editable=False, max_length=64, source="openid"
            ),
        ),
        migrations.AlterField(
            model_name="submission",
            name="openid",
            field=eco12369.crypto.EncryptedTextField(verbose_name="举报人微信标识"),
        ),
    ]
