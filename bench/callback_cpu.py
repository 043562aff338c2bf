"""The WeChat callback's cost per message, one request at a time (issue 16 item 2): CPU milliseconds of the
web process and SQL statements, per kind of message ``bench/run.py`` sends (a description, a location,
``提交``, ``查询``), next to ``/bench/callback-reference/``. Unlike throughput, these figures do not depend
on what else the machine is doing (a shared machine's load average moves the req/s, not these).

    .venv/bin/python bench/callback_cpu.py --db-name eco12369_bench        # after bench/run.py seeded it
    .venv/bin/python bench/callback_cpu.py --db-name eco12369_bench --profile callback.prof

Runs in this process with Django's test client (the whole middleware stack, as gunicorn would) on the
seeded scratch database; each reporter is new, so cases are added to it (a few hundred). CPU is
``time.process_time()`` of this process; "PG CPU" is that of the PostgreSQL server process serving its
connection (``/proc/<pid>/schedstat``: the server on this machine), which parses, plans and runs the
statements and flushes the commit; "both" is their sum, what two cores shared by the web workers and the
database spend per message.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import BENCH_DB, BENCH_DIR, DEFAULT_PG, HUEY_NAME, REDIS_URL, _in_the_project_venv  # noqa: E402

KINDS = ("text", "location", "submit", "query")
REFERENCE = "reference"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db-name", default=BENCH_DB)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "") or DEFAULT_PG)
    parser.add_argument(
        "--reporters", type=int, default=150, help="reporters, each sending the four messages"
    )
    parser.add_argument("--profile", default="", help="write a cProfile of the callback requests here")
    parser.add_argument(
        "--profile-kind", default="", choices=("", *KINDS), help="profile only this kind of message"
    )
    parser.add_argument(
        "--show-sql", action="store_true", help="print the statements of one message of each kind"
    )
    args = parser.parse_args()
    url = urlunsplit(urlsplit(args.database_url)._replace(path=f"/{args.db_name}"))
    from eco12369 import devkeys

    env = {
        "DJANGO_SETTINGS_MODULE": "eco12369.settings",
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "ECO_HUEY_NAME": HUEY_NAME + "_cpu",
        "ECO_HUEY_IMMEDIATE": "0",
        "ECO_VAR_DIR": str(BENCH_DIR / "var"),
        "ECO_DB_CONN_MAX_AGE": "600",
        "ECO_BENCH": "1",
        "ECO_LOG_LEVEL": "WARNING",
        "ECO_DEBUG": "",
        "WECHAT_API_BASE_URL": "http://127.0.0.1:9/",
    }
    os.environ.update({**devkeys.ensure_key_file(BENCH_DIR / "var" / "secrets.env"), **env})
    import django

    django.setup()
    import xmltodict
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.utils import WeChatSigner

    from bench.seed import report_pool

    conf = settings.WECHAT
    crypto = WeChatCrypto(conf["TOKEN"], conf["ENCODING_AES_KEY"], conf["APP_ID"])
    client = Client(HTTP_HOST="127.0.0.1")
    msg_ids = iter(range(int(time.time() * 1000) * 1000, 10**20))

    def request(path: str, openid: str, msg_type: str, **fields: Any) -> tuple[str, str]:
        body = {
            "ToUserName": "gh_bench_account",
            "FromUserName": openid,
            "CreateTime": str(int(time.time())),
            "MsgType": msg_type,
            **{k: str(v) for k, v in fields.items()},
            "MsgId": str(next(msg_ids)),
        }
        xml = xmltodict.unparse({"xml": body}, full_document=False)
        timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
        envelope = xmltodict.parse(crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        signer = WeChatSigner()
        signer.add_data(conf["TOKEN"], timestamp, nonce)
        params = (
            f"signature={signer.signature}&timestamp={timestamp}&nonce={nonce}"
            f"&encrypt_type=aes&msg_signature={envelope['MsgSignature']}"
        )
        outer = xmltodict.unparse(
            {"xml": {"ToUserName": "gh_bench_account", "Encrypt": envelope["Encrypt"]}}, full_document=False
        )
        return f"{path}?{params}", outer

    pool = report_pool(300, 99)
    run = secrets.token_hex(3)
    planned: list[tuple[str, str, str]] = []  # (kind, url, body), the four steps of each reporter in order
    for n in range(args.reporters):
        entry = pool[n % len(pool)]
        openid = f"oCpu{run}{n:05d}"
        lat = entry.lat if entry.lat is not None else 39.1
        lon = entry.lon if entry.lon is not None else 117.2
        cb = "/wechat/callback/"
        planned.append(("text", *request(cb, openid, "text", Content=entry.description)))
        planned.append(
            (
                "location",
                *request(
                    cb,
                    openid,
                    "location",
                    Location_X=f"{lat:.6f}",
                    Location_Y=f"{lon:.6f}",
                    Scale=15,
                    Label=entry.address,
                ),
            )
        )
        planned.append(("submit", *request(cb, openid, "text", Content="提交")))
        planned.append(("query", *request(cb, openid, "text", Content="查询")))
        planned.append(
            (REFERENCE, *request("/bench/callback-reference/", openid, "text", Content=entry.description))
        )

    def send(path: str, body: str) -> None:
        response = client.post(path, data=body.encode(), content_type="text/xml")
        assert response.status_code == 200, (response.status_code, response.content[:300])

    for _kind, path, body in planned[:20]:  # warm up: imports, connections, caches
        send(path, body)
    cpu: dict[str, list[float]] = {k: [] for k in (*KINDS, REFERENCE)}
    wall: dict[str, list[float]] = {k: [] for k in (*KINDS, REFERENCE)}
    sql_wall: dict[str, list[float]] = {k: [] for k in (*KINDS, REFERENCE)}
    queries: dict[str, list[int]] = {k: [] for k in (*KINDS, REFERENCE)}
    server: dict[str, list[float]] = {k: [] for k in (*KINDS, REFERENCE)}
    backend = _backend_cpu_reader(connection)
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    in_sql = [0.0]
    # --show-sql: the database server's CPU per statement, by kind of message and the statement's place
    statement_cpu: dict[str, dict[int, tuple[str, list[float]]]] = {k: {} for k in (*KINDS, REFERENCE)}
    executed: list[tuple[str, float]] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        begun, server_begun = time.perf_counter(), backend() if args.show_sql else 0.0
        try:
            return execute(sql, params, many, context)
        finally:
            in_sql[0] += time.perf_counter() - begun
            if args.show_sql:
                executed.append((sql, (backend() - server_begun) * 1000))

    for kind, path, body in planned[20:]:
        profiled = profiler is not None and kind != REFERENCE and args.profile_kind in ("", kind)
        in_sql[0] = 0.0
        executed.clear()
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timed):
            if profiled:
                profiler.enable()  # type: ignore[union-attr]
            server_started = backend()
            started, started_wall = time.process_time(), time.perf_counter()
            send(path, body)
            cpu[kind].append((time.process_time() - started) * 1000)
            server[kind].append((backend() - server_started) * 1000)
            wall[kind].append((time.perf_counter() - started_wall) * 1000)
            if profiled:
                profiler.disable()  # type: ignore[union-attr]
        sql_wall[kind].append(in_sql[0] * 1000)
        queries[kind].append(len(captured.captured_queries))
        for place, (sql, ms) in enumerate(executed):
            statement_cpu[kind].setdefault(place, (sql, []))[1].append(ms)
        if args.show_sql and len(queries[kind]) == 1:
            print(f"-- {kind}: {len(captured.captured_queries)} statements")
            for q in captured.captured_queries:
                print("   ", q["sql"][:300])
    if profiler is not None:
        profiler.dump_stats(args.profile)
    if args.show_sql:
        print("-- the database server's CPU per statement (mean ms; BEGIN and COMMIT are not among them)")
        for kind, places in statement_cpu.items():
            for place, (sql, values) in sorted(places.items()):
                print(
                    f"   {kind:<10} {place:>2} {statistics.fmean(values):6.3f} ms  n={len(values):<4} {sql[:90]}"
                )
    mix = {"text": 50, "location": 50, "submit": 50, "query": 10}  # bench/run.py's mix per 50 reporters
    weight = sum(mix.values())
    print(
        f"{'message':<28} {'n':>4} {'CPU ms (mean)':>14} {'median':>8} {'SQL':>5}"
        f" {'wall ms':>8} {'in SQL ms':>10} {'PG CPU ms':>10} {'both':>7}"
    )
    for kind in (*KINDS, REFERENCE):
        values = cpu[kind]
        print(
            f"{kind:<28} {len(values):>4} {statistics.fmean(values):>14.2f} {statistics.median(values):>8.2f}"
            f" {statistics.fmean(queries[kind]):>5.1f} {statistics.median(wall[kind]):>8.2f}"
            f" {statistics.median(sql_wall[kind]):>10.2f} {statistics.fmean(server[kind]):>10.2f}"
            f" {statistics.fmean(values) + statistics.fmean(server[kind]):>7.2f}"
        )
    mean_cpu = sum(statistics.fmean(cpu[k]) * mix[k] for k in KINDS) / weight
    mean_sql = sum(statistics.fmean(queries[k]) * mix[k] for k in KINDS) / weight
    mean_server = sum(statistics.fmean(server[k]) * mix[k] for k in KINDS) / weight
    reference_cpu, reference_server = statistics.fmean(cpu[REFERENCE]), statistics.fmean(server[REFERENCE])
    print(
        f"{'callback, bench/run.py mix':<28} {'':>4} {mean_cpu:>14.2f} {'':>8} {mean_sql:>5.1f}"
        f" {'':>8} {'':>10} {mean_server:>10.2f} {mean_cpu + mean_server:>7.2f}"
    )
    print(
        f"the mix is {mean_cpu / reference_cpu:.1f}× the reference's CPU in this process"
        + (
            f", {(mean_cpu + mean_server) / (reference_cpu + reference_server):.1f}× with the database"
            " server's CPU"
            if reference_server
            else " (the database server's CPU was not readable)"
        )
    )
    return 0


def _backend_cpu_reader(connection: Any) -> Any:
    """A function giving the CPU seconds the database server's process for ``connection`` has used so far
    (PostgreSQL on this machine: ``/proc/<pid>/schedstat``, nanoseconds); always 0 when that is not
    readable (SQLite, a remote server)."""
    if connection.vendor != "postgresql":
        return lambda: 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    path = Path(f"/proc/{pid}/schedstat")

    def read() -> float:
        try:
            return int(path.read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            return 0.0

    return read


if __name__ == "__main__":
    _in_the_project_venv()
    sys.exit(main())
