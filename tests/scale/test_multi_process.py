"""Past one machine (docs/scale.md): two web processes and two Huey workers share one PostgreSQL and one
Redis, and nothing is handled twice.

On this machine: two gunicorn servers (two workers each) and two ``manage.py run_huey`` consumers (two
threads each) on a fresh PostgreSQL database and one Redis queue, WeChat simulated.

* Reporters write through both web servers; every "提交" is delivered three times at once, to both
  servers (WeChat's retries overlap when the answer is slow), and every description twice. Each reporter
  gets exactly one case and exactly one acknowledgement; each MsgId is recorded once.
* Two processes accept all the cases at the same moment (two operators' browsers): each case is accepted
  once, and tells its reporter once.
* Those notices are delivered by the two consumers: while "WeChat" holds its answers, four sends are in
  flight at once (so both consumers are delivering), an extra sweep re-enqueues the same rows, and the
  held sends are lost on the way (retried); then every reporter receives the notice exactly once and
  each row has exactly one successful send.

Skipped without PostgreSQL and Redis (the suite's PostgreSQL pass has both: ``ECO12369_TEST_PG=1``).
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.test import Client

from eco12369.crypto import blind_index
from eco12369.wechat.simulator import Simulator
from tests.wechat.conftest import WeChatServer
from tests.wechat.platform_process import PY, SharedPlatform, free_port, wait_until

REPORTERS = 12
CONSUMERS = 2
THREADS = 2

pytestmark = pytest.mark.slow


def _missing() -> str:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return "needs PostgreSQL shared by several processes: runs in the suite's PostgreSQL pass (ECO12369_TEST_PG=1)"
    if not os.environ.get("ECO_TEST_REDIS_URL"):
        return "needs Redis for Huey (ECO_TEST_REDIS_URL, set by scripts/test in its PostgreSQL pass)"
    return ""


@pytest.fixture
def platform(
    tmp_path_factory: pytest.TempPathFactory, wechat_simulator: Simulator
) -> Iterator[SharedPlatform]:
    if _missing():
        pytest.skip(_missing())
    shared = SharedPlatform(tmp_path_factory.mktemp("scale"))
    shared.env.update(
        WECHAT_API_BASE_URL=wechat_simulator.url,
        WECHAT_DELIVERY_RETRY_SECONDS="1",
        ECO_HUEY_WORKERS=str(THREADS),
    )
    try:
        shared.setup()
        yield shared
    finally:
        shared.close()


def _serve(platform: SharedPlatform, name: str) -> str:
    port = free_port()
    platform.start(name, PY, "-m", "gunicorn", "eco12369.wsgi", "-b", f"127.0.0.1:{port}", "--workers", "2")
    url = f"http://127.0.0.1:{port}/wechat/callback/"

    def up() -> bool:
        try:
            return requests.get(url, timeout=1).status_code == 403  # unsigned: refused, but answering
        except requests.RequestException:
            return False

    try:
        wait_until(up, 90, name)
    except AssertionError:
        raise AssertionError(platform.log(name)) from None
    return url


class _Reply:
    def __init__(self, response: requests.Response) -> None:
        self.status_code, self.content = response.status_code, response.content


def test_two_web_processes_and_two_workers_handle_everything_once(
    platform: SharedPlatform, wechat_simulator: Simulator, settings: Any
) -> None:
    sim = wechat_simulator
    webs = [_serve(platform, "web-a"), _serve(platform, "web-b")]
    consumers = [platform.start_worker(workers=THREADS) for _ in range(CONSUMERS)]
    wechat = WeChatServer(Client(), settings.WECHAT, mode="safe")
    prefix = f"oScale{int(time.time() * 1000) % 10**8}-"
    texts = {
        f"{prefix}{i:02d}": f"第{i}号化工厂夜间偷排黑水，河道发臭，位置在{i}号排口。"
        for i in range(REPORTERS)
    }
    msg_ids = iter(range(int(time.time() * 1000) * 10, 10**19))
    replies: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def post(url: str, xml: str) -> str:
        params, body = wechat.build(xml)  # every delivery signed afresh: its own timestamp and nonce
        return wechat.reply(_Reply(requests.post(url, params=params, data=body.encode(), timeout=60)))

    def reporter(i: int, openid: str) -> None:
        try:
            text = wechat.xml(openid, "text", Content=texts[openid], MsgId=next(msg_ids))
            first = post(webs[i % 2], text)
            post(webs[(i + 1) % 2], text)  # a retry of the description, through the other server
            assert "已记录" in first, first
            submit = wechat.xml(openid, "text", Content="提交", MsgId=next(msg_ids))
            barrier = threading.Barrier(3)
            out: list[str] = ["", "", ""]

            def deliver(k: int) -> None:
                barrier.wait(timeout=30)
                out[k] = post(webs[k % 2], submit)

            threads = [threading.Thread(target=deliver, args=(k,)) for k in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            replies[openid] = out
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=reporter, args=(i, o)) for i, o in enumerate(texts)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=300)
    assert not errors, errors

    # One case and one acknowledgement per reporter, whatever server got which delivery.
    # The callback's record keeps the blind index of the openid only.
    by_digest = {blind_index(openid): openid for openid in texts}
    mine = f"i.openid_digest IN ({', '.join('?' * len(by_digest))})"
    cases = [
        (by_digest[digest], *rest)
        for digest, *rest in platform.query(
            "SELECT i.openid_digest, c.id, c.number, c.description FROM wechat_inboundmessage i "
            f"JOIN cases_case c ON c.id = i.case_id WHERE {mine}",
            tuple(by_digest),
        )
    ]
    assert sorted(row[0] for row in cases) == sorted(texts)  # exactly one per reporter
    for openid, _id, number, description in cases:
        assert description == texts[openid]  # the re-delivered description was not added twice
        acknowledged = [r for r in replies[openid] if number in r]
        assert len(acknowledged) == 1, replies[openid]
        assert [r for r in replies[openid] if r != acknowledged[0]] == ["", ""]
    recorded = platform.query(
        f"SELECT i.openid_digest, COUNT(*) FROM wechat_inboundmessage i WHERE {mine} GROUP BY i.openid_digest",
        tuple(by_digest),
    )
    assert {by_digest[d]: n for d, n in recorded} == dict.fromkeys(
        texts, 2
    )  # two MsgIds each, five deliveries

    # Two operators accept every case at the same moment, from two processes: once each.
    platform.script(
        "from eco12369.orgs.models import Agency\n"
        "from eco12369.orgs.services import staff_create\n"
        "centre = Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)\n"
        "for name in ('scale_op_a', 'scale_op_b'):\n"
        "    staff_create(username=name, password=None, agency=centre, roles=['operator'])\n"
    )
    sim.state.hold = True  # WeChat holds every send: the consumers' threads block on them
    accept = (
        "import django; django.setup()\n"
        "from eco12369.cases.models import Case\n"
        "from eco12369.cases.services import case_accept\n"
        "from eco12369.cases.workflow import TransitionError\n"
        "from eco12369.orgs.models import User\n"
        "user = User.objects.get(username='{name}')\n"
        "for case in Case.objects.filter(state='received').order_by('{order}'):\n"
        "    try:\n"
        "        case_accept(case=case, actor=user, scope_confirmed=True)\n"
        "    except TransitionError:\n"
        "        pass\n"
    )
    racers = [
        platform.start(f"accept-{name}", PY, "-c", accept.format(name=f"scale_op_{name}", order=order))
        for name, order in (("a", "id"), ("b", "-id"))
    ]
    for proc in racers:
        assert proc.wait(timeout=180) == 0, platform.log("accept-a") + platform.log("accept-b")
    accepted = platform.query(
        "SELECT e.case_id, COUNT(*) FROM cases_caseevent e WHERE e.action = 'accept' GROUP BY e.case_id"
    )
    assert sorted(count for _, count in accepted) == [1] * REPORTERS
    notices = platform.query("SELECT COUNT(*) FROM wechat_outboxmessage WHERE template = 'accepted'")
    assert notices[0][0] == REPORTERS

    # Both consumers are delivering: four sends in flight means both processes' threads are in one.
    try:
        wait_until(lambda: sim.state.held >= CONSUMERS * THREADS, 90, "both consumers to be sending")
    except AssertionError:
        raise AssertionError(platform.log("huey")) from None
    platform.script(
        "from eco12369.wechat.delivery import outbox_sweep; outbox_sweep()"
    )  # the same rows again
    with sim.state.lock:
        # The held sends are lost on the way (a send that timed out on the worker's side must not reach
        # the reporter later): the workers record the failures and retry.
        sim.state.release.drop = True  # type: ignore[attr-defined]
        sim.state.hold = False
        sim.state.release.set()

    def delivered() -> int:
        return len([r for r in sim.received() if r.openid.startswith(prefix)])

    try:
        wait_until(lambda: delivered() >= REPORTERS, 120, "every notice delivered")
        time.sleep(2)  # a second delivery of anything would show up now
    except AssertionError:
        raise AssertionError(platform.log("huey")) from None
    finally:
        for proc in consumers:
            platform.stop(proc)

    per_reporter = collections.Counter(r.openid for r in sim.received() if r.openid.startswith(prefix))
    assert per_reporter == dict.fromkeys(texts, 1)  # exactly once each
    statuses = platform.query(
        "SELECT status, COUNT(*) FROM wechat_outboxmessage WHERE template = 'accepted' GROUP BY status"
    )
    assert dict(statuses) == {"sent": REPORTERS}
    attempts = platform.query(
        "SELECT a.message_id, a.worker FROM wechat_deliveryattempt a JOIN wechat_outboxmessage o ON o.id = a.message_id "
        "WHERE o.template = 'accepted' AND a.ok = ?",
        (True,),
    )
    assert sorted(collections.Counter(m for m, _ in attempts).values()) == [1] * REPORTERS  # one sender each
    tried = platform.query(
        "SELECT a.worker FROM wechat_deliveryattempt a JOIN wechat_outboxmessage o ON o.id = a.message_id "
        "WHERE o.template = 'accepted'"
    )
    assert len({worker.split(":")[1] for (worker,) in tried}) == CONSUMERS  # both consumer processes sent
