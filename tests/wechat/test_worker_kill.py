"""A delivery worker killed mid-batch loses nothing and sends nothing twice (issue #3).

A real Huey consumer (``manage.py run_huey``; on Redis when ``ECO_TEST_REDIS_URL`` is set, as in CI and
production, else on Huey's SQLite storage) delivers outbox rows to the simulator. After a few receipts the
simulator holds the worker's next requests before "WeChat" receives them; the consumer is SIGKILLed
with its requests in flight, the held requests are lost, and a new consumer is started. Every row reaches
the reporter exactly once, and the interrupted attempts are on record.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import pytest

from eco12369.crypto import blind_index
from eco12369.wechat.simulator import Simulator

from .platform_process import wait_until

ROWS = 12
WORKERS = 2
LEASE = 3


@pytest.mark.slow
def test_killed_worker_mid_batch_every_row_delivered_exactly_once(
    shared_platform: Any, wechat_simulator: Simulator
) -> None:
    sim = wechat_simulator
    prefix = f"oKill{int(time.time() * 1000) % 10**8}-"
    env = {
        "WECHAT_API_BASE_URL": sim.url,
        "WECHAT_DELIVERY_LEASE_SECONDS": str(LEASE),
        "WECHAT_DELIVERY_RETRY_SECONDS": "1",
    }
    # The rows are written the production way: outbox_write in a transaction, enqueued on commit into
    # the shared Huey queue (nothing consumes it yet).
    shared_platform.env.update(env)
    shared_platform.script(
        f"""
from django.db import transaction
from django.utils import timezone
from eco12369.wechat.models import Conversation
from eco12369.notifications.services import outbox_write
for i in range({ROWS}):
    with transaction.atomic():
        openid = "{prefix}%02d" % i
        Conversation.objects.create(openid=openid, last_inbound_at=timezone.now())
        outbox_write(case=None, openid=openid, template="status", text="进度通知 %s" % openid)
"""
    )

    # The rows of this test, by the blind index of their (encrypted) openids.
    digests = tuple(blind_index(f"{prefix}{i:02d}") for i in range(ROWS))
    mine = f"o.openid_digest IN ({', '.join('?' * ROWS)})"

    def statuses() -> collections.Counter[str]:
        rows = shared_platform.query(f"SELECT o.status FROM wechat_outboxmessage o WHERE {mine}", digests)
        return collections.Counter(r[0] for r in rows)

    assert statuses() == {"pending": ROWS}
    if shared_platform.redis_url:  # the production path: the tasks wait in Redis
        import redis

        queue = redis.Redis.from_url(shared_platform.redis_url).llen(f"huey.redis.{shared_platform.name}")
        assert queue >= ROWS

    # Let 4 messages through, then hold every further request before WeChat "receives" it.
    sim.state.hold_after = 4
    worker = shared_platform.start_worker(workers=WORKERS)
    try:
        wait_until(lambda: sim.state.held >= WORKERS, 90, "both worker threads to block on a held send")
    except AssertionError:
        raise AssertionError(shared_platform.log("huey")) from None
    shared_platform.kill(worker)  # SIGKILL, requests in flight
    with sim.state.lock:
        sim.state.release.drop = True  # type: ignore[attr-defined]
        sim.state.hold = False
        sim.state.hold_after = None
        sim.state.release.set()

    delivered_before = len(sim.received())
    mid = statuses()
    assert 4 <= delivered_before < ROWS
    assert mid["sent"] == delivered_before
    assert mid["sending"] == WORKERS  # claimed by the dead worker, never finished
    assert mid["pending"] == ROWS - delivered_before - WORKERS

    # A new consumer: its start-up sweep takes back the dead worker's rows once their lease ran out.
    time.sleep(LEASE + 0.5)
    worker = shared_platform.start_worker(workers=WORKERS)
    try:
        wait_until(lambda: len(sim.received()) >= ROWS, 90, "all rows delivered")
        time.sleep(1.5)  # anything sent twice would show up now
    except AssertionError:
        raise AssertionError(shared_platform.log("huey")) from None
    finally:
        shared_platform.stop(worker)

    per_reporter = collections.Counter(r.openid for r in sim.received() if r.openid.startswith(prefix))
    assert per_reporter == {f"{prefix}{i:02d}": 1 for i in range(ROWS)}  # exactly once each
    assert all(r.kind == "custom" for r in sim.received())
    assert statuses() == {"sent": ROWS}
    interrupted = shared_platform.query(
        "SELECT COUNT(*) FROM wechat_deliveryattempt a JOIN wechat_outboxmessage o ON o.id = a.message_id "
        f"WHERE {mine} AND a.ok = ? AND a.error LIKE ?",
        (*digests, False, "%发送进程中断%"),
    )
    assert interrupted[0][0] == WORKERS  # the attempts the dead worker could not record, on record now
    ok_attempts = shared_platform.query(
        "SELECT COUNT(*) FROM wechat_deliveryattempt a JOIN wechat_outboxmessage o ON o.id = a.message_id "
        f"WHERE {mine} AND a.ok = ?",
        (*digests, True),
    )
    assert ok_attempts[0][0] == ROWS
