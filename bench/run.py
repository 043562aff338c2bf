"""Scale, measured (issue #6): a province's ten years of cases on one machine, and the figures that matter.

    .venv/bin/python bench/run.py --cases 1000000            # the full run (PostgreSQL)
    .venv/bin/python bench/run.py --cases 100000 --skip-seed # measure again on the seeded scratch database

What it does, in one run:

1. a scratch database: PostgreSQL ``eco12369_bench`` on the server of ``DATABASE_URL`` (or of
   ``postgres://postgres@127.0.0.1:5432/`` when that answers), else a SQLite file under ``var/bench/``;
   dropped and created again unless ``--skip-seed``; migrated;
2. ``bench/seed.py``: N cases with their timelines, replies, outbox, fingerprints; then VACUUM ANALYZE
   (a production database is vacuumed by autovacuum; a fresh bulk load is not);
3. gunicorn (``--workers``, sync workers, as in docs/deploy.md) on the scratch database with
   ``ECO_BENCH=1`` (which mounts ``/bench/ping/``, a bare Django view, and ``/bench/callback-reference/``,
   which verifies, decrypts, commits one INSERT and replies encrypted: the callback's ceiling), persistent database
   connections (``ECO_DB_CONN_MAX_AGE``), Huey on Redis (``redis://127.0.0.1:6379/14``, its own queue name)
   with **no consumer running**: what the callback enqueues (the duplicate finder, outbox delivery) waits
   in Redis and is counted, so the figures are those of the callback alone and prove it does not do the
   slow part inline;
4. measures and prints one table, each figure next to its goal:

   * the encrypted WeChat callback (safe mode, real signed and AES-encrypted bodies, a unique MsgId and
     nonce each, generated beforehand) under concurrent load with ``wrk`` (Debian; installed with apt-get
     when missing), next to ``/bench/callback-reference/`` on the same server: throughput ratio and
     latency (``/bench/ping/``, no I/O at all, shown for reference);
     reporters write a description, send their location, submit (a case is created) and ask for status;
   * the workbench queue, search, free-text search (``?q=``) and case pages over HTTP with a logged-in
     session, for a district operator and a city-centre operator (TOTP verified), many different pages
     and cases; the home dashboard (issue 15, goal p95 < 150 ms) for both and for the district's head
     (its overview: charts and map, read from the rollups ``bench/seed.py`` counts at the end of the seed);
   * a district's and the city's monthly report (``stats.figures.monthly_figures``) next to one
     hand-written SQL statement computing the same figures (the ceiling, checked to agree);
   * the duplicate check of a new case (the Huey task's body, ``duplicates_find``) for new cases
     created by ``case_create``;
   * concurrent transitions (PostgreSQL): ``bench/transitions.py`` on the same server, 4 processes
     accepting, assigning and replying at once, with the audit write and without it.

The results are also written to ``var/bench/results-<N>.json`` and ``.txt``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _in_the_project_venv() -> None:
    """``python bench/run.py`` from any Python: run again with the project's .venv when this one lacks
    Django (the venv that ./scripts/demo and ./scripts/test create)."""
    try:
        import django  # noqa: F401
    except ImportError:
        venv_python = ROOT / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.prefix).resolve() != venv_python.parent.parent.resolve():
            os.execv(str(venv_python), [str(venv_python), *sys.argv])
        sys.exit(
            "找不到 Django：请先运行 ./scripts/test（或 ./scripts/demo）创建 .venv / no Django here: run ./scripts/test first"
        )


if __name__ == "__main__":
    _in_the_project_venv()

from eco12369 import devkeys  # noqa: E402  (after the re-exec into the project's venv; no Django import)

VENV_BIN = Path(sys.executable).parent
BENCH_DIR = ROOT / "var" / "bench"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/eco12369"
BENCH_DB = "eco12369_bench"
REDIS_URL = "redis://127.0.0.1:6379/14"
HUEY_NAME = "eco12369_bench"
PASSWORD = "Bench-12369-pass!"
TOTP_KEY = "3132333435363738393031323334353637383930"  # hex; the bench user's authenticator


_T0 = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - _T0:6.0f}s] {message}", flush=True)


# ------------------------------------------------------------------------------------------ results
@dataclass
class Row:
    """One line of the results table."""

    what: str
    n: int = 0
    median: float | None = None
    p95: float | None = None
    p99: float | None = None
    unit: str = "ms"
    value: str = ""  # a figure that is not a latency (throughput, ratio)
    goal: str = ""
    ok: bool | None = None
    note: str = ""


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def latency_row(what: str, samples: list[float], *, goal_p95: float | None = None, note: str = "") -> Row:
    row = Row(
        what=what,
        n=len(samples),
        median=statistics.median(samples),
        p95=percentile(samples, 95),
        p99=percentile(samples, 99),
        note=note,
    )
    if goal_p95 is not None and row.p95 is not None:
        row.goal = f"p95 < {goal_p95:g} ms"
        row.ok = row.p95 < goal_p95
    return row


def fmt(value: float | None) -> str:
    return "" if value is None else (f"{value:.1f}" if value < 100 else f"{value:.0f}")


def table(rows: list[Row]) -> str:
    headers = ["measure", "n", "median", "p95", "p99", "value", "goal", "met"]
    lines = [
        [
            r.what,
            str(r.n) if r.n else "",
            fmt(r.median),
            fmt(r.p95),
            fmt(r.p99),
            r.value,
            r.goal,
            "" if r.ok is None else ("yes" if r.ok else "NO"),
        ]
        for r in rows
    ]

    def width(s: str) -> int:  # CJK characters take two columns
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

    widths = [max(width(x) for x in col) for col in zip(headers, *lines, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(c + " " * (w - width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(cells) for cells in lines]
    notes = [f"  {r.what}: {r.note}" for r in rows if r.note]
    if notes:
        out += ["", "notes (latencies in ms):", *notes]
    return "\n".join(out)


# ------------------------------------------------------------------------------------- the database
def pg_reachable(url: str) -> bool:
    try:
        import psycopg

        psycopg.connect(admin_url(url), connect_timeout=3).close()
        return True
    except Exception:
        return False


def admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def scratch_url(args: argparse.Namespace) -> str:
    source = args.database_url or os.environ.get("DATABASE_URL", "")
    if source.startswith(("postgres://", "postgresql://")):
        return urlunsplit(urlsplit(source)._replace(path=f"/{args.db_name}"))
    if not source and pg_reachable(DEFAULT_PG):
        return urlunsplit(urlsplit(DEFAULT_PG)._replace(path=f"/{args.db_name}"))
    say("PostgreSQL not found: measuring on SQLite (the issue's goals are for PostgreSQL)")
    return f"sqlite:///{BENCH_DIR / 'bench.sqlite3'}"


def recreate_database(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]


def redis_reachable() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
        return True
    except Exception:
        return False


def redis_clear() -> None:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    for key in r.scan_iter(f"*{HUEY_NAME}*"):
        r.delete(key)


def redis_queued() -> int:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    return int(r.llen(f"huey.redis.{HUEY_NAME}"))


# ------------------------------------------------------------------------------------------ server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def gunicorn(env: dict[str, str], workers: int) -> Iterator[str]:
    import requests

    port = free_port()
    log = open(BENCH_DIR / "gunicorn.log", "ab")
    proc = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "eco12369.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "60",
            "--preload",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(url + "/bench/ping/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start; see var/bench/gunicorn.log")
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


# ---------------------------------------------------------------------------------- WeChat callback
WRK_SCRIPT = r"""
-- Walk pre-generated requests ("path<TAB>body" per line); line i belongs to thread i % threads.
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  reqs = {}
  if file == nil then return end
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == tid then
      local path, body = line:match("^([^\t]*)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", path, {["Content-Type"] = "text/xml"}, body)
    end
    i = i + 1
  end
  idx = 0
