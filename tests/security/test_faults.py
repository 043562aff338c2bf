"""Faults survived (issue #5): WeChat callbacks under concurrent load while PostgreSQL is restarted.

Sixty reporters write to the official account at once (a report text, for some a photo, then
``提交``), some deliveries are repeated as WeChat repeats them, and the database server is restarted twice
in the middle of it (a fast shutdown, then an immediate one that needs crash recovery). Deliveries that hit
the restart fail; WeChat delivers them again, and so does this test afterwards. Then:

* every message the platform acknowledged (HTTP 200 with a reply) is on record, exactly once;
* every acknowledged ``提交`` has exactly one case, the one its reply named; every reporter ends up with
  exactly one case once the failed deliveries are redelivered;
* nothing is half-written: every case has its receipt on the timeline and its acknowledgement in the
  outbox, every photo row has its file.

The server restarted is a private PostgreSQL instance made for the test from the Debian binaries (schema and
reference data copied from the test database), so the rest of the suite, which may be running on the
shared server in parallel (pytest-xdist), is not disturbed. The platform runs as in production: gunicorn
with threads, persistent database connections, in its own process.

Runs only on PostgreSQL and only when the test may start database servers: ``ECO_TEST_PG_RESTART=1``
(set by ``scripts/test`` in CI mode). A delivery worker killed with SIGKILL losing no outbox row is tested
in ``tests/wechat/test_worker_kill.py``.
"""

from __future__ import annotations

import collections
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection

from eco12369.orgs.tianjin import tianjin_load
from eco12369.wechat.simulator import Simulator
from tests.wechat.conftest import WeChatServer
from tests.wechat.platform_process import PY, ROOT, free_port, wait_until

REPORTERS = 60
PHOTO_EVERY = 5  # every 5th reporter sends a photo before 提交
REPEAT_EVERY = 3  # every 3rd 提交 is delivered twice at once, as WeChat's retries can overlap
THREADS = 12
ACK = re.compile(r"TJ\d{14}")


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), "#468").save(buf, format="JPEG")
    return buf.getvalue()


