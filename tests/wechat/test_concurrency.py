"""WeChat re-delivers a message when our answer is slow; deliveries can overlap. The unique ``dedupe_key``
is the lock: three deliveries of one MsgId at the same moment create one case and one reply."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from eco12369.cases.models import Case
from eco12369.crypto import blind_index
from eco12369.notifications.models import OutboxMessage
from eco12369.wechat.models import InboundMessage

from .conftest import WeChatServer, sqlite_in_memory

OPENID = "oConcurrent0001"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("wechat", ["safe", "plain"], indirect=True)
def test_three_concurrent_deliveries_of_one_msgid_create_one_case(
    wechat: WeChatServer, tianjin: None
) -> None:
    if sqlite_in_memory():
        pytest.skip(
            "SQLite's shared-cache in-memory test database fails concurrent writers at once ('table is locked') "
            "instead of waiting; the multi-process test below covers SQLite on a database file."
        )
    assert "已记录" in wechat.reply(wechat.text(OPENID, "印染厂排污口夜间排放黑水。"))
    xml = wechat.xml(OPENID, "text", Content="提交", MsgId=880001)
    # Three deliveries, each signed afresh (own timestamp/nonce) as WeChat's retries are.
    requests = [wechat.build(xml) for _ in range(3)]
    barrier = threading.Barrier(3)
    responses: list[Any] = [None] * 3
    errors: list[BaseException] = []

    def deliver(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            params, body = requests[i]
            responses[i] = wechat.post_raw(params, body, client=Client())
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert [r.status_code for r in responses] == [200, 200, 200]
    replies = [wechat.reply(r) for r in responses]
    case = Case.objects.get()  # exactly one
    with_number = [r for r in replies if case.number in r]
    assert len(with_number) == 1, replies  # one acknowledgement...
    assert replies.count("") == 2  # ...the other deliveries answered with an empty "success"
    assert InboundMessage.objects.filter(msg_id="880001").count() == 1
    assert OutboxMessage.objects.filter(case=case).count() == 1


@pytest.mark.slow
def test_three_concurrent_deliveries_to_three_server_processes_create_one_case(
    shared_platform: Any, settings: Any
) -> None:
    """The same, across processes: gunicorn with three workers on a database file (or PostgreSQL) shared
    by all of them, as in production."""
    import requests

    from .platform_process import PY, free_port, wait_until

    port = free_port()
    server = shared_platform.start(
        "gunicorn",
        PY,
        "-m",
        "gunicorn",
        "eco12369.wsgi",
        "-b",
        f"127.0.0.1:{port}",
        "--workers",
        "3",
        "--preload",
    )
    url = f"http://127.0.0.1:{port}/wechat/callback/"

    def up() -> bool:
        try:
            return requests.get(url, timeout=1).status_code == 403
        except requests.RequestException:
            return False

    try:
        wait_until(up, 60, "gunicorn")
        w = WeChatServer(Client(), settings.WECHAT, mode="safe")
        openid = "oConcurrentProc01"
        params, body = w.build(w.xml(openid, "text", Content="化工厂偷排废水。", MsgId=990001))
        assert requests.post(url, params=params, data=body.encode(), timeout=10).status_code == 200
        xml = w.xml(openid, "text", Content="提交", MsgId=990002)
        signed = [w.build(xml) for _ in range(3)]
        barrier = threading.Barrier(3)
        results: list[Any] = [None] * 3

        def deliver(i: int) -> None:
            barrier.wait(timeout=10)
            results[i] = requests.post(url, params=signed[i][0], data=signed[i][1].encode(), timeout=30)

        threads = [threading.Thread(target=deliver, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert [r.status_code for r in results] == [200, 200, 200], [r.text for r in results]
        # Through the callback's own record (how the case app stores the reporter's openid is its business).
        numbers = shared_platform.query(
            "SELECT c.number FROM cases_case c WHERE c.id IN "
            "(SELECT i.case_id FROM wechat_inboundmessage i WHERE i.openid_digest = ? AND i.case_id IS NOT NULL)",
            (blind_index(openid),),
        )
        assert len(numbers) == 1, [r.text[:200] for r in results]
        assert shared_platform.query("SELECT COUNT(*) FROM cases_case")[0][0] == 1
        number = numbers[0][0]

        class _R:
            def __init__(self, r: Any) -> None:
                self.status_code, self.content = r.status_code, r.content

        replies = [w.reply(_R(r)) for r in results]
        assert sum(number in r for r in replies) == 1, replies
        assert replies.count("") == 2
        rows = shared_platform.query(
            "SELECT COUNT(*) FROM wechat_inboundmessage WHERE msg_id = ?", ("990002",)
        )
        assert rows[0][0] == 1
        outbox = shared_platform.query(
            "SELECT o.status, o.channel FROM wechat_outboxmessage o JOIN cases_case c ON c.id = o.case_id "
            "WHERE c.number = ?",
            (number,),
        )
        assert outbox == [("sent", "passive")]
    finally:
        shared_platform.stop(server)
