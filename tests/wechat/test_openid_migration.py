"""The migrations that encrypt the reporter's openid in the WeChat and H5 tables: rows written in clear
before them (as the tables were) come out encrypted, indexed and found by the blind index; an event's key
and the raw XML lose the openid; reversing writes back in clear what was kept encrypted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from eco12369.crypto import PREFIXES, blind_index

pytestmark = pytest.mark.django_db(transaction=True)

OLD = [("wechat", "0002_delivery_conversation"), ("portal", "0001_initial")]
OPENIDS = [f"oMigr-{i:02d}-Kd8Qw3Zp5Lx7Vn2Rt" for i in range(7)]
EVENT_AT = 1_750_000_000


def migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate to ``targets``; the historical models of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def latest() -> list[tuple[str, str]]:
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    return [node for node in leaves if node[0] in ("wechat", "portal")]


@pytest.fixture
def old_schema() -> Iterator[Any]:
    apps = migrate(OLD)
    try:
        yield apps
    finally:
        migrate(latest())


def dump(table: str, columns: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} ORDER BY id")
        return list(cursor.fetchall())


def test_rows_written_in_clear_are_encrypted_and_indexed_and_reversal_restores_them(
    old_schema: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    apps = old_schema
    outbox = apps.get_model("wechat", "OutboxMessage")
    inbound = apps.get_model("wechat", "InboundMessage")
    conversation = apps.get_model("wechat", "Conversation")
    submission = apps.get_model("portal", "Submission")
    # 3 outbox rows per reporter, more than one batch in all with a small batch: batches are by primary key.
    for openid in OPENIDS:
        conversation.objects.create(openid=openid, last_inbound_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
        submission.objects.create(token=f"tok-{openid}", openid=openid)
        for n in range(3):
            outbox.objects.create(openid=openid, template="status", text=f"通知{n}", status="waiting")
    first = OPENIDS[0]
    inbound.objects.create(
        dedupe_key=f"evt:{first}:{EVENT_AT}:subscribe",
        openid=first,
        msg_type="event",
        event="subscribe",
        raw=f"<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[{first}]]></FromUserName>"
        f"<CreateTime>{EVENT_AT}</CreateTime><MsgType><![CDATA[event]]></MsgType></xml>",
    )
    inbound.objects.create(
        dedupe_key="msg:1001", openid=first, msg_type="text", content="河道发臭", raw=f"<xml>{first}</xml>"
    )
    inbound.objects.create(dedupe_key="erased:3", openid="", msg_type="text")  # erased by retention before

    from importlib import import_module

    data = import_module("eco12369.wechat.migrations.0004_openid_encrypt_existing")
    monkeypatch.setattr(data, "BATCH", 4)  # several batches over the seven reporters
    migrate(latest())

    from eco12369.notifications.models import OutboxMessage
    from eco12369.portal.selectors import submission_get
    from eco12369.wechat.models import Conversation
    from eco12369.wechat.selectors import conversation_of, outbox_waiting_for

    for table in ("wechat_outboxmessage", "wechat_conversation", "portal_submission"):
        stored = dump(table, "openid, openid_digest")
        assert len(stored) == len(OPENIDS) * (3 if table == "wechat_outboxmessage" else 1)
        assert all(value.startswith(PREFIXES) for value, _ in stored), table
        assert sorted({digest for _, digest in stored}) == sorted(blind_index(o) for o in OPENIDS), table
    digest = blind_index(first)
    assert dump("wechat_inboundmessage", "dedupe_key, openid_digest") == [
        (f"evt:{digest}:{EVENT_AT}:subscribe", digest),
        ("msg:1001", digest),
        ("erased:3", ""),
    ]
    everything = repr([dump(t, "*") for t in ("wechat_inboundmessage", "wechat_outboxmessage")])
    assert not any(openid in everything for openid in OPENIDS)
    # The application finds and reads them.
    for openid in OPENIDS:
        conv = conversation_of(openid=openid)
        assert conv is not None and conv.openid == openid
        assert [m.openid for m in outbox_waiting_for(openid=openid)] == [openid] * 3
        found = submission_get(openid=openid, token=f"tok-{openid}")
        assert found is not None and found.openid == openid
    assert Conversation.objects.count() == len(OPENIDS)
    assert OutboxMessage.objects.count() == 3 * len(OPENIDS)

    # Reversal: what was kept encrypted is written back in clear; the inbound openid cannot come back.
    migrate(OLD)
    assert sorted(o for (o,) in dump("wechat_conversation", "openid")) == OPENIDS
    assert sorted({o for (o,) in dump("wechat_outboxmessage", "openid")}) == OPENIDS
    assert sorted(o for (o,) in dump("portal_submission", "openid")) == OPENIDS
    assert {o for (o,) in dump("wechat_inboundmessage", "openid")} == {""}