JPEG = _jpeg()

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _skip_reason() -> str | None:
    if connection.vendor != "postgresql":
        return "needs PostgreSQL: run the suite with DATABASE_URL=postgres://… (scripts/test does in CI mode)"
    if os.environ.get("ECO_TEST_PG_RESTART") != "1":
        return "restarting a database server mid-test needs ECO_TEST_PG_RESTART=1 (scripts/test sets it in CI mode)"
    if not any(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        return "no PostgreSQL server binaries under /usr/lib/postgresql"
    if os.geteuid() != 0 and shutil.which("runuser") is None:
        return "starting a private PostgreSQL needs root (to run it as the postgres user)"
    return None


# -------------------------------------------------------------------------------- a private server
class PrivatePostgres:
    """A throwaway PostgreSQL instance (initdb in a temporary directory, run as the postgres user)."""

    def __init__(self) -> None:
        self.bin = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))[
            -1
        ].parent
        self.dir = Path(tempfile.mkdtemp(prefix="eco-pgfault-"))
        self.data = self.dir / "data"
        self.port = free_port()
        shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/eco"

    def _run(self, *args: str, timeout: float = 120) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        res = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False, cwd=self.dir)
        if res.returncode != 0:
            raise AssertionError(
                f"{' '.join(args[:2])} failed:\n{res.stdout.decode()}\n{res.stderr.decode()}"
            )

    def ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        )
        self._run(
            "pg_ctl",
            action,
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            *extra,
        )

    def start(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        self.ctl("start")
        self.sql("postgres", "CREATE DATABASE eco")

    def sql(self, db: str, statement: str) -> None:
        import psycopg

        with psycopg.connect(f"postgres://postgres@127.0.0.1:{self.port}/{db}", autocommit=True) as conn:
            conn.execute(statement)

    def query(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url) as conn:
            return list(conn.execute(statement, params).fetchall())

    def copy_from(self, source: dict[str, Any]) -> None:
        """Schema and rows of the (migrated, reference-data-loaded) test database."""
        env = {**os.environ, "PGPASSWORD": str(source.get("PASSWORD") or "")}
        dump = subprocess.run(
            [str(self.bin / "pg_dump"), "--no-owner", "--no-privileges", "-h", str(source.get("HOST") or "127.0.0.1"),
             "-p", str(source.get("PORT") or 5432), "-U", str(source.get("USER") or "postgres"), str(source["NAME"])],
            capture_output=True, check=True, env=env, timeout=120,
        )  # fmt: skip
        subprocess.run(
            [str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "eco"],
            input=dump.stdout, capture_output=True, check=True, timeout=120,
        )  # fmt: skip

    def restart(self, mode: str) -> None:
        self.ctl("restart", "-m", mode)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", timeout=60)
        except AssertionError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


@dataclass
class Platform:
    url: str
    media: Path
    env: dict[str, str]  # the web process's environment, for a Huey consumer on the same database


@pytest.fixture
def platform(private_pg: PrivatePostgres, wechat_simulator: Simulator, tmp_path: Path) -> Iterator[Platform]:
    """gunicorn (threads, persistent connections) on the private database."""
    tianjin_load()  # committed (transaction=True), so the copy has the districts and bureaus
    private_pg.copy_from(connection.settings_dict)
    port = free_port()
    conf = django_settings.WECHAT
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ECO_", "WECHAT_", "PYTEST_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="eco12369.settings",
        DATABASE_URL=private_pg.url,
        ECO_DB_CONN_MAX_AGE="60",
        ECO_VAR_DIR=str(tmp_path / "var"),
        ECO_MEDIA_ROOT=str(tmp_path / "media"),
        ECO_HUEY_IMMEDIATE="0",
        ECO_SECRET_KEY=django_settings.SECRET_KEY,
        ECO_FIELD_KEYS=os.environ["ECO_FIELD_KEYS"],
        ECO_AUDIT_KEYS=os.environ["ECO_AUDIT_KEYS"],
        ECO_LOG_LEVEL="WARNING",
        WECHAT_TOKEN=conf["TOKEN"],
        WECHAT_ENCODING_AES_KEY=conf["ENCODING_AES_KEY"],
        WECHAT_API_BASE_URL=wechat_simulator.url,
        WECHAT_OAUTH_BASE_URL=wechat_simulator.url,
        PYTHONPATH=str(ROOT),
    )
    if os.environ.get("WECHAT_APP_ID"):
        env["WECHAT_APP_ID"] = conf["APP_ID"]
    log = open(tmp_path / "gunicorn.log", "wb")
    proc = subprocess.Popen(
        [PY, "-m", "gunicorn", "eco12369.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1", "-k", "gthread",
         "--threads", "16", "--timeout", "60", "--graceful-timeout", "5"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(url + "/wechat/callback/", timeout=2).status_code == 403
        except requests.RequestException:
            return False

    try:
        wait_until(up, 60, "gunicorn to serve")
        yield Platform(url=url, media=tmp_path / "media", env=env)
    finally:
        os.killpg(proc.pid, signal.SIGQUIT)  # gunicorn's quick shutdown
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
        if os.environ.get("ECO_TEST_KEEP_LOGS"):
            print((tmp_path / "gunicorn.log").read_text("utf-8", "replace")[-5000:])


# ------------------------------------------------------------------------------------------ the load
@dataclass
class Delivery:
    msg_id: str
    kind: str  # text | image | submit
    media_id: str = ""
    status: int | None = None  # of the last delivery; None: no answer (connection refused, timeout)
    reply: str = ""
    acked: bool = False  # any delivery answered 200 with a reply


@dataclass
class Reporter:
    openid: str
    messages: list[Delivery] = field(default_factory=list)


class Load:
    def __init__(self, url: str, server: WeChatServer) -> None:
        self.url = url
        self.server = server
        self.log: list[tuple[float, str, int | None]] = []
        self.lock = threading.Lock()
        # Reporters come in three waves; the second starts once the first restart is over, the third once
        # the second is: each restart hits the wave in flight, and the next wave writes to the restarted
        # server, whatever the speed of the machine.
        self.restarted = [threading.Event(), threading.Event()]

    def xml(self, openid: str, d: Delivery) -> str:
        if d.kind == "text":
            return self.server.xml(
                openid, "text", Content="化工厂夜间偷排黑水，河道发臭，请尽快查处。", MsgId=d.msg_id
            )
        if d.kind == "image":
            return self.server.xml(
                openid, "image", PicUrl="http://example.invalid/p.jpg", MediaId=d.media_id, MsgId=d.msg_id
            )
        return self.server.xml(openid, "text", Content="提交", MsgId=d.msg_id)

    def deliver(self, openid: str, d: Delivery) -> bool:
        """One delivery, signed and encrypted afresh (as each of WeChat's retries is)."""
        params, body = self.server.build(self.xml(openid, d), mode="safe")
        try:
            response = requests.post(self.url + "/wechat/callback/", params=params, data=body.encode(), timeout=15,
                                     headers={"Content-Type": "text/xml"})  # fmt: skip
        except requests.RequestException:
            status, reply = None, ""
        else:
            status = response.status_code
            reply = self.server.reply(response) if status == 200 else ""
        with self.lock:
            self.log.append((time.monotonic(), d.kind, status))
            d.status = status
            if status == 200:
                d.reply = d.reply or reply
                d.acked = d.acked or bool(reply)
        return status == 200

    def run_reporter(self, index: int, r: Reporter) -> None:
        wave = index * 3 // REPORTERS
        if wave:
            self.restarted[wave - 1].wait(timeout=180)
        for d in r.messages:
            if d.kind == "submit" and int(r.openid[-3:]) % REPEAT_EVERY == 0:
                with ThreadPoolExecutor(2) as twice:  # two overlapping deliveries of the same MsgId
                    ok = any(list(twice.map(lambda _: self.deliver(r.openid, d), range(2))))
            else:
                ok = self.deliver(r.openid, d)
            if not ok:
                return  # the rest waits for WeChat's redelivery (phase 2)


def test_callbacks_survive_database_restarts_under_load(
    platform: Platform, private_pg: PrivatePostgres, settings: Any, wechat_simulator: Simulator
) -> None:
    server = WeChatServer(None, settings.WECHAT, mode="safe")  # type: ignore[arg-type]
    run = secrets.token_hex(3)
    reporters = []
    for i in range(REPORTERS):
        r = Reporter(openid=f"oFault{run}{i:03d}")
        kinds = ["text", *(["image"] if i % PHOTO_EVERY == 0 else []), "submit"]
        r.messages = [Delivery(msg_id=str(10**12 + secrets.randbelow(10**12)), kind=k) for k in kinds]
        for d in r.messages:
            if d.kind == "image":
                d.media_id = wechat_simulator.add_media(JPEG, "image/jpeg")
        reporters.append(r)
    load = Load(platform.url, server)
    restarts: list[tuple[float, float, str]] = []

    def restarter() -> None:
        # A dozen deliveries into each of the first two waves (of 20 reporters each, 2–3 messages each).
        since = 0.0
        for wave, mode in enumerate(("fast", "immediate")):
            wait_until(lambda: sum(t > since for t, _, _ in load.log) >= 12, 180, f"wave {wave + 1}")
            began = time.monotonic()
            try:
                private_pg.restart(mode)
            finally:
                since = time.monotonic()
                restarts.append((began, since, mode))
                load.restarted[wave].set()

    chaos = threading.Thread(target=restarter)
    chaos.start()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(load.run_reporter, range(REPORTERS), reporters))
    chaos.join(timeout=180)
    assert [m for _, _, m in restarts] == ["fast", "immediate"], "the restarts did not happen mid-run"
    for began, ended, mode in restarts:  # deliveries went on before and after each restart
        assert any(t < began for t, _, _ in load.log) and any(t > ended for t, _, _ in load.log), mode
    failed_first = sum(1 for r in reporters for d in r.messages if d.status != 200)
    statuses = collections.Counter(status for _, _, status in load.log)
    print(
        f"\ndeliveries: {len(load.log)} {dict(statuses)}; restarts: {[(round(b - load.log[0][0], 1), round(e - b, 1), m) for b, e, m in restarts]}; load took {round(load.log[-1][0] - load.log[0][0], 1)}s"
    )

    # What the platform acknowledged during the chaos is on record, before any redelivery.
    acked_submits = {
        d.msg_id: ACK.search(d.reply) for r in reporters for d in r.messages if d.kind == "submit" and d.acked
    }
    recorded = {
        row[0]: row[1] for row in private_pg.query("SELECT msg_id, case_id FROM wechat_inboundmessage")
    }
    for r in reporters:
        for d in r.messages:
            if d.acked:
                assert d.msg_id in recorded, f"acknowledged {d.kind} of {r.openid} lost"
    numbers = dict(private_pg.query("SELECT id, number FROM cases_case"))
    for msg_id, match in acked_submits.items():
        assert match is not None, f"提交 {msg_id} acknowledged without a case number"
        assert numbers.get(recorded[msg_id]) == match.group(0), f"提交 {msg_id}: reply names another case"

    # WeChat redelivers what got no answer, in order; the reporter's later messages follow.
    def redeliver(r: Reporter) -> None:
        for d in r.messages:
            if d.status != 200:
                wait_until(lambda: load.deliver(r.openid, d), 60, f"redelivery of {d.msg_id}", interval=0.5)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(redeliver, reporters))

    cases = private_pg.query(
        "SELECT c.id, c.number, i.msg_id FROM cases_case c JOIN wechat_inboundmessage i ON i.case_id = c.id"
    )
    submit_ids = {d.msg_id: r.openid for r in reporters for d in r.messages if d.kind == "submit"}
    by_reporter = collections.Counter(submit_ids[msg_id] for _, _, msg_id in cases)
    assert len(cases) == REPORTERS == len(by_reporter), (len(cases), failed_first)
    assert set(by_reporter.values()) == {1}
    (total,) = private_pg.query("SELECT COUNT(*) FROM cases_case")[0]
    assert total == REPORTERS, "a case without the message that made it"
    dupes = private_pg.query("SELECT msg_id FROM wechat_inboundmessage GROUP BY msg_id HAVING COUNT(*) > 1")
    assert not dupes

    # Nothing half-written.
    without_receipt = private_pg.query(
        "SELECT number FROM cases_case c WHERE NOT EXISTS "
        "(SELECT 1 FROM cases_caseevent e WHERE e.case_id = c.id AND e.action = 'receive')"
    )
    assert not without_receipt
    acks = dict(private_pg.query(
        "SELECT case_id, COUNT(*) FROM wechat_outboxmessage WHERE template = 'acknowledged' GROUP BY case_id"
    ))  # fmt: skip
    assert len(acks) == REPORTERS and set(acks.values()) == {1}
    # A photo not yet fetched when its report was submitted is attached by a Huey task: the consumer
    # (not running during the load) now works through the queue, as it would all along in production.
    consumer = subprocess.Popen(
        [PY, "manage.py", "run_huey"], cwd=ROOT, env=platform.env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(
            lambda: (
                private_pg.query("SELECT COUNT(*) FROM cases_attachment")[0][0] >= REPORTERS // PHOTO_EVERY
            ),
            120,
            "the late photos to be attached",
            interval=0.5,
        )
    finally:
        os.killpg(consumer.pid, signal.SIGINT)  # Huey's graceful stop
        try:
            consumer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(consumer.pid, signal.SIGKILL)
            consumer.wait(timeout=10)
    attachments = private_pg.query("SELECT case_id, file FROM cases_attachment")
    assert len(attachments) == REPORTERS // PHOTO_EVERY, (len(attachments), failed_first)
    for _, name in attachments:
        assert (platform.media / name).is_file(), f"attachment row without its file: {name}"
    # Files are stored before the transaction commits: one whose transaction a restart rolled back stays
    # on disk without a row (harmless, never served; reported here, not failed on).
    stored = {
        str(p.relative_to(platform.media)) for p in (platform.media / "cases").rglob("*") if p.is_file()
    }
    print(
        f"photo files without a row (rolled back by a restart): {len(stored - {n for _, n in attachments})}"
    )
