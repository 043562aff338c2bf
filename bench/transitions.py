"""Concurrent transitions (issue 16): several processes accept, assign and reply on different cases at once
on PostgreSQL, with the audit write and without it.

    .venv/bin/python bench/transitions.py                          # 4 processes, 60 cases each, 2 rounds
    .venv/bin/python bench/transitions.py --processes 8 --cases 40 --rounds 3

A scratch database (``eco12369_bench_transitions`` on the server of ``--database-url``, default
``postgres://postgres@127.0.0.1:5432/``) is created, migrated and given the Tianjin organisations, one
district operator and one handler of a department; then, for every round and every mode, fresh cases
(``case_create``, received) are made and ``--processes`` forked processes, released together, each run
``case_accept``, ``case_assign`` and ``case_submit_reply`` (the real services: lock the case, re-check,
write the timeline, the outbox, the audit entry, commit) on cases of their own. Modes:

* ``no audit``: ``audit.services._append`` (the audit write proper: the head lock, the chained INSERT, the
  head UPDATE) replaced by nothing in the workers: the ceiling;
* ``audit, N streams``: the audit trail as configured (``ECO_AUDIT_STREAMS``, default 16);
* ``audit, 1 stream``: ``ECO_AUDIT_STREAMS=1``, every entry behind one row lock (the design before
  issue 16), for comparison.

Throughput is transitions per second from the first worker's start to the last one's end; the goal is the
audited mode at >= 70% of the ceiling. Huey runs on Redis (``redis://127.0.0.1:6379/14``, its own queue
name) with no consumer: what the transitions enqueue is left there and cleared at the end. The database
is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eco12369 import devkeys  # noqa: E402  (no Django import: safe before setup)

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/eco12369"
DB_NAME = "eco12369_bench_transitions"
REDIS_URL = "redis://127.0.0.1:6379/14"
HUEY_NAME = "eco12369_bench_transitions"
GOAL = 0.70
BENCH_DIR = ROOT / "var" / "bench-transitions"
REPLY = {
    "party_facts": "XX化工有限公司，位于某工业园区，主要生产涂料，环评手续齐全。",
    "inspection": "12月5日执法人员到现场检查，雨水排口有少量黑色污水外排，已取样送检。",
    "violations": "监测结果化学需氧量超标1.3倍，违反《水污染防治法》第十条。",
    "decision": "已责令立即改正，立案处罚，罚款十万元；企业已封堵排口、清理管网。",
    "communication": "12月6日电话告知举报人处理情况，举报人表示认可。",
}


def server_url(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate(url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]


def setup_org() -> tuple[int, int, int]:
    """The Tianjin organisations, a district operator and a handler: (operator, handler, department) ids."""
    from eco12369.orgs.models import Agency
    from eco12369.orgs.services import staff_create
    from eco12369.orgs.tianjin import tianjin_load

    tianjin_load()
    bureau = Agency.objects.get(region__name="和平区", kind=Agency.Kind.DISTRICT_BUREAU)
    department = bureau.departments.order_by("id").first()
    assert department is not None
    password = "Bench-transitions-12369!"
    operator = staff_create(username="bench_operator", password=password, agency=bureau, roles=["operator"])
    handler = staff_create(
        username="bench_handler", password=password, agency=bureau, department=department, roles=["handler"]
    )
    return operator.pk, handler.pk, department.pk


def make_cases(n: int, round_no: int) -> list[int]:
    from eco12369.cases.services import Intake, case_create
    from eco12369.orgs.models import Region

    district = Region.objects.get(name="和平区")
    pks = []
    for i in range(n):
        intake = Intake(
            channel="wechat_chat",
            description=f"小区东边那个厂子晚上又在排黑水了，河里一股臭味，第{round_no}-{i}次反映！！",
            category="water",
            district=district,
            reported_party="某某化工厂",
            reporter_openid=f"o-bench-{round_no}-{i}",
        )
        pks.append(case_create(intake=intake).pk)
    return pks


def worker(
    mode: str,
    pks: list[int],
    ids: tuple[int, int, int],
    barrier: Any,
    out: Any,
) -> None:
    """One process: accept, assign, reply on each of its cases, after every worker is ready."""
    from django.conf import settings
    from django.db import connections

    connections.close_all()  # the parent's connection is not ours
    from eco12369.audit import services as audit_services
    from eco12369.cases.models import Case
    from eco12369.cases.services import case_accept, case_assign, case_submit_reply
    from eco12369.orgs.models import Department, User

    if mode == "no audit":
        audit_services._append = lambda entry, key: None  # type: ignore[assignment]
    elif mode == "audit, 1 stream":
        settings.ECO_AUDIT_STREAMS = 1
    operator = User.objects.get(pk=ids[0])
    handler = User.objects.get(pk=ids[1])
    department = Department.objects.get(pk=ids[2])
    cases = list(Case.objects.filter(pk__in=pks).select_related("agency"))
    latencies: list[float] = []
    barrier.wait()
    start = time.perf_counter()
    for case in cases:
        for step in ("accept", "assign", "reply"):
            t0 = time.perf_counter()
            if step == "accept":
                case = case_accept(case=case, actor=operator)
            elif step == "assign":
                case = case_assign(case=case, actor=operator, department=department)
            else:
                case = case_submit_reply(case=case, actor=handler, **REPLY)
            latencies.append((time.perf_counter() - t0) * 1000)
    end = time.perf_counter()
    out.put((start, end, latencies))
    connections.close_all()


def run_mode(mode: str, pks: list[int], processes: int, ids: tuple[int, int, int]) -> dict[str, Any]:
    from django.db import connections

    connections.close_all()  # never fork with an open connection
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes)
    out = ctx.Queue()
    share = [pks[i::processes] for i in range(processes)]
    procs = [ctx.Process(target=worker, args=(mode, share[i], ids, barrier, out)) for i in range(processes)]
    for p in procs:
        p.start()
    results = [out.get(timeout=1800) for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f"a worker of {mode!r} failed (exit {p.exitcode})")
    start = min(r[0] for r in results)
    end = max(r[1] for r in results)
    latencies = sorted(x for r in results for x in r[2])
    return {
        "mode": mode,
        "transitions": len(latencies),
        "seconds": end - start,
        "per_second": len(latencies) / (end - start),
        "median": statistics.median(latencies),
        "p95": latencies[int(0.95 * (len(latencies) - 1))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_PG, help="a PostgreSQL server")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument(
        "--cases", type=int, default=60, help="cases per process and round (3 transitions each)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="each mode this many times, interleaved")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--json", default="", help="also write the figures to this file (bench/run.py)")
    args = parser.parse_args()
    url = server_url(args.database_url, DB_NAME)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            **devkeys.ensure_key_file(BENCH_DIR / "secrets.env"),
            "DJANGO_SETTINGS_MODULE": "eco12369.settings",
            "DATABASE_URL": url,
            "ECO_VAR_DIR": str(BENCH_DIR),
            "ECO_LOG_LEVEL": "WARNING",
            "ECO_DEBUG": "",
            "REDIS_URL": REDIS_URL,
            "ECO_HUEY_NAME": HUEY_NAME,
            "ECO_AUDIT_ANCHOR_FILE": str(BENCH_DIR / "audit-anchors.log"),
        }
    )
    print(f"建库 / scratch database {DB_NAME} …", flush=True)
    recreate(args.database_url, DB_NAME)
    (BENCH_DIR / "audit-anchors.log").unlink(missing_ok=True)  # the anchors of an earlier run's database
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from huey.contrib.djhuey import HUEY

    call_command("migrate", verbosity=0)
    ids = setup_org()
    modes = ["no audit", f"audit, {settings.ECO_AUDIT_STREAMS} streams", "audit, 1 stream"]
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    t_all = time.perf_counter()
    for round_no in range(1, args.rounds + 1):
        for mode in modes:
            print(f"第 {round_no} 轮 / round {round_no}: {mode}: 建件 / making cases …", flush=True)
            pks = make_cases(args.processes * args.cases, round_no * 10 + modes.index(mode))
            r = run_mode(mode, pks, args.processes, ids)
            results[mode].append(r)
            print(
                f"  {r['transitions']} transitions in {r['seconds']:.1f}s: {r['per_second']:.0f}/s, "
                f"median {r['median']:.1f} ms, p95 {r['p95']:.1f} ms",
                flush=True,
            )
    from eco12369.audit.services import audit_verify

    report = audit_verify(write_anchor=False)
    HUEY.flush()
    pg_version = connection.cursor().connection.info.server_version
    connection.close()
    if not args.keep:
        recreate(args.database_url, DB_NAME, drop_only=True)

    best = {m: max(results[m], key=lambda r: r["per_second"]) for m in modes}
    ceiling = statistics.median(r["per_second"] for r in results["no audit"])
    lines = [
        f"eco12369 concurrent transitions: PostgreSQL {pg_version // 10000}.{pg_version % 10000}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {args.processes} processes, "
        f"{args.cases} cases each (accept, assign, reply), {args.rounds} rounds; "
        f"run {time.perf_counter() - t_all:.0f}s; audit chain afterwards: "
        f"{'intact' if report.ok else 'BROKEN: ' + report.problem}, {report.checked} entries",
        "",
        f"{'mode':<22} {'transitions/s (each round)':<30} {'median':>7} {'p95':>7}  of ceiling  goal",
    ]
    for mode in modes:
        rates = [r["per_second"] for r in results[mode]]
        rate = statistics.median(rates)
        ratio = rate / ceiling
        goal = "" if mode == "no audit" else ("≥ 70%  " + ("yes" if ratio >= GOAL else "NO"))
        lines.append(
            f"{mode:<22} {statistics.median(rates):>6.0f}  ({', '.join(f'{x:.0f}' for x in rates)})"
            f"{'':<{max(0, 22 - len(', '.join(f'{x:.0f}' for x in rates)))}}"
            f"{best[mode]['median']:>7.1f} {best[mode]['p95']:>7.1f}  {ratio:>9.0%}  {goal}"
        )
    text = "\n".join(lines)
    print("\n" + text)
    (BENCH_DIR / "results.txt").write_text(text + "\n", encoding="utf-8")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"ceiling": ceiling, "modes": results, "chain_ok": report.ok, "summary": lines[0]},
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
    met = all(statistics.median(r["per_second"] for r in results[m]) / ceiling >= GOAL for m in modes[1:2])
    return 0 if met and report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
