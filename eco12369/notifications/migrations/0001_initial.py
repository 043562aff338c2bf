"""The outbox moves from ``wechat`` to ``notifications`` (issue 10: below ``cases``). State only: the tables
keep their names (``wechat_outboxmessage``, ``wechat_deliveryattempt``), indexes and rows; no data moves.
``wechat.0006_outbox_to_notifications`` drops the models from wechat's state in the same step."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import eco12369.crypto

CHANNELS = [("passive", "被动回复"), ("custom", "客服消息"), ("subscribe", "订阅通知"), ("h5", "H5页面")]


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("cases", "0007_reply_public_summary"),
        ("wechat", "0005_openid_digest_indexes"),
    ]

    state_operations = [
        migrations.CreateModel(
            name="OutboxMessage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("openid", eco12369.crypto.EncryptedTextField(verbose_name="举报人微信标识")),
                (
                    "openid_digest",
                    eco12369.crypto.BlindIndexField(
                        blank=True, default="", editable=False, max_length=64, source="openid"
                    ),
                ),
                (
                    "template",
                    models.CharField(
                        choices=[
                            ("acknowledged", "受理回执"),
                            ("accepted", "已受理"),
                            ("handed_over", "已移交"),
                            ("extended", "已延期"),
                            ("closed", "已办结"),
                            ("answered", "已答复"),
                            ("duplicate", "重复举报"),
                            ("status", "进度查询"),
                            ("welcome", "关注欢迎"),
                            ("help", "使用说明"),
                        ],
                        max_length=20,
                        verbose_name="模板",
                    ),
                ),
                ("text", models.TextField(verbose_name="内容")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "待发送"),
                            ("sending", "发送中"),
                            ("sent", "已发送"),
                            ("waiting", "等待可用通道"),
                            ("failed", "发送失败"),
                        ],
                        default="pending",
                        max_length=20,
                        verbose_name="状态",
                    ),
                ),
                ("channel", models.CharField(blank=True, choices=CHANNELS, max_length=20, verbose_name="通道")),
                ("channel_reason", models.CharField(blank=True, max_length=200, verbose_name="通道说明")),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("claim_token", models.CharField(blank=True, max_length=32)),
                ("claimed_at", models.DateTimeField(blank=True, null=True)),
                ("last_error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                (
                    "case",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="outbox_messages",
                        to="cases.case",
                    ),
                ),
                (
                    "reply",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="outbox_messages",
                        to="cases.reply",
                    ),
                ),
            ],
            options={
                "verbose_name": "待发消息",
                "verbose_name_plural": "待发消息",
                "db_table": "wechat_outboxmessage",
                "ordering": ["id"],
                "indexes": [
                    models.Index(fields=["status", "next_attempt_at"], name="outbox_status_next"),
                    models.Index(fields=["openid_digest", "status"], name="outbox_digest_status"),
                    models.Index(
                        fields=["openid_digest", "channel", "sent_at"], name="outbox_digest_channel_sent"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="DeliveryAttempt",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="时间")),
                ("channel", models.CharField(blank=True, choices=CHANNELS, max_length=20, verbose_name="通道")),
                ("ok", models.BooleanField(default=False, verbose_name="成功")),
                ("errcode", models.IntegerField(blank=True, null=True)),
                ("error", models.TextField(blank=True, verbose_name="错误")),
                ("worker", models.CharField(blank=True, max_length=100)),
                ("duration_ms", models.PositiveIntegerField(default=0)),
                (
                    "message",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="delivery_attempts",
                        to="notifications.outboxmessage",
                    ),
                ),
            ],
            options={
                "verbose_name": "发送记录",
                "verbose_name_plural": "发送记录",
                "db_table": "wechat_deliveryattempt",
                "ordering": ["at", "id"],
            },
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations, database_operations=[])]
