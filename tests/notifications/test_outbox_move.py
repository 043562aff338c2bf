"""The outbox moved from wechat to notifications (issue 10) by state-only migrations: a message written
before the move (a reporter still waiting for it) is the same row after it, read through the new model,
in the same table; reversing the move loses nothing either."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from eco12369.notifications.models import DeliveryAttempt, OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)

# (app, migration); None: before the app's first migration.
BEFORE: list[tuple[str, str | None]] = [("wechat", "0005_openid_digest_indexes"), ("notifications", None)]


def migrate(targets: Sequence[tuple[str, str | None]]) -> Any:
    MigrationExecutor(connection).migrate(targets)
    applied = [(app, name) for app, name in targets if name]
    return MigrationExecutor(connection).loader.project_state(applied).apps


def latest() -> list[tuple[str, str]]:
    return list(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_a_message_written_before_the_move_is_the_same_row_after_it() -> None:
    apps = migrate(BEFORE)
    try:
        old_outbox = apps.get_model("wechat", "OutboxMessage")
        old_attempt = apps.get_model("wechat", "DeliveryAttempt")
        message = old_outbox.objects.create(
            openid="oMove-某某-Kd8Qw3",
            template="status",
            text="您的举报（编号 TJ2026…）正在办理。",
            status="waiting",
        )
        old_attempt.objects.create(message=message, channel="custom", ok=False, error="45015 超出48小时")
    finally:
        migrate(latest())
    moved = OutboxMessage.objects.get(pk=message.pk)
    assert (moved.template, moved.status, moved.text) == (
        "status",
        "waiting",
        "您的举报（编号 TJ2026…）正在办理。",
    )
    assert moved.openid == "oMove-某某-Kd8Qw3"
    assert [a.error for a in DeliveryAttempt.objects.filter(message=moved)] == ["45015 超出48小时"]
    assert OutboxMessage._meta.db_table == "wechat_outboxmessage"
    assert "wechat_outboxmessage" in connection.introspection.table_names()
    # And back: the old model reads the row again.
    apps = migrate(BEFORE)
    try:
        assert (
            apps.get_model("wechat", "OutboxMessage").objects.get(pk=message.pk).text.startswith("您的举报")
        )
    finally:
        migrate(latest())
