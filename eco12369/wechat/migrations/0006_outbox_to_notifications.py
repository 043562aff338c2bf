"""The outbox models left wechat for ``notifications`` (issue 10). State only: the tables and their rows stay
where they are (``notifications.0001_initial`` takes them over under the same names)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("wechat", "0005_openid_digest_indexes"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="DeliveryAttempt"),
                migrations.DeleteModel(name="OutboxMessage"),
            ],
            database_operations=[],
        )
    ]