end
function request()
  if #reqs == 0 then return wrk.format("GET") end
  idx = idx + 1
  if idx > #reqs then idx = 1 end  -- wrapping repeats requests: answered as retries, nothing written (noted)
  return reqs[idx]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "JSON {\"requests\": %d, \"duration_us\": %d, \"status\": %d, \"connect\": %d, \"read\": %d, " ..
    "\"write\": %d, \"timeout\": %d, \"p50\": %d, \"p95\": %d, \"p99\": %d, \"max\": %d}\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    say("wrk is missing: apt-get install -y wrk (the load tool, from Debian)")
    subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "wrk"], check=False)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and could not be installed (apt-get install wrk)")
    return found


def run_wrk(
    url: str, *, threads: int, connections: int, seconds: int, requests_file: Path | None
) -> dict[str, Any]:
    script = BENCH_DIR / "walk.lua"
    script.write_text(WRK_SCRIPT)
    cmd = [
        wrk_path(),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    if requests_file is not None:
        cmd += ["--", str(requests_file), str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^JSON (.*)$", out, re.M)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    data: dict[str, Any] = json.loads(match.group(1))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["errors"] = sum(data[k] for k in ("status", "connect", "read", "write", "timeout"))
    return data


@dataclass
class Reporter:
    openid: str
    text: str
    lat: float
    lon: float
    label: str


def wechat_requests(path: Path, *, count: int, threads: int, conf: dict[str, Any], pool: list[Any]) -> int:
    """Signed, AES-encrypted callback requests (safe mode), each with a new nonce and MsgId, written one a
    line. Each reporter writes a description, then (some 150 requests later on the same wrk thread) sends a
    location, then submits, and one in five asks for the status: the steps of one reporter never overlap."""
    import xmltodict
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.utils import WeChatSigner

    crypto = WeChatCrypto(conf["TOKEN"], conf["ENCODING_AES_KEY"], conf["APP_ID"])
    rng = random.Random(7)
    msg_id = int(time.time() * 1000) * 1000
    block = 50

    def sign(*parts: str) -> str:
        signer = WeChatSigner()
        signer.add_data(*parts)
        return str(signer.signature)

    def request(openid: str, msg_type: str, **fields: Any) -> str:
        nonlocal msg_id
        msg_id += 1
        body = {
            "ToUserName": "gh_bench_account",
            "FromUserName": openid,
            "CreateTime": str(int(time.time())),
            "MsgType": msg_type,
            **{k: str(v) for k, v in fields.items()},
            "MsgId": str(msg_id),
        }
        xml = xmltodict.unparse({"xml": body}, full_document=False)
        timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
        envelope = xmltodict.parse(crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        params = (
            f"signature={sign(conf['TOKEN'], timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"
            f"&encrypt_type=aes&msg_signature={envelope['MsgSignature']}"
        )
        outer = xmltodict.unparse(
            {"xml": {"ToUserName": "gh_bench_account", "Encrypt": envelope["Encrypt"]}}, full_document=False
        )
        return f"/wechat/callback/?{params}\t{outer}"

    per_thread: list[list[str]] = []
    run = secrets.token_hex(3)
    for t in range(threads):
        lines: list[str] = []
        reporters: list[list[Reporter]] = []
        b = 0
        while len(lines) < count // threads + 4 * block:
            fresh = []
            for k in range(block):
                entry = pool[rng.randrange(len(pool))]
                lat = entry.lat if entry.lat is not None else 39.1 + rng.uniform(-0.05, 0.05)
                lon = entry.lon if entry.lon is not None else 117.2 + rng.uniform(-0.05, 0.05)
                fresh.append(
                    Reporter(f"oBench{run}{t:02d}{b:05d}{k:02d}", entry.description, lat, lon, entry.address)
                )
            reporters.append(fresh)
            lines += [request(r.openid, "text", Content=r.text) for r in fresh]
            if b >= 1:
                lines += [
                    request(
                        r.openid,
                        "location",
                        Location_X=f"{r.lat:.6f}",
                        Location_Y=f"{r.lon:.6f}",
                        Scale=15,
                        Label=r.label,
                    )
                    for r in reporters[b - 1]
                ]
            if b >= 2:
                lines += [request(r.openid, "text", Content="提交") for r in reporters[b - 2]]
            if b >= 3:
                lines += [request(r.openid, "text", Content="查询") for r in reporters[b - 3][:10]]
            b += 1
        per_thread.append(lines)
    total = 0
    with path.open("w", encoding="utf-8") as fh:
        for i in range(max(len(lines) for lines in per_thread)):
            for lines in per_thread:
                fh.write(lines[i % len(lines)] + "\n")
                total += 1
    return total


REFERENCE_PATH = "/bench/callback-reference/"


def bench_callback(url: str, args: argparse.Namespace, pool: list[Any]) -> list[Row]:
    """The WeChat callback under load, next to its ceiling: ``/bench/callback-reference/`` on the same
    server (verify, decrypt, commit one INSERT, encrypted reply: the least a durable callback does), each
    request of both signed and encrypted with a unique nonce. ``/bench/ping/`` (no I/O) is shown too."""
    from django.conf import settings
    from django.db import connection

    from eco12369.cases.models import Case
    from eco12369.wechat.models import InboundMessage

    threads, conns, seconds = args.wrk_threads, args.connections, args.duration
    conf = settings.WECHAT

    def for_reference(path: Path) -> Path:
        """The same kind of requests (fresh nonces) addressed to the reference view."""
        out = path.with_name(path.stem + "-reference.txt")
        with path.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
            for line in src:
                dst.write(line.replace("/wechat/callback/?", REFERENCE_PATH + "?", 1))
        return out

    say(f"callback: warming up ({threads} threads, {conns} connections)")
    warm = BENCH_DIR / "callback-warm.txt"
    wechat_requests(warm, count=600, threads=threads, conf=conf, pool=pool)
    warm_reference = BENCH_DIR / "callback-warm-ref.txt"
    wechat_requests(warm_reference, count=600, threads=threads, conf=conf, pool=pool)
    run_wrk(url + "/bench/ping/", threads=threads, connections=conns, seconds=3, requests_file=None)
    run_wrk(url + "/wechat/callback/", threads=threads, connections=conns, seconds=3, requests_file=warm)
    run_wrk(
        url + REFERENCE_PATH,
        threads=threads,
        connections=conns,
        seconds=3,
        requests_file=for_reference(warm_reference),
    )

    say(f"callback: /bench/ping/ for {seconds}s")
    ping = run_wrk(
        url + "/bench/ping/", threads=threads, connections=conns, seconds=seconds, requests_file=None
    )
    expected = int(ping["rps"] * seconds * 0.6) + 2000
    say(f"callback: generating {expected:,} signed, encrypted requests for the reference view")
    reference_source = BENCH_DIR / "callback-ref.txt"
    wechat_requests(reference_source, count=expected, threads=threads, conf=conf, pool=pool)
    reference_file = for_reference(reference_source)
    say(f"callback: the ceiling, {REFERENCE_PATH} for {seconds}s")
    reference = run_wrk(
        url + REFERENCE_PATH,
        threads=threads,
        connections=conns,
        seconds=seconds,
        requests_file=reference_file,
    )
    expected = int(reference["rps"] * seconds * 1.2) + 2000
    requests_file = BENCH_DIR / "callback.txt"
    say(f"callback: generating {expected:,} signed, encrypted requests")
    written = wechat_requests(requests_file, count=expected, threads=threads, conf=conf, pool=pool)
    cases_before = Case.objects.count()
    inbound_before = InboundMessage.objects.count()
    queued_before = redis_queued() if redis_reachable() else 0
    say(f"callback: /wechat/callback/ for {seconds}s")
    load = run_wrk(
        url + "/wechat/callback/",
        threads=threads,
        connections=conns,
        seconds=seconds,
        requests_file=requests_file,
    )
    connection.close()
    cases = Case.objects.count() - cases_before
    inbound = InboundMessage.objects.count() - inbound_before
    queued = (redis_queued() - queued_before) if redis_reachable() else 0
    wrapped = load["requests"] > written
    ratio = load["rps"] / reference["rps"]
    p99 = load["p99"] / 1000
    rows = [
        Row(
            what="/bench/ping/ (bare Django view, no I/O)",
            n=ping["requests"],
            median=ping["p50"] / 1000,
            p95=ping["p95"] / 1000,
            p99=ping["p99"] / 1000,
            value=f"{ping['rps']:.0f} req/s",
            note=f"wrk -t{threads} -c{conns} -d{seconds}s; errors {ping['errors']}",
        ),
        Row(
            what="/bench/callback-reference/ (verify, decrypt, 1 INSERT, reply: the ceiling)",
            n=reference["requests"],
            median=reference["p50"] / 1000,
            p95=reference["p95"] / 1000,
            p99=reference["p99"] / 1000,
            value=f"{reference['rps']:.0f} req/s",
            note=(
                f"wrk -t{threads} -c{conns} -d{seconds}s; errors {reference['errors']}"
                + ("; requests wrapped around (repeats refused)" if reference["errors"] else "")
            ),
        ),
        Row(
            what="WeChat callback, safe mode (encrypted)",
            n=load["requests"],
            median=load["p50"] / 1000,
            p95=load["p95"] / 1000,
            p99=p99,
            value=f"{load['rps']:.0f} req/s = {ratio:.0%} of ceiling",
            goal="≥ 50% of ceiling; p99 < 50 ms",
            ok=ratio >= 0.5 and p99 < 50 and load["errors"] == 0,
            note=(
                f"{inbound:,} messages recorded, {cases:,} cases created; errors {load['errors']}"
                + ("; requests wrapped around (repeats answered as retries)" if wrapped else "")
                + (f"; {queued:,} Huey tasks left in Redis (consumer off)" if queued else "")
            ),
        ),
    ]
    return rows


# ----------------------------------------------------------------------------------- workbench pages
class Browser:
    """A staff member's browser: a requests session that logs in through the login form (and TOTP)."""

    def __init__(self, base: str) -> None:
        import requests

        self.base = base
        self.session = requests.Session()

    def _csrf(self, path: str) -> str:
        res = self.session.get(self.base + path, timeout=30)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', res.text)
        if match is None:
            raise RuntimeError(f"no CSRF token on {path} ({res.status_code})")
        return match.group(1)

    def login(self, username: str, totp_key: str | None = None) -> None:
        token = self._csrf("/login/")
        res = self.session.post(
            self.base + "/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": self.base + "/login/"},
            timeout=30,
        )
        if res.status_code != 200 or "/login/" in res.url:
            raise RuntimeError(f"login of {username} failed ({res.status_code} {res.url})")
        if "/account/otp/" in res.url:
            assert totp_key is not None
            from django_otp.oath import TOTP

            code = f"{TOTP(bytes.fromhex(totp_key)).token():06d}"
            token = self._csrf("/account/otp/verify/")
            res = self.session.post(
                self.base + "/account/otp/verify/",
                data={"code": code, "csrfmiddlewaretoken": token},
                headers={"Referer": self.base + "/account/otp/verify/"},
                timeout=30,
            )
            if "/account/otp/" in res.url:
                raise RuntimeError(f"TOTP verification of {username} failed")

    def get(self, path: str) -> float:
        start = time.perf_counter()
        res = self.session.get(self.base + path, timeout=60, allow_redirects=False)
        elapsed = (time.perf_counter() - start) * 1000
        if res.status_code != 200:
            raise RuntimeError(f"GET {path}: {res.status_code}")
        return elapsed


def bench_users() -> tuple[str, str, str]:
    """A district operator, a city-centre operator and the district bureau's head (the latter two with a
    confirmed TOTP device: they must sign in with it)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from eco12369.orgs.models import Agency, Region, User
    from eco12369.orgs.services import staff_create

    district = Region.objects.get(name="滨海新区")
    bureau = Agency.objects.get(region=district, kind=Agency.Kind.DISTRICT_BUREAU)
    centre = Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)
    names = []
    for username, agency, role in (
        ("bench_district_operator", bureau, "operator"),
        ("bench_city_operator", centre, "operator"),
        ("bench_district_head", bureau, "head"),
    ):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = staff_create(username=username, password=PASSWORD, agency=agency, roles=[role])
        TOTPDevice.objects.filter(user=user).delete()
        if agency.kind == Agency.Kind.CITY_CENTRE or role == "head":
            TOTPDevice.objects.create(user=user, name="bench", key=TOTP_KEY, confirmed=True)
        names.append(username)
    return names[0], names[1], names[2]


def after_row(qs: Any, offset: int) -> str:
    """The keyset cursor of the row at ``offset`` of a list newest first: the link to the page after it."""
    from eco12369.workbench.keyset import cursor_encode

    rows = list(qs.order_by("-received_at", "-id").values_list("received_at", "id")[offset : offset + 1])
    return cursor_encode(*rows[0]) if rows else ""


def page_plan(*, city: bool, rng: random.Random, requests_per_kind: int) -> dict[str, list[str]]:
    """The pages a user opens: queues (every tab, first pages), searches, case pages (random cases)."""
    from django.db.models import Max, Min

    from eco12369.cases.models import Case
    from eco12369.orgs.models import Region

    district = Region.objects.get(name="滨海新区")
    qs = Case.objects.all() if city else Case.objects.filter(region=district)
    bounds = qs.aggregate(lo=Min("id"), hi=Max("id"))
    numbers: list[str] = []
    while len(numbers) < requests_per_kind:
        start = rng.randint(bounds["lo"], bounds["hi"])
        found = qs.filter(id__gte=start).order_by("id").values_list("number", flat=True).first()
        if found:
            numbers.append(found)
    recent = list(qs.order_by("-received_at").values_list("number", flat=True)[: requests_per_kind // 4])
    numbers[: len(recent)] = recent  # a quarter: the newest (open) cases, the rest from all ten years
    tabs = ["confirm", "accepted", "handling", "in_review", "due_soon", "overdue", "closed"]
    queues = ["/queues/"] + [f"/queues/{tab}/" for tab in tabs]
    # Deeper pages (keyset: the cursor of the last row of the page before, issue 15).
    closed = qs.filter(state="closed")
    queues += [
        f"/queues/closed/?after={after_row(closed, 20 * rng.randint(1, 9))}" for _ in range(requests_per_kind)
    ]
    parties = ["宏达", "鑫源", "化工", "金泰化工", "印染", "汽修", "建材有限公司", "津港"]
    today = dt.date.today()
    searches = ["/search/"]
    for k in range(requests_per_kind):
        pick = k % 6
        if pick == 0:
            searches.append(f"/search/?reported_party={rng.choice(parties)}")
        elif pick == 1:
            searches.append(f"/search/?number={rng.choice(numbers)}")
        elif pick == 2:
            month = today - dt.timedelta(days=rng.randint(0, 3600))
            searches.append(
                f"/search/?received_from={month:%Y-%m-01}&received_to={month:%Y-%m-28}"
                + (f"&district={district.pk}" if city else "")
            )
        elif pick == 3:
            searches.append(f"/search/?state={rng.choice(['handling', 'received', 'closed'])}&category=water")
        elif pick == 4:
            party = rng.choice(parties)
            cursor = after_row(qs.filter(reported_party__contains=party, state="closed"), 20)
            searches.append(f"/search/?reported_party={party}&state=closed&after={cursor}")
        else:
            searches.append(
                f"/search/?kind=consultation&received_from={today - dt.timedelta(days=365):%Y-%m-%d}"
            )
    # The home dashboard (issue 15): each measure of the map, mostly the default.
    measures = ["", "", "?measure=due_soon", "?measure=overdue"]
    # Free-text search (issue 16): the words people type into the keyword box.
    words = [
        "异味",
        "黑烟",
        "排污",
        "噪音扰民",
        "化工厂",
        "半夜",
        "河道发臭",
        "解放南路",
        "印染厂 偷排",
        "粉尘",
    ]
    texts = [f"/search/?q={rng.choice(words)}" for _ in range(requests_per_kind)]
    return {
        "queue": queues,
        "search": searches,
        "free-text search": texts,
        "case": [f"/cases/{n}/" for n in numbers],
        "dashboard": ["/" + measures[k % len(measures)] for k in range(requests_per_kind)],
    }


DASHBOARD_GOAL_P95 = 150  # issue 15: the home dashboard at 1M cases
FREE_TEXT_GOAL_P95 = 200  # issue 16: free-text search at 10M cases


def bench_pages(url: str, args: argparse.Namespace) -> list[Row]:
    district_user, city_user, head_user = bench_users()
    rng = random.Random(11)
    rows = []
    for label, username, city, kinds in (
        (
            "district operator",
            district_user,
            False,
            ("queue", "search", "free-text search", "case", "dashboard"),
        ),
        ("city centre", city_user, True, ("queue", "search", "free-text search", "case", "dashboard")),
        # A district's head: the dashboard with the district's overview (charts, map).
        ("district head", head_user, False, ("dashboard",)),
    ):
        browser = Browser(url)
        browser.login(username, TOTP_KEY if city or username == head_user else None)
        plan = page_plan(city=city, rng=rng, requests_per_kind=args.page_requests)
        plan = {kind: plan[kind] for kind in kinds}
        for path in plan.get("queue", [])[:3] + plan.get("case", [])[:3] + plan["dashboard"][:3]:
            browser.get(path)  # warm the worker processes
        for kind, paths in plan.items():
            say(f"pages: {label}, {kind} ({len(paths)} requests)")
            samples = [browser.get(path) for path in paths]
            slowest = sorted(zip(samples, paths, strict=True), reverse=True)[:2]
            rows.append(
                latency_row(
                    f"workbench {kind} page, {label}",
                    samples,
                    goal_p95=(
                        DASHBOARD_GOAL_P95
                        if kind == "dashboard"
                        else FREE_TEXT_GOAL_P95
                        if kind == "free-text search"
                        else 100
                    ),
                    note="slowest: " + ", ".join(f"{p} {s:.0f}" for s, p in slowest),
                )
            )
    return rows


# ---------------------------------------------------------------------------------- monthly report
CEILING_SQL = """
WITH params AS (
  SELECT %(region)s::bigint AS region,
         %(m0)s::timestamptz AS m0, %(m1)s::timestamptz AS m1, %(c_m)s::timestamptz AS c_m,
         %(p0)s::timestamptz AS p0, %(p1)s::timestamptz AS p1, %(c_p)s::timestamptz AS c_p,
         %(y0)s::timestamptz AS y0, %(y1)s::timestamptz AS y1, %(c_y)s::timestamptz AS c_y
),
c AS (
  SELECT c.*, r.rated_at, r.level
  FROM cases_case c LEFT JOIN followup_rating r ON r.latest_of_id = c.id, params p
  WHERE p.region IS NULL OR c.region_id = p.region
),
head AS (
  SELECT CASE WHEN GROUPING(c.region_id) = 1 THEN NULL ELSE c.region_id END AS region_id,
  {head}
  FROM c, params p GROUP BY GROUPING SETS ((), (c.region_id))
),
ext AS (
  SELECT {ext}
  FROM cases_extension e JOIN cases_case c ON c.id = e.case_id, params p
  WHERE e.status = 'approved' AND (p.region IS NULL OR c.region_id = p.region)
),
month_cases AS (
  SELECT c.* FROM cases_case c, params p
  WHERE c.received_at >= p.m0 AND c.received_at < p.m1 AND (p.region IS NULL OR c.region_id = p.region)
)
SELECT json_build_object(
  'head', (SELECT json_agg(row_to_json(head)) FROM head),
  'ext', (SELECT row_to_json(ext) FROM ext),
  'kind', (SELECT json_object_agg(kind, n) FROM (SELECT kind, count(*) n FROM month_cases GROUP BY kind) x),
  'category', (SELECT json_object_agg(category, n) FROM (SELECT category, count(*) n FROM month_cases GROUP BY category) x),
  'channel', (SELECT json_object_agg(channel, n) FROM (SELECT channel, count(*) n FROM month_cases GROUP BY channel) x),
  'state', (SELECT json_object_agg(state, n) FROM (SELECT state, count(*) n FROM month_cases GROUP BY state) x),
  'outcome', (SELECT json_object_agg(outcome, n) FROM (
      SELECT c.outcome, count(*) n FROM cases_case c, params p
      WHERE c.closed_at >= p.m0 AND c.closed_at < p.m1 AND (p.region IS NULL OR c.region_id = p.region)
      GROUP BY c.outcome) x),
  'confirmation', (SELECT json_build_object(
      'accepted', count(*) FILTER (WHERE accepted_at IS NOT NULL),
      'answered', count(*) FILTER (WHERE accepted_at IS NULL AND outcome = 'answered'),
      'handed_over', count(*) FILTER (WHERE accepted_at IS NULL AND outcome = 'handed_over'),
      'duplicate', count(*) FILTER (WHERE accepted_at IS NULL AND outcome = 'duplicate'),
      'reply_in_review', count(*) FILTER (WHERE accepted_at IS NULL AND state = 'in_review'),
      'unconfirmed', count(*) FILTER (WHERE state IN ('received', 'escalated'))) FROM month_cases),
  'top_parties', (SELECT json_agg(json_build_array(reported_party, n)) FROM (
      SELECT reported_party, count(*) n FROM month_cases WHERE reported_party <> ''
      GROUP BY reported_party ORDER BY n DESC, reported_party LIMIT 10) x),
  'top_places', (SELECT json_agg(json_build_array(address, n)) FROM (
      SELECT address, count(*) n FROM month_cases WHERE address <> ''
      GROUP BY address ORDER BY n DESC, address LIMIT 10) x)
)
"""

NO_VIOLATION = "violations = '' OR violations IN ({exact}) OR {prefixes} OR {contains}"


def ceiling_sql() -> str:
    """One statement: every headline figure of the three months (this month, last month, a year ago) in
    one pass over the region's cases, with the districts side by side (GROUPING SETS), plus the
    extensions and the breakdowns of the month. The same definitions as stats/figures.py."""
    from eco12369.stats import figures

    def q(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    no_violation = NO_VIOLATION.format(
        exact=", ".join(q(t) for t in figures._exact_variants()),
        # (%% is a literal % in a statement with parameters)
        prefixes=" OR ".join(f"violations LIKE {q(p + '%%')}" for p in figures.NO_VIOLATION_PREFIXES),
        contains=" OR ".join(f"violations LIKE {q('%%' + s + '%%')}" for s in figures.NO_VIOLATION_CONTAINS),
    )
    substantiated = (
        "c.outcome = 'handled' AND EXISTS (SELECT 1 FROM cases_reply r WHERE r.case_id = c.id "
        f"AND r.kind = 'handling' AND r.status = 'approved' AND NOT ({no_violation}))"
    )
    head = []
    ext = []
    for key in ("m", "p", "y"):
        a, b, cut = f"p.{key}0", f"p.{key}1", f"p.c_{key}"
        received = f"c.received_at >= {a} AND c.received_at < {b}"
        confirmed = f"c.confirmed_at >= {a} AND c.confirmed_at < {b}"
        closed = f"c.closed_at >= {a} AND c.closed_at < {b}"
        rated = f"c.rated_at >= {a} AND c.rated_at < {b}"
        open_at_cut = f"c.received_at < {cut} AND (c.closed_at IS NULL OR c.closed_at >= {cut})"
        head += [
            f"count(*) FILTER (WHERE {received}) AS {key}_received",
            f"count(*) FILTER (WHERE {confirmed}) AS {key}_confirmed",
            f"count(*) FILTER (WHERE {confirmed} AND c.confirmed_at <= c.confirm_due) AS {key}_confirmed_on_time",
            # stats.kpis: decided at the earlier of the act and its deadline
            f"count(*) FILTER (WHERE ({confirmed} AND c.confirmed_at <= c.confirm_due) OR (c.confirm_due >= {a} "
            f"AND c.confirm_due < {cut} AND (c.confirmed_at IS NULL OR c.confirmed_at > c.confirm_due))) "
            f"AS {key}_confirm_judged",
            f"count(*) FILTER (WHERE {closed}) AS {key}_closed",
            f"count(*) FILTER (WHERE {closed} AND c.close_due IS NOT NULL) AS {key}_closed_with_deadline",
            f"count(*) FILTER (WHERE {closed} AND c.close_due IS NOT NULL AND c.closed_at <= c.close_due) AS {key}_closed_on_time",
            f"count(*) FILTER (WHERE ({closed} AND c.closed_at <= c.close_due) OR (c.close_due >= {a} "
            f"AND c.close_due < {cut} AND (c.closed_at IS NULL OR c.closed_at > c.close_due))) "
            f"AS {key}_close_judged",
            f"count(*) FILTER (WHERE {closed} AND {substantiated}) AS {key}_substantiated",
            f"count(*) FILTER (WHERE {closed} AND c.accepted_at IS NOT NULL) AS {key}_handled_closed",
            f"sum(extract(epoch FROM c.closed_at - c.accepted_at)) FILTER (WHERE {closed} AND c.accepted_at IS NOT NULL) AS {key}_handling_seconds",
            f"count(*) FILTER (WHERE {open_at_cut} AND (c.confirmed_at IS NULL OR c.confirmed_at >= {cut}) AND c.confirm_due < {cut}) AS {key}_overdue_unconfirmed",
            f"count(*) FILTER (WHERE {open_at_cut} AND c.confirmed_at < {cut} AND c.close_due < {cut} AND c.accepted_at < {cut}) AS {key}_overdue_unclosed",
            f"count(*) FILTER (WHERE {rated}) AS {key}_rated",
            f"count(*) FILTER (WHERE {rated} AND c.level = 'satisfied') AS {key}_rated_satisfied",
            f"count(*) FILTER (WHERE {rated} AND c.level = 'basic') AS {key}_rated_basic",
            f"count(*) FILTER (WHERE {rated} AND c.level = 'unsatisfied') AS {key}_rated_unsatisfied",
        ]
        decided = f"e.decided_at >= {a} AND e.decided_at < {b}"
        ext += [
            f"count(*) FILTER (WHERE {decided}) AS {key}_extensions",
            f"count(DISTINCT e.case_id) FILTER (WHERE {decided}) AS {key}_extended_cases",
            f"coalesce(sum(e.days) FILTER (WHERE {decided}), 0) AS {key}_extension_days",
        ]
    return CEILING_SQL.replace("{head}", ",\n  ".join(head)).replace("{ext}", ",\n  ".join(ext))


def ceiling_params(region: Any, month: Any, as_of: dt.datetime) -> dict[str, Any]:
    from eco12369.orgs.models import Region

    params: dict[str, Any] = {"region": None if region.level == Region.Level.CITY else region.pk}
    for key, m in (("m", month), ("p", month.previous()), ("y", month.last_year())):
        params[f"{key}0"], params[f"{key}1"], params[f"c_{key}"] = m.start, m.end, min(m.end, as_of)
    return params


def bench_reports(args: argparse.Namespace) -> list[Row]:
    from django.db import connection

    from eco12369.orgs.models import Region
    from eco12369.stats.figures import Month, monthly_figures

    rows: list[Row] = []
    month = Month.current().previous()
    as_of = dt.datetime.now(dt.UTC)
    sql = ceiling_sql() if connection.vendor == "postgresql" else ""
    targets = [
        ("district", Region.objects.get(name="滨海新区")),
        ("city", Region.objects.get(level=Region.Level.CITY)),
    ]
    for label, region in targets:
        say(f"reports: {label} monthly report for {month.label}")
        figures = monthly_figures(region=region, month=month, as_of=as_of)  # warm
        orm = []
        for _ in range(args.report_repeats):
            start = time.perf_counter()
            figures = monthly_figures(region=region, month=month, as_of=as_of)
            orm.append((time.perf_counter() - start) * 1000)
        row = latency_row(f"monthly report {month.key}, {label} (stats/figures.py)", orm)
        if sql:
            params = ceiling_params(region, month, as_of)
            ceiling = []
            result: dict[str, Any] = {}
            with connection.cursor() as cursor:
                cursor.execute(sql, params)  # warm
                for _ in range(args.report_repeats):
                    start = time.perf_counter()
                    cursor.execute(sql, params)
                    result = cursor.fetchone()[0]
                    ceiling.append((time.perf_counter() - start) * 1000)
            ceiling_row = latency_row(
                f"  the same figures in one hand-written SQL, {label} (ceiling)", ceiling
            )
            ratio = statistics.median(orm) / statistics.median(ceiling)
            agree = figures_agree(figures, result)
            row.value = f"{ratio:.2f}× ceiling"
            row.goal = "≤ 1.5× ceiling"
            row.ok = ratio <= 1.5 and agree == ""
            row.note = "figures agree with the ceiling's" if not agree else f"DISAGREE: {agree}"
            rows += [row, ceiling_row]
        else:
            row.note = "no ceiling on SQLite (PostgreSQL SQL)"
            rows.append(row)
    return rows


def figures_agree(figures: Any, result: dict[str, Any]) -> str:
    """'' when the hand-written SQL found the same headline figures, breakdowns and top lists."""
    region_code = figures.region_code
    heads = {h["region_id"]: h for h in result["head"]}
    from eco12369.orgs.models import Region

    region_id = None if figures.is_city else Region.objects.get(code=region_code).pk
    head = heads.get(region_id) or {}
    problems = []
    for key, headline in (("m", figures.headline), ("p", figures.previous), ("y", figures.last_year)):
        for name in (
            "received",
            "confirmed",
            "confirmed_on_time",
            "confirm_judged",
            "closed",
            "closed_with_deadline",
            "closed_on_time",
            "close_judged",
            "substantiated",
            "handled_closed",
            "overdue_unconfirmed",
            "overdue_unclosed",
            "rated",
            "rated_satisfied",
        ):
            if getattr(headline, name) != (head.get(f"{key}_{name}") or 0):
                problems.append(f"{key}_{name} {getattr(headline, name)} != {head.get(f'{key}_{name}')}")
        if headline.extensions != result["ext"][f"{key}_extensions"]:
            problems.append(f"{key}_extensions")
    for name, rows in (
        ("kind", figures.by_kind),
        ("state", figures.by_state),
        ("outcome", figures.by_outcome),
    ):
        found = result[name] or {}
        for r in rows:
            if r.count != found.get(r.key, 0):
                problems.append(f"{name}.{r.key} {r.count} != {found.get(r.key, 0)}")
    if [(p.name, p.count) for p in figures.top_parties] != [tuple(x) for x in result["top_parties"] or []]:
        problems.append("top parties")
    if figures.is_city:
        for d in figures.districts:
            h = heads.get(Region.objects.get(code=d.code).pk) or {}
            if d.headline.received != (h.get("m_received") or 0):
                problems.append(f"district {d.code} received")
    return "; ".join(problems[:5])


# ------------------------------------------------------------------------------------- duplicates
def bench_duplicates(args: argparse.Namespace, pool: list[Any]) -> list[Row]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from eco12369.cases.models import Case
    from eco12369.cases.services import Intake, case_create
    from eco12369.orgs.models import Region
    from eco12369.oversight.duplicates import duplicates_find
    from eco12369.oversight.models import DuplicateCandidate
    from eco12369.oversight.tasks import duplicates_find_task

    regions = {r.name: r for r in Region.objects.filter(level=Region.Level.DISTRICT)}
    # The cases the callback created wait for the finder in Redis (no consumer ran): in production the
    # consumer has run it for each, tokenising its text once. Catch up first, as the consumer would.
    behind = list(
        Case.objects.filter(fingerprint__tokenized=False)
        .select_related("fingerprint")
        .order_by("received_at")
    )
    if behind:
        say(f"duplicates: the finder catches up on {len(behind):,} cases the callback created")
        for old in behind:
            duplicates_find(case=old)
    rng = random.Random(5)
    timings, queries, found, cpu, sql = [], [], [], [], []
    say(f"duplicates: {args.duplicate_probes} new cases, the finder's task body timed")
    for k in range(args.duplicate_probes + 5):
        entry = pool[rng.randrange(len(pool))]
        case = case_create(
            intake=Intake(
                channel="wechat_h5",
                description=entry.description,
                category=entry.category,
                district=regions.get(entry.district),
                reported_party=entry.party,
                address=entry.address,
                latitude=None if entry.lat is None else round(entry.lat + rng.uniform(-0.001, 0.001), 6),
                longitude=None if entry.lon is None else round(entry.lon + rng.uniform(-0.001, 0.001), 6),
                reporter_openid=f"oBenchDup{k:05d}",
            )
        )
        with CaptureQueriesContext(connection) as ctx:
            start, start_cpu = time.perf_counter(), time.process_time()
            duplicates_find_task.call_local(case.pk)
            elapsed = (time.perf_counter() - start) * 1000
            cpu_ms = (time.process_time() - start_cpu) * 1000
        if k >= 5:  # the first few warm jieba and the connection
            timings.append(elapsed)
            # This process's CPU time and the statements' time (as the client waited for them): the
            # machine's load shows in the wall-clock figures more than in these.
            cpu.append(cpu_ms)
            sql.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
            queries.append(len(ctx))
            found.append(DuplicateCandidate.objects.filter(case=case).count())
    row = latency_row("duplicate check of a new case (duplicates_find)", timings)
    row.goal = "< 20 ms (median, p95)"
    row.ok = row.p95 is not None and row.p95 < 20
    row.note = (
        f"{statistics.mean(queries):.1f} queries, {statistics.mean(found):.1f} candidates stored on average; "
        f"per call (median) CPU {statistics.median(cpu):.1f} ms, SQL {statistics.median(sql):.1f} ms"
    )
    return [row]


# ------------------------------------------------------------------------------------------- main
def bench_transitions(url: str) -> list[Row]:
    """``bench/transitions.py`` on the same server (its own scratch database: fresh cases in every mode):
    4 processes accept, assign and reply at once, without the audit write and with it."""
    say("transitions: bench/transitions.py (4 processes, with and without the audit write)")
    out = BENCH_DIR / "transitions.json"
    server = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "transitions.py"),
            "--database-url",
            server,
            "--json",
            str(out),
        ],
        check=False,
    )
    if not out.exists():
        return [Row(what="concurrent transitions", goal="≥ 70% of no audit", ok=False, note="the run failed")]
    data = json.loads(out.read_text(encoding="utf-8"))
    ceiling = data["ceiling"]
    rows = []
    for mode, runs in data["modes"].items():
        rate = statistics.median(r["per_second"] for r in runs)
        best = max(runs, key=lambda r: r["per_second"])
        audited = mode.startswith("audit, ") and not mode.endswith(" 1 stream")
        rows.append(
            Row(
                what=f"transitions, 4 processes: {mode}",
                n=sum(r["transitions"] for r in runs),
                median=best["median"],
                p95=best["p95"],
                value=f"{rate:.0f}/s"
                + ("" if mode == "no audit" else f" = {rate / ceiling:.0%} of no audit"),
                goal="≥ 70% of no audit" if audited else "",
                ok=(rate / ceiling >= 0.7 and data["chain_ok"]) if audited else None,
                note=(
                    "accept, assign, reply on each process's own cases; rounds: "
                    + ", ".join(f"{r['per_second']:.0f}/s" for r in runs)
                    + ("" if data["chain_ok"] else "; AUDIT CHAIN BROKEN")
                ),
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--skip-seed", action="store_true", help="measure the scratch database as it is")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server (its scratch DB is used)")
    parser.add_argument("--db-name", default=BENCH_DB)
    parser.add_argument("--jobs", type=int, default=2, help="seeding processes (PostgreSQL)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (2-4 on 2 cores)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per wrk run")
    parser.add_argument("--page-requests", type=int, default=60, help="requests per page kind and user")
    parser.add_argument("--report-repeats", type=int, default=5)
    parser.add_argument("--duplicate-probes", type=int, default=200)
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated: callback,pages,reports,duplicates,transitions; seed: build the database only",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)

    url = scratch_url(args)
    use_redis = redis_reachable()
    env = {
        "DJANGO_SETTINGS_MODULE": "eco12369.settings",
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL if use_redis else "",
        "ECO_HUEY_NAME": HUEY_NAME,
        "ECO_HUEY_IMMEDIATE": "0",
        "ECO_VAR_DIR": str(BENCH_DIR / "var"),
        "ECO_STATIC_ROOT": str(BENCH_DIR / "static"),
        "ECO_DB_CONN_MAX_AGE": "600",
        "ECO_BENCH": "1",
        "ECO_LOG_LEVEL": "WARNING",
        "ECO_DEBUG": "",
        # The WeChat API (outbox delivery) is never called: no Huey consumer runs.
        "WECHAT_API_BASE_URL": "http://127.0.0.1:9/",
    }
    # The benchmark's own keys, kept with its database (production settings refuse to start without keys).
    env = {**devkeys.ensure_key_file(BENCH_DIR / "var" / "secrets.env"), **env}
    os.environ.update(env)
    say(
        f"database {url.split('@')[-1]}; Huey on {'Redis ' + REDIS_URL if use_redis else 'SQLite'} (no consumer)"
    )
    if not args.skip_seed:
        recreate_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.seed import report_pool, seed

    if use_redis:
        redis_clear()
    seed_seconds = 0.0
    if not args.skip_seed:
        say("migrate")
        call_command("migrate", verbosity=0)
        result = seed(cases=args.cases, jobs=args.jobs, rebuild_indexes=True, progress=say)
        seed_seconds = result.seconds
        say("VACUUM ANALYZE, CHECKPOINT")
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                cursor.execute("ANALYZE")
            elif result.vacuumed:
                # The seed vacuumed and analysed its own tables (with its index builds): the rest here.
                cursor.execute(
                    "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
                    "AND relkind = 'r' AND NOT relname = ANY(%s)",
                    [result.vacuumed],
                )
                for (name,) in cursor.fetchall():
                    cursor.execute(f'VACUUM ANALYZE "{name}"')
            else:
                cursor.execute("VACUUM ANALYZE")
            if connection.vendor == "postgresql":
                # Write the bulk load's pages out now: a checkpoint falling inside a measurement would make
                # every commit there wait behind gigabytes the platform did not write.
                cursor.execute("CHECKPOINT")
        say(f"VACUUM ANALYZE and CHECKPOINT took {time.perf_counter() - t0:.0f}s")
    else:
        call_command("migrate", verbosity=0)  # fixes added since the seed (indexes) apply here
    from eco12369.cases.models import Case

    cases = Case.objects.count()
    pool = report_pool(300, 99)
    only = set(filter(None, args.only.split(",")))
    rows: list[Row] = []
    if not only or only & {"callback", "pages"}:
        manifest = BENCH_DIR / "static" / "staticfiles.json"
        sources = max(
            (f.stat().st_mtime for f in (ROOT / "eco12369").glob("**/static/**/*") if f.is_file()), default=0
        )
        if not manifest.exists() or manifest.stat().st_mtime < sources:
            say("collectstatic")
            call_command("collectstatic", interactive=False, verbosity=0)
        with gunicorn({**os.environ, **env}, args.workers) as base:
            if not only or "callback" in only:
                rows += bench_callback(base, args, pool)
            if not only or "pages" in only:
                rows += bench_pages(base, args)
    if not only or "reports" in only:
        rows += bench_reports(args)
    if not only or "duplicates" in only:
        rows += bench_duplicates(args, pool)
    if (not only or "transitions" in only) and connection.vendor == "postgresql":
        rows += bench_transitions(url)
    if use_redis:
        redis_clear()
    total = time.perf_counter() - started
    server = ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('server_version'), current_setting('shared_buffers')")
            version, buffers = cursor.fetchone()
        server = f" {version.split()[0]}, shared_buffers {buffers}"
    header = (
        f"eco12369 bench: {cases:,} cases on {connection.vendor}{server} ({connection.settings_dict['NAME']}), "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; gunicorn {args.workers} sync workers; "
        f"seed {seed_seconds:.0f}s; whole run {total / 60:.1f} min"
    )
    text = header + "\n\n" + table(rows)
    print("\n" + text)
    out = BENCH_DIR / f"results-{cases}"
    out.with_suffix(".txt").write_text(text + "\n", encoding="utf-8")
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "cases": cases,
                "seconds": total,
                "seed_seconds": seed_seconds,
                "rows": [asdict(r) for r in rows],
            },
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
