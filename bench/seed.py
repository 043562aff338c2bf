"""Ten years of a province's cases, written straight into the database (bulk: minutes, not hours).

    .venv/bin/python bench/seed.py --cases 1000000          # into the database of DATABASE_URL
    .venv/bin/python bench/seed.py --cases 2000 --seed 7     # a small, reproducible set

What is written, for each case (all consistent with what the services would have written):

* ``Case``: spread over the 16 districts (3 % owned by the city centre: no district known), over ten
  years up to now (growing ~8 % a year, more by day than by night), with kinds, categories and channels in
  realistic shares. The reported party, address, place and description come from a pool of reports
  generated with the vocabulary of ``bench/duplicates.py`` (brand + industry + legal form, roads of each
  district, paraphrased complaints), so the duplicate index, "top parties" and repeated reports look like
  real ones. Deadlines are computed by ``cases.deadlines`` (the official calendar), ``due_at``/``warn_at``
  by the rules of ``workflow.refresh_deadline_fields``.
* The life of the case up to now: confirmed (accept, answer, hand over, mark duplicate), assigned,
  replied, approved, sometimes returned once, extended or supervised; old cases are closed, recent ones
  sit in every state, a few are stuck (overdue). Each step is a ``CaseEvent`` with its actor (seeded staff
  of the owning bureau), replies (``Reply``, the five parts of Art. 10; some state violations, so the
  "substantiated" figures are non-zero), approved extensions, supervision orders.
* WeChat: the acknowledgement and notices in the outbox (sent), the callback's record of the "提交"
  message (``InboundMessage``) and a ``Conversation`` per WeChat reporter; satisfaction ratings
  (``followup.Rating``) when that app is installed.
* Oversight: the duplicate finder's ``CaseFingerprint`` of every case (normalised party, street, grid
  cell, and the jieba tokens and concepts, computed by ``oversight.duplicate_scoring`` itself), its
  look-up bigrams (``CaseGram``), and a
  ``DuplicateCandidate`` row for each case marked duplicate.
* ``CaseNumberSequence`` per day, so new cases get the next free number.

Reporter identity is encrypted with ``eco12369.crypto`` (the fields' own code) and indexed by its blind
index. Encrypting is slow (~50-150 µs a value), so identities come from a pool of reporters (about one
per eight cases, at most 60,000; many people report more than once), each encrypted once and reused by
all of that reporter's cases: the columns hold real ciphertexts, but one reporter's cases share them.
10 % of cases are anonymous (empty fields). The audit trail is not seeded (its hash chain stays empty).

On PostgreSQL the cases, their timelines, replies and the rest that needs the case's own draws go in with
``COPY`` (psycopg 3 ``cursor.copy``) from ``--jobs`` worker processes, each a slice of the cases at a time;
what follows from the copied rows alone (fingerprints, look-up bigrams, the callback's records, the outbox)
is written by ``INSERT … SELECT`` from them in the same transaction (the values Python writes on SQLite: a
test compares the two). Reporter identities are encrypted once, before the workers start. Sequences are reset
afterwards. ``--rebuild-indexes`` (used by ``bench/run.py`` on its scratch database) drops the secondary
indexes of the seeded tables first, skips foreign-key triggers while copying (``session_replication_role =
replica``, superuser only; the rows are consistent by construction), and at the end vacuums each table,
builds its indexes again and analyses it, with the dashboard's rollups, in one pool of connections that
keeps both cores busy (``Seeder._finish``). Session settings only (``synchronous_commit = off`` while
copying, ``maintenance_work_mem`` per build): the server's configuration is not touched. On SQLite rows go
in with ``executemany`` in large transactions (``synchronous=OFF`` while seeding).
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import math
import os
import random
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from eco12369.devkeys import use_key_file  # noqa: E402  (no Django import: safe before setup)

# The case's query code, as ``cases.models.query_code_new`` makes it (that module needs Django set up).
QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
QUERY_CODE_LENGTH = 10

TZ = ZoneInfo("Asia/Shanghai")
DAY = 86400.0
HOUR = 3600.0

# ------------------------------------------------------------------------------------------- shares
KINDS = [("report", 86), ("consultation", 7), ("suggestion", 4), ("other", 3)]
CHANNELS = [("wechat_chat", 42), ("wechat_h5", 36), ("phone", 14), ("api", 5), ("other", 3)]
# What a report's confirmation decides (kind "report"); non-reports are answered.
PATHS = [("handled", 80), ("answered", 6), ("handed_over", 8), ("duplicate", 6)]
# Hour of day of receipt (Asia/Shanghai): reports come mostly by day and in the evening.
HOURS = [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 7, 6, 7, 7, 7, 6, 6, 6, 7, 8, 7, 4, 2]
GROWTH = 0.08  # cases grow ~8 % a year
CITY_SHARE = 0.03  # no district known: the city centre owns the case
ANONYMOUS = 0.10
STUCK = 0.002  # of the last 200 days' cases: stopped at some step (overdue, on the supervision lists)
LATE_CONFIRM = 0.02
EXTENDED = 0.04
RETURNED = 0.08
SUBSTANTIATED = 0.35
RATED = 0.35

CONSULTATIONS = [
    "请问新开的餐馆需要办理哪些环保手续？",
    "想咨询一下装修噪声的管理规定，晚上几点以后不能施工？",
    "请问企业的环评报告在哪里可以查到？",
    "咨询一下排污许可证的办理流程。",
    "小区旁边要建垃圾中转站，想了解环评公示的情况。",
    "请问机动车尾气检测不合格应该找哪个部门？",
    "想了解一下我们区空气质量监测数据在哪里公布。",
    "请问自建房装修产生的建筑垃圾应该怎么处理？",
]
SUGGESTIONS = [
    "建议在河道边多设置垃圾桶，减少乱扔垃圾。",
    "建议加强对夜间渣土车的管理，撒漏很严重。",
    "建议公开重点排污企业的在线监测数据。",
    "建议在学校周边加强噪声管控。",
    "建议工业园区安装更多的空气质量监测点。",
]
OTHER_TEXTS = [
    "楼道里堆放杂物，存在安全隐患。",
    "小区物业乱收费，没人管。",
    "马路上的井盖丢失了，很危险。",
    "邻居家养狗，每天叫个不停。",
    "路边违章停车堵塞交通。",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
]
GIVEN += [
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建国",
    "建华",
    "国强",
    "志强",
    "淑珍",
    "玉兰",
    "海燕",
    "先生",
    "女士",
]
OPENID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

INSPECTIONS = [
    "执法人员接到举报后立即赶赴现场，对企业生产车间、污染防治设施及排放口进行了检查，调取了运行台账。",
    "执法人员会同属地街道对现场进行了检查，查看了企业的环评审批手续和排污许可证，并对周边环境进行了走访。",
    "执法人员于夜间对现场进行了突击检查，使用便携式仪器进行了监测，并对相关人员做了询问笔录。",
    "执法人员对举报点位进行了现场勘查和取样监测，监测结果已出具报告。",
]
VIOLATIONS_FOUND = [
    "该单位污染防治设施未正常运行，存在超标排放的环境违法行为。",
    "该单位未按规定贮存危险废物，危险废物露天堆放，未设置识别标志。",
    "该单位夜间施工未办理相关手续，施工噪声超过国家排放标准。",
    "该单位通过暗管排放水污染物，违反了《中华人民共和国水污染防治法》相关规定。",
]
VIOLATIONS_NONE = ["未发现环境违法问题。", "经查，举报反映的问题不属实。", "无", "暂未发现违法排放行为。"]
DECISIONS_FOUND = [
    "已责令该单位立即改正违法行为，依法立案处罚，并将持续跟踪检查整改情况。",
    "已下达责令改正违法行为决定书，处以罚款，并责令限期完成整改。",
]
DECISIONS_NONE = [
    "已要求该单位加强日常管理，确保污染防治设施正常运行，我局将加强巡查。",
    "将该点位纳入日常监管重点，加大巡查频次。",
]
COMMUNICATIONS = [
    "已电话告知举报人调查处理情况，举报人表示认可。",
    "已通过微信向举报人反馈处理结果。",
    "举报人为匿名举报，处理结果通过平台答复。",
]
ANSWERS = [
    "您反映的事项不属于环境保护举报受理范围，建议您向相关部门反映。",
    "感谢您的咨询，相关规定及办理流程已在我局网站公布，您也可拨打12369咨询。",
    "感谢您的建议，我局已转相关科室研究，将在今后工作中参考。",
]
HANDOVER_TEXT = "经核实，您反映的问题属于其他部门职责，已移交相关部门依法处理。"
RETURN_NOTE = "请补充现场检查的监测数据。"
PASSIVE_REASON = "举报人来信的即时回复（被动回复）"
FINAL_TEMPLATE = {
    "handled": "closed",
    "answered": "answered",
    "handed_over": "handed_over",
    "duplicate": "duplicate",
}
CHANNEL_LABELS = {
    "wechat_chat": "微信对话",
    "wechat_h5": "微信H5表单",
    "phone": "电话",
    "api": "开放接口",
    "other": "其他",
}

# The columns each table is written with, in the order ``Table.add`` takes them (other fields: defaults).
COLUMNS: dict[str, list[str]] = {
    "cases.Case": (
        "id number channel kind category state outcome region_id agency_id department_id handover_agency_id "
        "duplicate_of_id reported_party address latitude longitude occurred_at description reporter_name "
        "reporter_phone reporter_openid reporter_openid_digest anonymous received_at confirm_due confirmed_at "
        "accepted_at close_due extension_days closed_at due_at warn_at deadline_provisional created_at updated_at "
        "query_code"
    ).split(),
    "cases.CaseEvent": "id case_id action actor_id actor_agency_id at from_state to_state note data".split(),
    "cases.Reply": (
        "id case_id kind status return_state party_facts inspection violations decision communication text "
        "drafted_by_id submitted_at reviewed_by_id reviewed_at review_note"
    ).split(),
    "cases.Extension": (
        "id case_id days reason status requested_by_id requested_at decided_by_id decided_at decision_note"
    ).split(),
    "cases.SupervisionOrder": (
        "id case_id issued_by_id issued_at instruction answer_due answer answered_by_id answered_at"
    ).split(),
    "oversight.CaseFingerprint": "case_id party_key street_key geo_cell received_at tokens concepts problems tokenized".split(),
    "oversight.CaseGram": "id case_id gram received_at".split(),
    "oversight.DuplicateCandidate": (
        "id case_id candidate_id score party_score place_score text_score distance_m found_at"
    ).split(),
    "notifications.OutboxMessage": (
        "id case_id reply_id openid openid_digest template text status channel channel_reason attempts "
        "created_at sent_at"
    ).split(),
    "wechat.InboundMessage": (
        "id dedupe_key openid_digest msg_type msg_id content wechat_created_at received_at status reply_text "
        "case_id"
    ).split(),
    "wechat.Conversation": (
        "id openid openid_digest state subscribed notify_consent last_inbound_at draft_text draft_label "
        "updated_at"
    ).split(),
    "cases.CaseNumberSequence": "id day last".split(),
    "followup.Rating": (
        "id case_id latest_of_id level comment channel rated_at closed_at review reviewed_by_id reviewed_at "
        "review_note"
    ).split(),
}
EXTENSION_REASONS = ["需等待第三方监测报告", "涉及多部门联合调查", "企业整改需要一定周期"]
# The acknowledgement (outbox, and the callback's immediate reply to "提交").
ACK = (
    "您的举报已收到，编号 {number}。我们将在2个工作日内确认处理，"
    "您可回复“查询 {number}”了解进度。感谢您对环境保护工作的支持！"
)
# The notices of the outbox: accepted (with the agency and the day it must close by), closed.
ACCEPTED = "您的举报（编号 {number}）已由{agency}受理，将于{due}前办结并答复您。"
CLOSED = "您的举报（编号 {number}）已办结，办理结果请回复“查询 {number}”查看。"
# The callback's record of a WeChat chat's "提交": its MsgId is this plus the case id.
MSG_ID_BASE = 6_000_000_000_000_000


# Rows per case at most (their ids are base + case index * this + k): events 11 (receive, accept, assign,
# two extension steps, submit, return, submit, approve, supervise, answer), replies 2, outbox messages 3.
PER_CASE = {
    "cases.CaseEvent": 16,
    "cases.Reply": 2,
    "notifications.OutboxMessage": 4,
    "oversight.CaseGram": 40,
}


def _weighted(rng: random.Random, items: list[tuple[str, int]]) -> Callable[[], str]:
    names = [n for n, _ in items]
    cum = []
    total = 0
    for _, w in items:
        total += w
        cum.append(total)

    def pick() -> str:
        return names[bisect.bisect_right(cum, rng.random() * total)]

    return pick


# --------------------------------------------------------------------------------------- table writer
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]").search


def _pg_text(v: str) -> str:
    return v.translate(_ESCAPE) if _NEEDS_ESCAPE(v) else v


def _pg_value(v: Any) -> str:
    """A value in PostgreSQL's COPY text format."""
    if v is None:
        return "\\N"
    t = type(v)
    if t is str:
        return _pg_text(v)
    if t is bool:
        return "t" if v else "f"
    if t is int:
        return str(v)
    if t is float:
        return repr(v)
    if t is dt.date:
        return v.isoformat()
    return str(v).translate(_ESCAPE)


_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
_DAYS: dict[int, str] = {}
_modf = math.modf


def _pg_moment(v: Any) -> str:
    """Timestamps are kept as POSIX seconds while generating; written as UTC ISO text, exactly as
    ``datetime.fromtimestamp(v, UTC).isoformat()`` writes them (the same rounding to the microsecond), at a
    fraction of its cost. Text (a moment formatted once and written in several rows) passes unchanged."""
    if v is None:
        return "\\N"
    if v.__class__ is str:
        return v
    frac, whole = _modf(v)
    us = round(frac * 1e6)
    s = int(whole)
    if us >= 1_000_000:
        s += 1
        us -= 1_000_000
    d, s = divmod(s, 86400)
    day = _DAYS.get(d)
    if day is None:
        day = _DAYS[d] = (dt.date(1970, 1, 1) + dt.timedelta(days=d)).isoformat()
    return f"{day}T{_HMS[s]}.{us:06d}+00:00" if us else f"{day}T{_HMS[s]}+00:00"


def _sqlite_moment(ops: Any) -> Callable[[Any], Any]:
    def convert(v: Any) -> Any:
        return None if v is None else ops.adapt_datetimefield_value(dt.datetime.fromtimestamp(v, dt.UTC))

    return convert


class Table:
    """Rows of one model, written in bulk: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.

    ``add(*values)`` takes the values of ``columns`` (attribute names) in that order; every other field
    takes its default. Moments (``DateTimeField``) are given as POSIX seconds. ``add`` is compiled once per
    table (one f-string per row on PostgreSQL): a million cases make some ten million rows."""

    def __init__(self, model: Any, connection: Any, columns: list[str]) -> None:
        self.model = model
        self.connection = connection
        self.fields = list(model._meta.concrete_fields)
        by_name = {f.attname: f for f in self.fields}
        unknown = set(columns) - set(by_name)
        if unknown:
            raise ValueError(f"{model._meta.label} has no field(s) {sorted(unknown)}")
        self.columns = columns
        self.table = model._meta.db_table
        self.pg = connection.vendor == "postgresql"
        self.rows: list[Any] = []
        self.count = 0
        self.add: Callable[..., None] = self._compile(by_name)

    def _compile(self, by_name: dict[str, Any]) -> Callable[..., None]:
        from django.db import models

        ops = self.connection.ops
        position = {name: i for i, name in enumerate(self.columns)}
        env: dict[str, Any] = {
            "_append": self.rows.append,
            "_s": _pg_text,
            "_m": _pg_moment,
            "_g": _pg_value,
            "_bad": _NEEDS_ESCAPE,
        }
        parts: list[str] = []  # SQLite: the values; PostgreSQL: each field's COPY text, unescaped
        escaped: list[str] = []  # PostgreSQL: each field's COPY text, escaped (the rare slow path)
        texts: list[str] = []  # PostgreSQL: the values that may need escaping
        for n, f in enumerate(self.fields):
            moment = f.get_internal_type() == "DateTimeField"
            if f.attname not in position:
                value = f.get_default()
                if isinstance(value, dict | list):
                    value = json.dumps(value)
                if not self.pg and isinstance(value, dt.datetime):
                    value = ops.adapt_datetimefield_value(value)
                env[f"_L{n}"] = _pg_value(value) if self.pg else value
                parts.append(f"_L{n}")
                escaped.append(f"_L{n}")
                continue
            v = f"v{position[f.attname]}"
            if not self.pg:
                if moment:
                    env[f"_c{n}"] = _sqlite_moment(ops)
                    parts.append(f"_c{n}({v})")
                elif f.get_internal_type() == "DateField":
                    env[f"_c{n}"] = ops.adapt_datefield_value
                    parts.append(f"_c{n}({v})")
                elif isinstance(f, models.DecimalField):
                    parts.append(f"(None if {v} is None else float({v}))")
                else:
                    parts.append(v)
            elif moment:
                parts.append(f"_m({v})")
                escaped.append(f"_m({v})")
            elif f.null or isinstance(f, models.DecimalField | models.DateField):
                # int, float, Decimal, date and str all write their COPY text with str()
                parts.append(f"('\\\\N' if {v} is None else str({v}))")
                escaped.append(f"_g({v})")
                if isinstance(f, models.CharField | models.TextField | models.JSONField):
                    texts.append(f"({v} or '')")
            elif isinstance(f, models.BooleanField):
                parts.append(f"('t' if {v} else 'f')")
                escaped.append(f"('t' if {v} else 'f')")
            elif isinstance(f, models.CharField | models.TextField | models.JSONField):
                parts.append(v)
                escaped.append(f"_s({v})")
                texts.append(v)
            else:
                parts.append(f"str({v})")
                escaped.append(f"str({v})")
        params = ", ".join(f"v{i}" for i in range(len(self.columns)))
        if self.pg:
            # The text values of a row are checked at once for what COPY's text format must escape; only
            # such rare rows are escaped field by field.
            check = f"_bad(''.join(({', '.join(texts)},)))" if texts else "False"
            source = (
                f"def add({params}):\n"
                f"    if {check}:\n"
                f"        _append('\\t'.join(({', '.join(escaped)},)))\n"
                "    else:\n"
                f"        _append('\\t'.join(({', '.join(parts)},)))\n"
            )
        else:
            source = f"def add({params}):\n    _append(({', '.join(parts)},))\n"
        exec(compile(source, f"<seed row {self.model._meta.label}>", "exec"), env)
        add: Callable[..., None] = env["add"]
        return add

    def add_dict(self, values: dict[str, Any]) -> None:
        self.add(*[values[name] for name in self.columns])

    def next_id(self) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(f'SELECT COALESCE(MAX("{self.model._meta.pk.column}"), 0) FROM "{self.table}"')
            return int(cursor.fetchone()[0]) + 1

    def flush(self) -> None:
        if not self.rows:
            return
        columns = ", ".join(f'"{f.column}"' for f in self.fields)
        with self.connection.cursor() as cursor:
            if self.pg:
                with cursor.cursor.copy(f'COPY "{self.table}" ({columns}) FROM STDIN') as copy:
                    copy.write(("\n".join(self.rows) + "\n").encode())
            else:
                marks = ", ".join("?" for _ in self.fields)
                cursor.executemany(f'INSERT INTO "{self.table}" ({columns}) VALUES ({marks})', self.rows)
        self.count += len(self.rows)
        self.rows.clear()


# ------------------------------------------------------------------------------------ the report pool
@dataclass
class Entry:
    """One distinct report of the pool (the same matter may be reported many times)."""

    party: str
    address: str
    lat: float | None
    lon: float | None
    description: str
    category: str
    district: str
    kind: str = "report"
    party_key: str = ""
    street_key: str = ""
    tokens: str = ""
    concepts: str = ""
    words: list[str] = field(default_factory=list)
    grams: list[str] = field(default_factory=list)
    problems: str = ""


def report_pool(size: int, rng_seed: int) -> list[Entry]:
    """Distinct reports written with bench/duplicates.py's generator (both sides of its pairs: the same
    matter in other words, other matters of the same party or place), tokenised once by the detector."""
    from bench.duplicates import DISTRICTS, Gen
    from eco12369.oversight.duplicate_scoring import (
        case_problems,
        concepts,
        lookup_grams,
        normalise_address,
        normalise_party,
        street_key,
        text_tokens,
    )

    gen = Gen(rng_seed)
    out: list[Entry] = []
    per_district: dict[str, int] = {}
    least = max(2, size // 40)  # every district has reports of its own, however small the pool
    i = 0
    while len(out) < size or min(per_district.get(d[0], 0) for d in DISTRICTS) < least:
        pair = gen.positive(i) if i % 3 else gen.negative(i)
        i += 1
        for side in ("a", "b"):
            c = pair[side]
            out.append(
                Entry(
                    party=c["reported_party"],
                    address=c["address"],
                    lat=c["latitude"],
                    lon=c["longitude"],
                    description=c["description"],
                    category=c["category"],
                    district=c["district"],
                )
            )
            per_district[c["district"]] = per_district.get(c["district"], 0) + 1
    for e in out:
        e.party_key = normalise_party(e.party)
        e.grams = lookup_grams(e.party_key, normalise_address(e.address))[: PER_CASE["oversight.CaseGram"]]
        e.street_key = street_key(e.address)
        e.words = text_tokens(e.description, drop=e.party)
        e.tokens = " ".join(e.words)
        e.concepts = ",".join(sorted(concepts(e.description)))
        e.problems = ",".join(sorted(case_problems(e.description, e.category)))
    return out


def other_pool(rng: random.Random) -> dict[str, list[Entry]]:
    from eco12369.oversight.duplicate_scoring import concepts, text_tokens

    out: dict[str, list[Entry]] = {}
    for kind, texts in (("consultation", CONSULTATIONS), ("suggestion", SUGGESTIONS), ("other", OTHER_TEXTS)):
        out[kind] = []
        for text in texts:
            words = text_tokens(text)
            out[kind].append(
                Entry(
                    party="",
                    address="",
                    lat=None,
                    lon=None,
                    description=text,
                    category="other",
                    district="",
                    kind=kind,
                    tokens=" ".join(words),
                    concepts=",".join(sorted(concepts(text))),
                )
            )
    return out


# --------------------------------------------------------------------------------------- the seeder
@dataclass
class Staff:
    operator: int
    reviewer: int
    head: int
    handlers: dict[int, int]  # department id -> handler user id


@dataclass
class Owner:
    """An agency that owns cases, with what its cases' rows need (ids, names, staff, departments)."""

    agency_id: int
    region_id: int
    agency_name: str
    staff: Staff
    department_for: dict[str, int]  # pollution category -> handling department
    department_json: dict[int, str]  # department -> the assign event's data
    receive_json: str


@dataclass
class Result:
    cases: int
    seconds: float
    rows: dict[str, int]
    first_case_id: int
    last_case_id: int
    start: dt.datetime
    end: dt.datetime
    vacuumed: list[str] = field(default_factory=list)  # tables the seed vacuumed and analysed itself


class Seeder:
    def __init__(
        self,
        *,
        cases: int,
        seed: int = 12369,
        years: float = 10.0,
        end: dt.datetime | None = None,
        batch: int = 5000,
        progress: Callable[[str], None] | None = print,
        rebuild_indexes: bool = False,
        pool_size: int | None = None,
        jobs: int = 1,
        slice_size: int = 50000,
        index_jobs: int | None = None,
        index_memory: str = "1GB",
        gin_memory: str = "2GB",
        tail: Callable[[], Any] | None = None,
        sql_rows: bool = True,
    ) -> None:
        from django.db import connection
        from django.utils import timezone

        self.n = cases
        self.rng = random.Random(seed)
        self.seed = seed
        self.years = years
        self.end = end or timezone.now()
        self.batch = batch
        self.say = progress or (lambda _msg: None)
        # Worker processes (PostgreSQL only: SQLite has one writer at a time).
        self.jobs = max(1, jobs) if connection.vendor == "postgresql" else 1
        self.slice_size = max(1, slice_size)
        # Index builds after the copy: one more than the writers (a build waits on the disk now and then).
        self.index_jobs = max(1, index_jobs if index_jobs is not None else self.jobs + 1)
        self.index_memory = index_memory
        self.gin_memory = gin_memory
        # Run with the index builds when they are rebuilt (the dashboard's rollups: ``seed``), else after.
        self.tail = tail
        self.rebuild_indexes = rebuild_indexes and connection.vendor == "postgresql"
        self.connection = connection
        self.sql_rows = False  # set per slice (``run_slice``)
        self.sql_rows_allowed = sql_rows  # False: every row from Python, as on SQLite (tests compare the two)
        self.vacuumed: list[str] = []  # tables vacuumed and analysed by the seed itself (``_finish``)
        self.pool_size = pool_size or max(60, min(8000, cases // 120))

    # ------------------------------------------------------------------ reference data and staff
    def _reference(self) -> None:
        from eco12369.orgs.models import Agency, Department, Region, User
        from eco12369.orgs.services import staff_create
        from eco12369.orgs.tianjin import tianjin_load

        tianjin_load()
        self.city = Region.objects.get(level=Region.Level.CITY)
        self.districts = {r.name: r for r in Region.objects.filter(level=Region.Level.DISTRICT)}
        self.centre = Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)
        self.bureaus = {a.region_id: a for a in Agency.objects.filter(kind=Agency.Kind.DISTRICT_BUREAU)}
        self.outside = list(Agency.objects.filter(kind=Agency.Kind.OUTSIDE).values_list("pk", "name"))
        self.agency_names = {a.pk: a.name for a in Agency.objects.all()}
        departments = list(Department.objects.select_related("agency"))
        self.department_names = {d.pk: d.name for d in departments}
        self.staff: dict[int, Staff] = {}
        for agency in [self.centre, *self.bureaus.values()]:
            code = agency.region.code
            users = {u.username: u.pk for u in User.objects.filter(agency=agency)}

            def user(
                role: str,
                department: Any = None,
                *,
                _a: Any = agency,
                _c: str = code,
                _users: dict[str, int] = users,
            ) -> int:
                name = f"seed_{_c}_{role}" + (f"_{department.pk}" if department is not None else "")
                if name in _users:
                    return _users[name]
                created = staff_create(
                    username=name,
                    password=None,
                    agency=_a,
                    department=department,
                    roles=[role],
                    display_name=f"{_a.short_name or _a.name}{role}",
                )
                return created.pk

            own = [d for d in departments if d.agency_id == agency.pk]
            self.staff[agency.pk] = Staff(
                operator=user("operator"),
                reviewer=user("reviewer"),
                head=user("head"),
                handlers={d.pk: user("handler", d) for d in own},
            )
        self.dept_by_category: dict[int, dict[str, int]] = {}
        for agency in [self.centre, *self.bureaus.values()]:
            by_name = {d.name: d.pk for d in departments if d.agency_id == agency.pk}
            first = min(by_name.values())

            def find(word: str, _own: dict[str, int] = by_name, _first: int = first) -> int:
                return next((pk for name, pk in _own.items() if word in name), _first)

            self.dept_by_category[agency.pk] = {
                "air": find("大气"),
                "water": find("水环境"),
                "hazardous_waste": find("固体废物"),
                "noise": find("执法"),
                "other": find("执法"),
            }
        self.owners: dict[int, Owner] = {}
        for agency in [self.centre, *self.bureaus.values()]:
            own_departments = [d for d in departments if d.agency_id == agency.pk]
            self.owners[agency.pk] = Owner(
                agency_id=agency.pk,
                region_id=agency.region_id,
                agency_name=agency.name,
                staff=self.staff[agency.pk],
                department_for=self.dept_by_category[agency.pk],
                department_json={
                    d.pk: json.dumps({"department": d.name}, ensure_ascii=False) for d in own_departments
                },
                receive_json=json.dumps({"agency": agency.name}, ensure_ascii=False),
            )
        self.owner_by_district = {
            name: self.owners[self.bureaus[region.pk].pk] for name, region in self.districts.items()
        }
        self.owners_list = [self.owner_by_district[name] for name in sorted(self.owner_by_district)]
        self.receive_note = {key: f"通过{label}接收" for key, label in CHANNEL_LABELS.items()}

    # ------------------------------------------------------------------ deadlines (cached per day)
    def warn_moment(self, start: float, due: float) -> float:
        """``deadlines.warn_moment`` of two moments as they are written (to the microsecond, ``_pg_moment``):
        computed on the unrounded seconds, the warning could land a microsecond away from the one the workflow
        computes from the stored moments."""
        utc = dt.UTC
        return self._deadlines.warn_moment(
            dt.datetime.fromtimestamp(start, utc), dt.datetime.fromtimestamp(due, utc)
        ).timestamp()

    def _deadline_caches(self, first: float) -> None:
        """The working-day calendar of the whole span, loaded once (``cases.deadlines.WorkCalendar``: the
        official calendar and the override table); deadlines follow ``confirmation_deadline`` and
        ``closing_deadline`` day by day, cached per day."""
        from eco12369.cases import deadlines

        start = dt.datetime.fromtimestamp(first, TZ).date() - dt.timedelta(days=2)
        end = self.end.astimezone(TZ).date() + dt.timedelta(days=200)
        self._calendar = deadlines.WorkCalendar(start, end)
        self._workdays: dict[dt.date, tuple[bool, bool]] = {}
        self._confirm: dict[int, tuple[float, bool]] = {}
        self._close: dict[tuple[int, int], tuple[float, bool]] = {}
        self._deadlines = deadlines
        self.confirm_days = int(deadlines.setting("CONFIRM_WORKING_DAYS"))
        self.close_days = int(deadlines.setting("CLOSE_DAYS"))
        self.fraction = float(deadlines.setting("DUE_SOON_FRACTION"))

    def _workday(self, day: dt.date) -> tuple[bool, bool]:
        """(is a working day, only provisionally known)."""
        hit = self._workdays.get(day)
        if hit is None:
            self._calendar.provisional = False
            hit = self._workdays[day] = (self._calendar.is_workday(day), self._calendar.provisional)
        return hit

    @staticmethod
    def _local_day(ts: float) -> int:
        return int((ts + 8 * HOUR) // DAY)  # Asia/Shanghai has had no summer time since 1991

    @staticmethod
    def _date(day: int) -> dt.date:
        return dt.date(1970, 1, 1) + dt.timedelta(days=day)

    def _day_text(self, ts: float) -> str:
        """The local date of ``ts`` as in case numbers (20260315)."""
        day = self._local_day(ts)
        text = self._day_texts.get(day)
        if text is None:
            text = self._day_texts[day] = self._date(day).strftime("%Y%m%d")
        return text

    def _local_texts(self, deadline: float) -> tuple[str, str]:
        """A deadline as the accept event's data holds it, and as the acceptance notice writes its date
        (cached: deadlines are the ends of days)."""
        hit = self._deadline_texts.get(deadline)
        if hit is None:
            local = dt.datetime.fromtimestamp(deadline, TZ)
            hit = self._deadline_texts[deadline] = (
                f'{{"close_due": "{local.isoformat()}"}}',
                f"{local:%Y年%m月%d日}",
            )
        return hit

    def confirm_due(self, ts: float) -> tuple[float, bool]:
        """Art. 7: the end of the 2nd working day after the day of receipt."""
        key = self._local_day(ts)
        hit = self._confirm.get(key)
        if hit is None:
            day, counted, provisional = self._date(key), 0, False
            while counted < self.confirm_days:
                day += dt.timedelta(days=1)
                workday, unsure = self._workday(day)
                provisional |= unsure
                counted += workday
            hit = self._confirm[key] = (self._deadlines.end_of(day).timestamp(), provisional)
        return hit

    def close_due(self, ts: float, extension_days: int) -> tuple[float, bool]:
        """Art. 12: 60 days (plus extensions) from acceptance, rolled to the next working day."""
        key = (self._local_day(ts), extension_days)
        hit = self._close.get(key)
        if hit is None:
            day = self._date(key[0]) + dt.timedelta(days=self.close_days + extension_days)
            workday, provisional = self._workday(day)
            while not workday:
                day += dt.timedelta(days=1)
                workday, unsure = self._workday(day)
                provisional |= unsure
            hit = self._close[key] = (self._deadlines.end_of(day).timestamp(), provisional)
        return hit

    # ------------------------------------------------------------------ reporters
    def _reporters(self) -> None:
        count = max(20, min(60000, self.n // 8))
        rng = random.Random(self.seed + 1)
        self.reporter_plain = []
        for _ in range(count):
            openid = "o" + "".join(rng.choice(OPENID_CHARS) for _ in range(27))
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
            self.reporter_plain.append((openid, name, phone))
        self.reporter_cipher: dict[tuple[int, int], str] = {}
        self.reporter_digest: dict[int, str] = {}
        self.reporter_last: dict[int, float] = {}

    def _cipher(self, who: int, part: int) -> str:
        from eco12369.crypto import encrypt

        key = (who, part)
        value = self.reporter_cipher.get(key)
        if value is None:
            value = self.reporter_cipher[key] = encrypt(self.reporter_plain[who][part])
        return value

    def _encrypt_reporters(self) -> None:
        """Every reporter's identity encrypted once, before the workers fork, by ``jobs`` processes: else
        each worker would encrypt (nearly) the whole pool again (~15 s of CPU a worker)."""
        import multiprocessing

        global _SEEDER
        _SEEDER = self
        step = max(1, len(self.reporter_plain) // (self.jobs * 4))
        chunks = [
            (lo, min(len(self.reporter_plain), lo + step)) for lo in range(0, len(self.reporter_plain), step)
        ]
        with multiprocessing.get_context("fork").Pool(self.jobs) as pool:
            for lo, values in pool.imap_unordered(_encrypt_chunk, chunks):
                for k, (ciphers, digest) in enumerate(values):
                    who = lo + k
                    for part, value in enumerate(ciphers):
                        self.reporter_cipher[(who, part)] = value
                    self.reporter_digest[who] = digest
        _SEEDER = None

    def _digest(self, who: int) -> str:
        from eco12369.crypto import blind_index

        value = self.reporter_digest.get(who)
        if value is None:
            value = self.reporter_digest[who] = blind_index(self.reporter_plain[who][0])
        return value

    # ------------------------------------------------------------------ time axis
    def _timestamps(self) -> list[float]:
        """N receipt moments over ``years`` up to ``end``, growing ~8 % a year, by hour-of-day weights."""
        rng = self.rng
        end = self.end.timestamp()
        span = self.years * 365.25
        g = math.log(1 + GROWTH) / 365.25
        scale = math.expm1(g * span)
        hour_pick = _weighted(rng, [(str(h), w) for h, w in enumerate(HOURS)])
        start_day = self._local_day(end - span * DAY)
        out = []
        for _ in range(self.n):
            x = math.log1p(rng.random() * scale) / g  # days since the start, density growing with time
            day = start_day + int(x)
            ts = day * DAY - 8 * HOUR + int(hour_pick()) * HOUR + rng.random() * HOUR
            if ts > end - 60:
                ts = end - 60 - rng.random() * 6 * HOUR
            out.append(ts)
        out.sort()
        return out

    # ------------------------------------------------------------------ the run
    def _models(self) -> list[Any]:
        from django.apps import apps

        from eco12369.cases.models import (
            Case,
            CaseEvent,
            CaseNumberSequence,
            Extension,
            Reply,
            SupervisionOrder,
        )
        from eco12369.notifications.models import OutboxMessage
        from eco12369.oversight.models import CaseFingerprint, CaseGram, DuplicateCandidate
        from eco12369.wechat.models import Conversation, InboundMessage

        models = [
            Case,
            CaseEvent,
            Reply,
            Extension,
            SupervisionOrder,
            CaseFingerprint,
            CaseGram,
            DuplicateCandidate,
            OutboxMessage,
            InboundMessage,
            Conversation,
            CaseNumberSequence,
        ]
        if apps.is_installed("eco12369.followup"):
            models.append(apps.get_model("followup", "Rating"))
        return models

    def run(self) -> Result:
        from django.db import connections, transaction

        from eco12369.cases.models import CaseNumberSequence

        t0 = time.perf_counter()
        conn = self.connection
        self.say(f"seed: {self.n:,} cases over {self.years:g} years on {conn.vendor}")
        with transaction.atomic():
            self._reference()
        self._reporters()
        self.say(f"seed: tokenising a pool of {self.pool_size:,} distinct reports (jieba) …")
        self.pool = report_pool(self.pool_size, self.seed)
        self.others = other_pool(self.rng)
        self.entries_by_district: dict[str, list[int]] = {}
        for idx, e in enumerate(self.pool):
            self.entries_by_district.setdefault(e.district, []).append(idx)
        models = self._models()
        self.labels = [m._meta.label for m in models]
        tables = {m._meta.label: Table(m, conn, COLUMNS[m._meta.label]) for m in models}
        if self.rebuild_indexes and tables["cases.Case"].next_id() != 1:
            self.say("seed: the cases table is not empty: indexes are kept (no --rebuild-indexes)")
            self.rebuild_indexes = False
        # Row ids follow from the case's index i, so slices of the run are independent: case base + i,
        # its k-th event base + i * 16 + k, and so on (ids have gaps; sequences are reset at the end).
        self.base = {label: table.next_id() for label, table in tables.items()}
        existing_days = dict(CaseNumberSequence.objects.values_list("day", "last"))
        day_base = {(d - dt.date(1970, 1, 1)).days: last for d, last in existing_days.items()}

        self.stamps = self._timestamps()
        self._deadline_caches(self.stamps[0] if self.stamps else self.end.timestamp())
        # Case numbers: the day's sequence, after what exists (the stamps are sorted).
        self.seqs: list[int] = []
        self.day_count: dict[int, int] = {}
        for ts in self.stamps:
            day = self._local_day(ts)
            count = self.day_count.get(day, 0) + 1
            self.day_count[day] = count
            self.seqs.append(day_base.get(day, 0) + count)
        self.day_base = day_base
        self.district_entries = [
            self.entries_by_district[name] for name in sorted(self.entries_by_district) if name
        ]
        self._day_texts: dict[int, str] = {}
        self._deadline_texts: dict[float, tuple[str, str]] = {}
        self.prefix = self._number_prefix()
        self.now = self.end.timestamp()

        dropped: list[tuple[str, str]] = []
        if self.rebuild_indexes:
            with conn.cursor() as cursor:
                dropped = self._drop_indexes(cursor, [m._meta.db_table for m in models])
        slices = [(i, min(self.n, i + self.slice_size)) for i in range(0, self.n, self.slice_size)]
        counts: dict[str, int] = dict.fromkeys(self.labels, 0)
        self.reporter_last = {}
        done = 0

        def merged(result: tuple[int, dict[str, int], dict[int, float]]) -> None:
            nonlocal done
            size, slice_counts, last = result
            done += size
            for label, count in slice_counts.items():
                counts[label] += count
            for who, ts in last.items():
                if ts > self.reporter_last.get(who, 0.0):
                    self.reporter_last[who] = ts
            elapsed = time.perf_counter() - t0
            rate = done / max(time.perf_counter() - copying, 1e-9)  # since the copy started
            self.say(
                f"seed: {done:>10,} / {self.n:,} cases  ({elapsed:,.0f}s; copy ETA {(self.n - done) / rate:,.0f}s)"
            )

        copying = time.perf_counter()
        if self.jobs > 1 and len(slices) > 1:
            import multiprocessing

            global _SEEDER
            started = time.perf_counter()
            connections.close_all()
            self._encrypt_reporters()
            self.say(
                f"seed: {len(self.reporter_plain):,} reporters encrypted in {time.perf_counter() - started:.0f}s"
            )
            copying = time.perf_counter()
            _SEEDER = self
            connections.close_all()  # each worker opens its own connection
            with multiprocessing.get_context("fork").Pool(self.jobs) as pool:
                for result in pool.imap_unordered(_seed_slice, slices):
                    merged(result)
            _SEEDER = None
        else:
            for bounds in slices:
                merged(self.run_slice(bounds))
        with transaction.atomic():
            counts["wechat.Conversation"] += self._conversations(tables["wechat.Conversation"])
            counts["cases.CaseNumberSequence"] += self._sequences(tables["cases.CaseNumberSequence"])
        if self.rebuild_indexes:
            self._finish(
                dropped, [m._meta.db_table for m in models], [("rollups", self.tail)] if self.tail else []
            )
            self.tail = None
        self._reset_sequences(models)
        seconds = time.perf_counter() - t0
        self.say(
            f"seed: done in {seconds:.0f}s: "
            + ", ".join(f"{label.split('.')[-1]} {count:,}" for label, count in counts.items())
        )
        return Result(
            cases=self.n,
            seconds=seconds,
            rows=counts,
            first_case_id=self.base["cases.Case"],
            last_case_id=self.base["cases.Case"] + self.n - 1,
            start=dt.datetime.fromtimestamp(self.stamps[0], TZ) if self.stamps else self.end,
            end=self.end,
            vacuumed=self.vacuumed,
        )

    def run_slice(self, bounds: tuple[int, int]) -> tuple[int, dict[str, int], dict[int, float]]:
        """Cases ``bounds[0]`` to ``bounds[1] - 1`` (in time order), written in batches."""
        from django.db import connection, transaction

        start, stop = bounds
        self.connection = connection
        self.rng = random.Random(self.seed * 1_000_003 + start)
        self.pick_kind = _weighted(self.rng, KINDS)
        self.pick_channel = _weighted(self.rng, CHANNELS)
        self.pick_path = _weighted(self.rng, PATHS)
        self.t = {m._meta.label: Table(m, connection, COLUMNS[m._meta.label]) for m in self._models()}
        self.rating = self.t.get("followup.Rating")
        # Each case's own query code (a stream of its own: the other draws stay those of a given seed).
        self.pick_code = random.Random(self.seed * 7_000_003 + start).choices
        from eco12369.oversight.duplicate_scoring import cell_key, grid_cell

        self.cell_key, self.grid_cell = cell_key, grid_cell
        self.last_by_entry: dict[int, tuple[int, str, float]] = {}
        self.slice_last: dict[int, float] = {}
        pg = connection.vendor == "postgresql"
        self.moment: Callable[[float], Any] = _pg_moment if pg else float
        # PostgreSQL: fingerprints, look-up bigrams and the callback's records are written by SQL from the
        # cases just copied (``_derived_rows``), not row by row from Python.
        self.sql_rows = pg and self.sql_rows_allowed
        with connection.cursor() as cursor:
            if pg:
                cursor.execute("SET synchronous_commit = off")
                self._pool_table(cursor)
                if self.rebuild_indexes:
                    try:
                        with transaction.atomic():
                            cursor.execute("SET session_replication_role = replica")
                    except Exception:
                        self.say("seed: not a superuser: foreign keys are checked while copying")
            elif not connection.in_atomic_block:
                cursor.execute("PRAGMA synchronous = OFF")
        t0 = time.perf_counter()
        generating = 0.0
        try:
            for offset in range(start, stop, self.batch):
                with transaction.atomic():
                    t1 = time.perf_counter()
                    for i in range(offset, min(stop, offset + self.batch)):
                        self._case(i, self.stamps[i])
                    generating += time.perf_counter() - t1
                    for table in self.t.values():
                        table.flush()
                    if self.sql_rows:
                        self._derived_rows(offset, min(stop, offset + self.batch))
        finally:
            with connection.cursor() as cursor:
                if pg:
                    if self.rebuild_indexes:
                        try:
                            with transaction.atomic():
                                cursor.execute("SET session_replication_role = DEFAULT")
                        except Exception:
                            self.say("seed: could not reset session_replication_role")
                    cursor.execute("SET synchronous_commit = DEFAULT")
                elif not connection.in_atomic_block:
                    cursor.execute("PRAGMA synchronous = NORMAL")
        counts = {label: table.count for label, table in self.t.items()}
        if os.environ.get("ECO_SEED_DEBUG"):
            total = time.perf_counter() - t0
            self.say(
                f"seed: slice {start:,}-{stop:,}: {total:.1f}s, generating {generating:.1f}s (pid {os.getpid()})"
            )
        return stop - start, counts, self.slice_last

    def _pool_table(self, cursor: Any) -> None:
        """PostgreSQL: the report pool with what the duplicate finder derived from each report, in a
        temporary table of the worker's connection (filled once per connection). A case finds its report
        by what it copied from it (kind, category, party, address, description), which determines the rest."""
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS seed_pool (kind text, category text, party text, address text, "
            "description text, party_key text, street_key text, tokens text, concepts text, problems text, "
            "grams text[])"
        )
        cursor.execute("SELECT EXISTS (SELECT 1 FROM seed_pool)")
        if cursor.fetchone()[0]:
            return
        rows: dict[tuple[str, ...], Entry] = {}
        for e in [*self.pool, *(e for entries in self.others.values() for e in entries)]:
            rows.setdefault((e.kind, e.category, e.party, e.address, e.description), e)
        with cursor.cursor.copy("COPY seed_pool FROM STDIN") as copy:
            for key, e in rows.items():
                copy.write_row((*key, e.party_key, e.street_key, e.tokens, e.concepts, e.problems, e.grams))
        cursor.execute("ANALYZE seed_pool")

    def _derived_rows(self, start: int, stop: int) -> None:
        """PostgreSQL: the rows that follow from cases ``start`` to ``stop - 1`` alone, by ``INSERT …
        SELECT`` from those cases and the pool (``_pool_table``), with the ids and values ``_case`` gives
        them on SQLite: the fingerprint (its grid cell as ``duplicate_scoring.grid_cell`` computes it, in
        double precision), the look-up bigrams, and for a WeChat chat's case the callback's record of its
        "提交" and the acknowledgement it answered."""
        from eco12369.oversight.duplicate_scoring import GRID_DEG

        case_base = self.base["cases.Case"]
        low, high = case_base + start, case_base + stop - 1
        joined = (
            "FROM cases_case c JOIN seed_pool p ON p.kind = c.kind AND p.category = c.category "
            "AND p.party = c.reported_party AND p.address = c.address AND p.description = c.description "
            "WHERE c.id BETWEEN %(low)s AND %(high)s"
        )
        head, middle, tail = ACK.split("{number}")
        params: dict[str, Any] = {
            "low": low,
            "high": high,
            "case_base": case_base,
            "grid": GRID_DEG,
            "gram_base": self.base["oversight.CaseGram"],
            "per_case": PER_CASE["oversight.CaseGram"],
            "msg_base": self.base["wechat.InboundMessage"],
            "msg_id": MSG_ID_BASE,
            "head": head,
            "middle": middle,
            "tail": tail,
        }
        statements = {
            "oversight.CaseFingerprint": (
                "INSERT INTO oversight_casefingerprint (case_id, party_key, street_key, geo_cell, received_at, "
                "tokens, concepts, problems, tokenized) "
                "SELECT c.id, p.party_key, p.street_key, CASE WHEN c.latitude IS NULL OR c.longitude IS NULL "
                "THEN '' ELSE floor(c.latitude::float8 / %(grid)s)::bigint || ':' || "
                "floor(c.longitude::float8 / %(grid)s)::bigint END, c.received_at, p.tokens, p.concepts, "
                f"p.problems, true {joined}"
            ),
            "oversight.CaseGram": (
                "INSERT INTO oversight_casegram (id, case_id, gram, received_at) "
                "SELECT %(gram_base)s + (c.id - %(case_base)s) * %(per_case)s + g.k - 1, c.id, g.gram, "
                f"c.received_at {joined.replace('WHERE', 'CROSS JOIN LATERAL unnest(p.grams) WITH ORDINALITY AS g(gram, k) WHERE')}"
            ),
            "wechat.InboundMessage": (
                "INSERT INTO wechat_inboundmessage (id, dedupe_key, openid_digest, msg_type, event, msg_id, "
                "content, wechat_created_at, received_at, status, reply_text, case_id, raw) "
                "SELECT %(msg_base)s + (c.id - %(case_base)s), 'msg:' || (%(msg_id)s + c.id), "
                "c.reporter_openid_digest, 'text', '', (%(msg_id)s + c.id)::text, '提交', c.received_at, "
                "c.received_at, 'processed', %(head)s || c.number || %(middle)s || c.number || %(tail)s, c.id, '' "
                "FROM cases_case c WHERE c.id BETWEEN %(low)s AND %(high)s AND c.channel = 'wechat_chat' "
                "AND c.reporter_openid_digest <> ''"
            ),
        }
        # The outbox (``_case`` on SQLite): the acknowledgement, the acceptance notice (the day to close by
        # as the accept event's data holds it, before any extension) and the closing notice (with the
        # case's last reply), for every case of a WeChat reporter.
        params.update(
            outbox_base=self.base["notifications.OutboxMessage"],
            outbox_per_case=PER_CASE["notifications.OutboxMessage"],
            event_base=self.base["cases.CaseEvent"],
            event_per_case=PER_CASE["cases.CaseEvent"],
            reply_base=self.base["cases.Reply"],
            reply_per_case=PER_CASE["cases.Reply"],
            passive=PASSIVE_REASON,
            due_format='YYYY"年"MM"月"DD"日"',
        )
        outbox = (
            "INSERT INTO wechat_outboxmessage (id, case_id, reply_id, openid, openid_digest, template, text, "
            "status, channel, channel_reason, attempts, next_attempt_at, claim_token, claimed_at, last_error, "
            "created_at, sent_at) SELECT %(outbox_base)s + (c.id - %(case_base)s) * %(outbox_per_case)s + {k}, "
            "c.id, {reply}, c.reporter_openid, c.reporter_openid_digest, {template}, {text}, 'sent', {channel}, "
            "{reason}, 1, NULL, '', NULL, '', {at} + interval '{created} seconds', {at} + interval '{sent} seconds' "
            "FROM cases_case c {join} WHERE c.id BETWEEN %(low)s AND %(high)s AND c.reporter_openid_digest <> '' "
            "AND {where}"
        )
        chat = "c.channel = 'wechat_chat'"
        final = " ".join(f"WHEN '{path}' THEN '{template}'" for path, template in FINAL_TEMPLATE.items())
        statements["notifications.OutboxMessage"] = outbox.format(
            k=0,
            reply="NULL",
            template="'acknowledged'",
            text=_sql_text(ACK, {"number": "c.number"}, params, "ack"),
            channel=f"CASE WHEN {chat} THEN 'passive' ELSE 'custom' END",
            reason=f"CASE WHEN {chat} THEN %(passive)s ELSE '' END",
            at="c.received_at",
            created=1,
            sent=2,
            join="",
            where="true",
        )
        statements["notifications.OutboxMessage accepted"] = outbox.format(
            k=1,
            reply="NULL",
            template="'accepted'",
            text=_sql_text(
                ACCEPTED,
                {
                    "number": "c.number",
                    "agency": "a.name",
                    "due": "to_char((e.data ->> 'close_due')::timestamptz AT TIME ZONE 'Asia/Shanghai', "
                    "%(due_format)s)",
                },
                params,
                "accepted",
            ),
            channel="CASE WHEN c.confirmed_at - c.received_at < interval '2 days' THEN 'custom' "
            "ELSE 'subscribe' END",
            reason="''",
            at="c.confirmed_at",
            created=60,
            sent=62,
            join="JOIN orgs_agency a ON a.id = c.agency_id JOIN cases_caseevent e "
            "ON e.id = %(event_base)s + (c.id - %(case_base)s) * %(event_per_case)s + 1",  # the accept event
            where="c.accepted_at IS NOT NULL",
        )
        statements["notifications.OutboxMessage closed"] = outbox.format(
            k=2,
            reply="r.last",
            template=f"CASE c.outcome {final} END",
            text=_sql_text(CLOSED, {"number": "c.number"}, params, "closed"),
            channel="'subscribe'",
            reason="''",
            at="c.closed_at",
            created=5,
            sent=7,
            join="LEFT JOIN LATERAL (SELECT max(r.id) AS last FROM cases_reply r WHERE r.id BETWEEN "
            "%(reply_base)s + (c.id - %(case_base)s) * %(reply_per_case)s AND "
            "%(reply_base)s + (c.id - %(case_base)s) * %(reply_per_case)s + %(reply_per_case)s - 1) r ON true",
            where="c.state = 'closed'",
        )
        with self.connection.cursor() as cursor:
            for label, sql in statements.items():
                cursor.execute(sql, params)
                self.t[label.split()[0]].count += cursor.rowcount

    def _number_prefix(self) -> str:
        from django.conf import settings

        return str(settings.ECO["CASE_NUMBER_PREFIX"])

    def _id(self, label: str, i: int, k: int = 0) -> int:
        """The id of the k-th row of table ``label`` that belongs to the i-th case of the run."""
        return self.base[label] + i * PER_CASE.get(label, 1) + k

    @staticmethod
    def _dt(ts: float) -> float:
        """Moments stay POSIX seconds in the rows; ``Table`` writes them as timestamps."""
        return ts

    def _case(self, i: int, ts: float) -> None:
        """One case and everything its life so far left in the database (see the module docstring)."""
        cell_key, grid_cell = self.cell_key, self.grid_cell
        rng = self.rng
        random_ = rng.random
        uniform = rng.uniform
        now = self.now
        t = self.t
        kind = self.pick_kind()
        city_owned = random_() < CITY_SHARE
        if kind == "report":
            if city_owned:
                entry_idx = rng.randrange(len(self.pool))
            else:
                pool = self.district_entries[rng.randrange(len(self.district_entries))]
                entry_idx = pool[rng.randrange(len(pool))]
            entry = self.pool[entry_idx]
        else:
            entry_idx = -1
            entry = rng.choice(self.others[kind])
        if city_owned:
            owner = self.owners[self.centre.pk]
        elif entry.district:
            owner = self.owner_by_district[entry.district]
        else:
            owner = self.owners_list[rng.randrange(len(self.owners_list))]
        staff = owner.staff
        case_id = self.base["cases.Case"] + i
        number = f"{self.prefix}{self._day_text(ts)}{self.seqs[i]:06d}"
        ts_m = self.moment(ts)  # formatted once, written in several rows
        channel = self.pick_channel()
        lat = lon = None
        if entry.lat is not None and entry.lon is not None:
            lat = round(entry.lat + uniform(-0.0012, 0.0012), 6)
            lon = round(entry.lon + uniform(-0.0015, 0.0015), 6)
        confirm_due, provisional = self.confirm_due(ts)

        # --- who reported (encrypted with eco12369.crypto; see the module docstring)
        anonymous = random_() < ANONYMOUS
        name = phone = openid_cipher = digest = openid = ""
        who = -1
        if not anonymous:
            who = rng.randrange(len(self.reporter_plain))
            if channel == "wechat_chat" or channel == "wechat_h5":
                openid = self.reporter_plain[who][0]
                openid_cipher, digest = self._cipher(who, 0), self._digest(who)
                if channel == "wechat_h5":
                    if random_() < 0.4:
                        name = self._cipher(who, 1)
                    if random_() < 0.6:
                        phone = self._cipher(who, 2)
            else:
                phone = self._cipher(who, 2)
                if random_() < 0.6:
                    name = self._cipher(who, 1)

        # --- the path and its steps: (moment, action, from state, to state, actor, event data JSON)
        path = self.pick_path() if kind == "report" else "answered"
        original: tuple[int, str, float] | None = None
        if path == "duplicate":
            original = self.last_by_entry.get(entry_idx)
            if original is None or ts - original[2] > 30 * DAY:
                path, original = "handled", None
        if entry_idx >= 0 and path != "duplicate":
            self.last_by_entry[entry_idx] = (case_id, number, ts)
        if random_() < LATE_CONFIRM:
            confirm_at = confirm_due + uniform(0.05, 2.5) * DAY
        else:
            confirm_at = ts + (confirm_due - ts) * uniform(0.02, 0.9)
        steps: list[tuple[float, str, str, str, int | None, str]] = [
            (ts, "receive", "", "received", None, owner.receive_json)
        ]
        department = owner.department_for[entry.category]
        handler = staff.handlers.get(department)
        extension_days = 0
        accepted_at = None
        handover = None
        if path == "handled":
            accepted_at = confirm_at
            if random_() < EXTENDED:
                extension_days = rng.choice((10, 15, 30))
            base_due = self.close_due(accepted_at, 0)[0]
            close_due = self.close_due(accepted_at, extension_days)[0]
            steps.append(
                (
                    confirm_at,
                    "accept",
                    "received",
                    "accepted",
                    staff.operator,
                    self._local_texts(base_due)[0],
                )
            )
            assign_at = confirm_at + uniform(0.05, 2.0) * DAY
            steps.append(
                (
                    assign_at,
                    "assign",
                    "accepted",
                    "handling",
                    staff.operator,
                    owner.department_json[department],
                )
            )
            budget = base_due - assign_at
            if extension_days:
                extension_at = assign_at + budget * uniform(0.4, 0.8)
                ext_id = self.base["cases.Extension"] + i
                steps.append(
                    (
                        extension_at,
                        "request_extension",
                        "handling",
                        "handling",
                        handler,
                        f'{{"extension": {ext_id}, "days": {extension_days}}}',
                    )
                )
                steps.append(
                    (
                        extension_at + uniform(0.1, 1.5) * DAY,
                        "decide_extension",
                        "handling",
                        "handling",
                        staff.head,
                        f'{{"extension": {ext_id}, "approved": true, "days": {extension_days}}}',
                    )
                )
                reply_at = assign_at + (close_due - assign_at) * uniform(0.6, 0.93)
            else:
                reply_at = assign_at + budget * rng.betavariate(2.0, 2.5) * 0.97
                if random_() < 0.03:
                    reply_at = base_due + uniform(0.5, 10) * DAY  # closed late
            steps.append((reply_at, "submit_reply", "handling", "in_review", handler, ""))
            review_at = reply_at + uniform(0.05, 2.0) * DAY
            if random_() < RETURNED:
                steps.append((review_at, "return", "in_review", "handling", staff.reviewer, ""))
                reply_at = review_at + uniform(0.5, 4.0) * DAY
                steps.append((reply_at, "submit_reply", "handling", "in_review", handler, ""))
                review_at = reply_at + uniform(0.05, 1.5) * DAY
            steps.append((review_at, "approve", "in_review", "closed", staff.reviewer, ""))
        elif path == "answered" or path == "handed_over":
            data = ""
            if path == "handed_over":
                handover = self.outside[rng.randrange(len(self.outside))]
                data = f'"handover_agency": "{handover[1]}", '
            steps.append(
                (
                    confirm_at,
                    "answer" if path == "answered" else "hand_over",
                    "received",
                    "in_review",
                    staff.operator,
                    data,
                )
            )
            steps.append(
                (confirm_at + uniform(0.05, 1.5) * DAY, "approve", "in_review", "closed", staff.reviewer, "")
            )
        else:
            assert original is not None
            steps.append(
                (
                    confirm_at,
                    "mark_duplicate",
                    "received",
                    "closed",
                    staff.operator,
                    f'{{"duplicate_of": "{original[1]}"}}',
                )
            )
        # A few recent cases stop at some step: overdue, waiting on the supervision lists.
        if now - ts < 200 * DAY and random_() < STUCK:
            steps = steps[: rng.randrange(1, len(steps))]
        passed = [s for s in steps if s[0] <= now]
        last = passed[-1]
        state = last[3]
        actions = {s[1] for s in passed}

        # --- the case row (deadline fields as workflow.refresh_deadline_fields keeps them)
        confirmed_at = passed[1][0] if len(passed) > 1 else None
        is_accepted = "accept" in actions
        approved_ext = extension_days if "decide_extension" in actions else 0
        close_due_ts = self.close_due(accepted_at, approved_ext)[0] if is_accepted and accepted_at else None
        closed = state == "closed"
        closed_at = last[0] if closed else None
        if closed:
            due_at = warn_at = None
        elif close_due_ts is not None and accepted_at is not None:
            due_at = close_due_ts
            warn_at = self.warn_moment(accepted_at, due_at)
        else:
            due_at = confirm_due
            warn_at = self.warn_moment(ts, due_at)
        t["cases.Case"].add(
            case_id,
            number,
            channel,
            kind,
            entry.category if kind == "report" else "other",
            state,
            path if closed else "",
            owner.region_id,
            owner.agency_id,
            department if "assign" in actions else None,
            handover[0] if handover is not None and "hand_over" in actions else None,
            original[0] if original is not None and closed else None,
            entry.party,
            entry.address,
            lat,
            lon,
            ts - uniform(0.5, 48) * HOUR if random_() < 0.3 else None,
            entry.description,
            name,
            phone,
            openid_cipher,
            digest,
            anonymous,
            ts_m,
            confirm_due,
            confirmed_at,
            accepted_at if is_accepted else None,
            close_due_ts,
            approved_ext,
            closed_at,
            due_at,
            warn_at,
            provisional,
            ts_m,
            last[0],
            "".join(self.pick_code(QUERY_CODE_ALPHABET, k=QUERY_CODE_LENGTH)),
        )
        # --- the duplicate finder's fingerprint (the keys of oversight.duplicates.fingerprint_values) and
        # its look-up bigrams: on PostgreSQL written by SQL from the batch's cases (``_derived_rows``)
        if not self.sql_rows:
            t["oversight.CaseFingerprint"].add(
                case_id,
                entry.party_key,
                entry.street_key,
                cell_key(grid_cell(lat, lon)) if lat is not None and lon is not None else "",
                ts_m,
                entry.tokens,
                entry.concepts,
                entry.problems,
                True,
            )
            gram_base = self.base["oversight.CaseGram"] + i * PER_CASE["oversight.CaseGram"]
            add_gram = t["oversight.CaseGram"].add
            for k, gram in enumerate(entry.grams):
                add_gram(gram_base + k, case_id, gram, ts_m)
        if original is not None and closed:
            t["oversight.DuplicateCandidate"].add(
                self.base["oversight.DuplicateCandidate"] + i,
                case_id,
                original[0],
                round(uniform(0.6, 0.95), 4),
                1.0 if entry.party_key else None,
                round(uniform(0.7, 1.0), 4),
                round(uniform(0.6, 1.0), 4),
                round(uniform(0, 300), 1) if lat is not None else None,
                ts + 30,
            )

        # --- timeline, replies, extensions
        add_event = t["cases.CaseEvent"].add
        event_base = self.base["cases.CaseEvent"] + i * PER_CASE["cases.CaseEvent"]
        reply_base = self.base["cases.Reply"] + i * PER_CASE["cases.Reply"]
        reply_ids: list[int] = []
        n_events = 0
        for pos, (at, action, from_state, to_state, actor, data) in enumerate(passed):
            note = ""
            if action == "receive":
                note = self.receive_note[channel]
            elif action in ("submit_reply", "answer", "hand_over"):
                reply_id = reply_base + len(reply_ids)
                reply_ids.append(reply_id)
                data = "{" + data + f'"reply": {reply_id}}}'
                review = next((s for s in passed[pos + 1 :] if s[1] in ("return", "approve")), None)
                self._reply(reply_id, case_id, action, entry, at, actor, handover, review)
            elif action == "return":
                data = f'{{"reply": {reply_ids[-1]}}}'
                note = RETURN_NOTE
            elif action == "approve":
                data = f'{{"reply": {reply_ids[-1]}, "outcome": "{path}"}}'
            elif action == "request_extension":
                decided = next((s[0] for s in passed if s[1] == "decide_extension"), None)
                t["cases.Extension"].add(
                    self.base["cases.Extension"] + i,
                    case_id,
                    extension_days,
                    rng.choice(EXTENSION_REASONS),
                    "approved" if decided is not None else "pending",
                    actor,
                    at,
                    staff.head if decided is not None else None,
                    decided,
                    "同意" if decided is not None else "",
                )
                note = "申请延期"
            add_event(
                event_base + n_events,
                case_id,
                action,
                actor,
                None if actor is None else owner.agency_id,
                at if pos else ts_m,
                from_state,
                to_state,
                note,
                data or "{}",
            )
            n_events += 1
        # Stuck open cases past their deadline: the city centre supervises some of them.
        if not closed and due_at is not None and due_at + 3 * DAY < now and random_() < 0.5:
            issued = due_at + uniform(1, 3) * DAY
            order_id = self.base["cases.SupervisionOrder"] + i
            answered = random_() < 0.5 and issued + DAY < now
            answer_due = dt.datetime.fromtimestamp(issued + 7 * DAY, TZ).date()
            centre = self.owners[self.centre.pk]
            t["cases.SupervisionOrder"].add(
                order_id,
                case_id,
                centre.staff.operator,
                issued,
                "该件已超期，请加快办理并于期限内报告办理情况。",
                answer_due,
                "已督促承办部门加快办理。" if answered else "",
                staff.operator if answered else None,
                issued + DAY if answered else None,
            )
            add_event(
                event_base + n_events,
                case_id,
                "supervise",
                centre.staff.operator,
                centre.agency_id,
                issued,
                state,
                state,
                "该件已超期，请加快办理并于期限内报告办理情况。",
                f'{{"order": {order_id}, "answer_due": "{answer_due.isoformat()}"}}',
            )
            n_events += 1
            if answered:
                add_event(
                    event_base + n_events,
                    case_id,
                    "answer_supervision",
                    staff.operator,
                    owner.agency_id,
                    issued + DAY,
                    state,
                    state,
                    "已督促承办部门加快办理。",
                    f'{{"order": {order_id}}}',
                )

        # --- WeChat: outbox (sent), the callback's record, ratings
        if not openid:
            return
        if ts > self.slice_last.get(who, 0.0):
            self.slice_last[who] = ts
        chat = channel == "wechat_chat"
        if self.sql_rows:  # the outbox and the callback's record: ``_derived_rows``
            self._rating(i, case_id, closed, closed_at)
            return
        add_outbox = t["notifications.OutboxMessage"].add
        outbox_base = self.base["notifications.OutboxMessage"] + i * PER_CASE["notifications.OutboxMessage"]
        ack = ACK.format(number=number)
        add_outbox(
            outbox_base,
            case_id,
            None,
            openid_cipher,
            digest,
            "acknowledged",
            ack,
            "sent",
            "passive" if chat else "custom",
            PASSIVE_REASON if chat else "",
            1,
            ts + 1,
            ts + 2,
        )
        if is_accepted and accepted_at is not None:
            due_day = self._local_texts(self.close_due(accepted_at, 0)[0])[1]
            add_outbox(
                outbox_base + 1,
                case_id,
                None,
                openid_cipher,
                digest,
                "accepted",
                ACCEPTED.format(number=number, agency=owner.agency_name, due=due_day),
                "sent",
                "custom" if confirm_at - ts < 2 * DAY else "subscribe",
                "",
                1,
                confirm_at + 60,
                confirm_at + 62,
            )
        if closed and closed_at is not None:
            add_outbox(
                outbox_base + 2,
                case_id,
                reply_ids[-1] if reply_ids else None,
                openid_cipher,
                digest,
                FINAL_TEMPLATE[path],
                CLOSED.format(number=number),
                "sent",
                "subscribe",
                "",
                1,
                closed_at + 5,
                closed_at + 7,
            )
        if chat:
            msg_id = MSG_ID_BASE + case_id
            t["wechat.InboundMessage"].add(
                self.base["wechat.InboundMessage"] + i,
                f"msg:{msg_id}",
                digest,
                "text",
                str(msg_id),
                "提交",
                ts_m,
                ts_m,
                "processed",
                ack,
                case_id,
            )
        self._rating(i, case_id, closed, closed_at)

    def _rating(self, i: int, case_id: int, closed: bool, closed_at: float | None) -> None:
        """The reporter's satisfaction rating of a closed case (some of them)."""
        rng, random_, uniform, now = self.rng, self.rng.random, self.rng.uniform, self.now
        if closed and closed_at is not None and self.rating is not None and random_() < RATED:
            rated_at = closed_at + uniform(0.02, 10) * DAY
            if rated_at <= now:
                level = rng.choices(("satisfied", "basic", "unsatisfied"), (70, 20, 10))[0]
                review_state = ""
                if level == "unsatisfied":
                    review_state = "pending" if now - rated_at < 20 * DAY else "dismissed"
                dismissed = review_state == "dismissed"
                self.rating.add(
                    self.base["followup.Rating"] + i,
                    case_id,
                    case_id,  # one rating per seeded case: its latest
                    level,
                    "问题依然存在。" if level == "unsatisfied" else "",
                    "wechat_chat",
                    rated_at,
                    closed_at,
                    review_state,
                    self.owners[self.centre.pk].staff.reviewer if dismissed else None,
                    rated_at + 5 * DAY if dismissed else None,
                    "已核实，办理符合规定。" if dismissed else "",
                )

    def _reply(
        self,
        reply_id: int,
        case_id: int,
        action: str,
        entry: Entry,
        at: float,
        actor: int | None,
        handover: tuple[int, str] | None,
        review: tuple[float, str, str, str, int | None, str] | None,
    ) -> None:
        """A reply as submitted, and as reviewed when the review step has passed."""
        rng = self.rng
        status, reviewed_by, reviewed_at, review_note = "submitted", None, None, ""
        if review is not None:
            status = "approved" if review[1] == "approve" else "returned"
            reviewed_by, reviewed_at = review[4], review[0]
            review_note = "同意" if status == "approved" else RETURN_NOTE
        parts = ("", "", "", "", "")
        text = ""
        if action == "submit_reply":
            kind, return_state = "handling", "handling"
            found = rng.random() < SUBSTANTIATED
            parts = (
                f"{entry.party or '被举报单位'}位于{entry.address or '辖区内'}，已办理环评审批手续。",
                rng.choice(INSPECTIONS),
                rng.choice(VIOLATIONS_FOUND if found else VIOLATIONS_NONE),
                rng.choice(DECISIONS_FOUND if found else DECISIONS_NONE),
                rng.choice(COMMUNICATIONS),
            )
        elif action == "answer":
            kind, return_state, text = "answer", "received", rng.choice(ANSWERS)
        else:
            kind, return_state = "handover", "received"
            text = f"{HANDOVER_TEXT}（{handover[1] if handover else ''}）"
        self.t["cases.Reply"].add(
            reply_id,
            case_id,
            kind,
            status,
            return_state,
            *parts,
            text,
            actor,
            at,
            reviewed_by,
            reviewed_at,
            review_note,
        )

    # ------------------------------------------------------------------ end of the run
    def _conversations(self, table: Table) -> int:
        """One ``Conversation`` per WeChat reporter (the chat's state, the 48-hour window)."""
        from eco12369.wechat.models import Conversation

        existing = set(Conversation.objects.values_list("openid_digest", flat=True))
        next_id = table.next_id()
        for who, last in sorted(self.reporter_last.items()):
            digest = self._digest(who)
            if digest in existing:
                continue
            table.add(next_id, self._cipher(who, 0), digest, "idle", True, who % 3 != 0, last, "", "", last)
            next_id += 1
        table.flush()
        return table.count

    def _sequences(self, table: Table) -> int:
        """The daily case-number counters, so ``case_create`` continues after the seeded numbers."""
        from eco12369.cases.models import CaseNumberSequence

        next_id = table.next_id()
        for day, count in sorted(self.day_count.items()):
            if day in self.day_base:
                CaseNumberSequence.objects.filter(day=self._date(day)).update(last=self.day_base[day] + count)
                continue
            table.add(next_id, self._date(day), count)
            next_id += 1
        table.flush()
        return table.count

    def _drop_indexes(self, cursor: Any, tables: list[str]) -> list[tuple[str, str]]:
        """Secondary indexes of the seeded tables (not those behind primary keys or unique constraints)."""
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
              AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c JOIN pg_class ic ON ic.oid = c.conindid
                WHERE ic.relname = i.indexname)
            """,
            [tables],
        )
        found = [(name, definition) for name, definition in cursor.fetchall()]
        for name, _ in found:
            cursor.execute(f'DROP INDEX "{name}"')
        self.say(f"seed: dropped {len(found)} secondary indexes; they are built again after the copy")
        return found

    def _finish(
        self, indexes: list[tuple[str, str]], tables: list[str], extra: list[tuple[str, Callable[[], Any]]]
    ) -> None:
        """PostgreSQL, after the copy: each seeded table vacuumed (before its indexes exist: its pages are
        read once to set hint bits and the visibility map, and no index is scanned), the dropped indexes built
        again, each table analysed once its indexes exist (their expressions get statistics), and ``extra``
        (the dashboard's rollups), all as one pool of ``index_jobs`` connections. A connection takes the ready
        step (its table vacuumed, for an index; its indexes built, for ANALYZE) that heads the longest chain
        of work still to do, so the slowest build (the description's bigrams) starts first and the two cores
        stay busy to the end. Each connection sets its own ``maintenance_work_mem`` (more for GIN builds,
        which flush their accumulated keys each time it fills) and builds with no parallel workers (the
        steps are the parallelism)."""
        import threading

        from django.db import connections

        t0 = time.perf_counter()
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c "
                "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'"
            )
            size = {name: int(n) for name, n in cursor.fetchall()}
        table_of = re.compile(r" ON (?:ONLY )?(?:[\w.]+\.)?\"?(\w+)\"? ")
        # Rough costs, in seconds per byte of the table's heap relative to each other (measured at 1M-2M
        # cases): a B-tree reads the heap and sorts its keys; the character pairs of a long text (the
        # description) cost the most, those of the short ones (party, address) less.
        cost = {
            "vacuum": 0.05,
            "analyze": 0.01,
            "btree": 0.15,
            "gin": 0.3,
            "gin description": 1.0,
            "rollups": 0.3,
        }
        steps: dict[str, _Step] = {}
        for table in tables:
            steps[f"vacuum {table}"] = _Step(f'VACUUM "{table}"', cost["vacuum"] * size.get(table, 0) + 1e5)
        by_table: dict[str, list[str]] = {}
        for name, definition in indexes:
            found = table_of.search(definition)
            table = found.group(1) if found else ""
            gin = " USING gin " in definition
            after = {f"vacuum {table}"} if f"vacuum {table}" in steps else set()
            kind = ("gin description" if "(description)" in definition else "gin") if gin else "btree"
            steps[f"index {name}"] = _Step(definition, cost[kind] * size.get(table, 0) + 1e5, after, gin)
            by_table.setdefault(table, []).append(f"index {name}")
        for table in tables:
            steps[f"analyze {table}"] = _Step(
                f'ANALYZE "{table}"', cost["analyze"] * size.get(table, 0) + 1e5, set(by_table.get(table, []))
            )
        for name, run in extra:
            steps[name] = _Step(run, cost["rollups"] * size.get("cases_case", 0) + 1e5)
        # The longest chain of work that starts with each step (its own weight and its heaviest follower's).
        followers: dict[str, list[str]] = {name: [] for name in steps}
        for name, step in steps.items():
            for before in step.after:
                followers[before].append(name)
        chain: dict[str, float] = {}

        def longest(name: str) -> float:
            if name not in chain:
                chain[name] = steps[name].weight + max((longest(f) for f in followers[name]), default=0.0)
            return chain[name]

        for name in steps:
            longest(name)
        total = sum(step.weight for step in steps.values())
        state = threading.Condition()
        pending, done = set(steps), set[str]()
        failed: list[BaseException] = []
        took: list[tuple[float, str]] = []
        weight_done = 0.0

        def work() -> None:
            nonlocal weight_done
            # A thread of its own: Django gives it its own connection, closed when done.
            try:
                with connections["default"].cursor() as cursor:
                    cursor.execute(f"SET maintenance_work_mem = '{self.index_memory}'")
                    cursor.execute("SET max_parallel_maintenance_workers = 0")
                    while True:
                        with state:
                            while True:
                                ready = [n for n in pending if steps[n].after <= done]
                                if failed or (not ready and not pending):
                                    return
                                if ready:
                                    name = max(ready, key=lambda n: (chain[n], n))
                                    pending.remove(name)
                                    break
                                state.wait()
                        step = steps[name]
                        started = time.perf_counter()
                        try:
                            if callable(step.run):
                                step.run()
                            elif step.gin:
                                cursor.execute(f"SET maintenance_work_mem = '{self.gin_memory}'")
                                cursor.execute(step.run)
                                cursor.execute(f"SET maintenance_work_mem = '{self.index_memory}'")
                            else:
                                cursor.execute(step.run)
                        except BaseException as error:
                            with state:
                                failed.append(error)
                                state.notify_all()
                            raise
                        seconds = time.perf_counter() - started
                        with state:
                            done.add(name)
                            took.append((seconds, name))
                            weight_done += step.weight
                            state.notify_all()
                            count, share = len(done), weight_done / total
                        if seconds >= 2:
                            elapsed = time.perf_counter() - t0
                            self.say(
                                f"seed: {count}/{len(steps)} finishing steps done ({name}: {seconds:.0f}s; "
                                f"{elapsed:,.0f}s, ETA {elapsed * (1 - share) / max(share, 1e-9):,.0f}s)"
                            )
            finally:
                connections.close_all()

        threads = [threading.Thread(target=work) for _ in range(self.index_jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failed:
            raise failed[0]
        self.vacuumed = list(tables)
        slowest = ", ".join(f"{name} {seconds:.0f}s" for seconds, name in sorted(took, reverse=True)[:6])
        self.say(
            f"seed: {len(tables)} tables vacuumed and analysed, {len(indexes)} indexes built"
            f"{', ' + ', '.join(n for n, _ in extra) if extra else ''} in {time.perf_counter() - t0:.0f}s, "
            f"{self.index_jobs} at a time (slowest: {slowest})"
        )

    def _reset_sequences(self, models: Iterable[Any]) -> None:
        from django.core.management.color import no_style

        statements = self.connection.ops.sequence_reset_sql(no_style(), list(models))
        with self.connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


_SEEDER: Seeder | None = None


@dataclass
class _Step:
    """One step of ``Seeder._finish``: SQL (or a function), its rough cost, the steps it waits for."""

    run: str | Callable[[], Any]
    weight: float
    after: set[str] = field(default_factory=set)
    gin: bool = False


def _sql_text(template: str, values: dict[str, str], params: dict[str, Any], key: str) -> str:
    """A text template (``ACK``) as an SQL expression: its ``{name}`` fields are ``values`` (SQL), the text
    between them parameters (added to ``params`` under ``key``)."""
    parts = re.split(r"\{(\w+)\}", template)
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(values[part])
        elif part:
            params[f"{key}{k}"] = part
            out.append(f"%({key}{k})s")
    return " || ".join(out)


def _encrypt_chunk(bounds: tuple[int, int]) -> tuple[int, list[tuple[tuple[str, str, str], str]]]:
    """Worker process entry: reporters ``bounds[0]`` to ``bounds[1] - 1`` encrypted (``_encrypt_reporters``)."""
    assert _SEEDER is not None
    s = _SEEDER
    return bounds[0], [
        ((s._cipher(w, 0), s._cipher(w, 1), s._cipher(w, 2)), s._digest(w)) for w in range(*bounds)
    ]


def _seed_slice(bounds: tuple[int, int]) -> tuple[int, dict[str, int], dict[int, float]]:
    """Worker process entry (forked from the seeding process, which set ``_SEEDER``)."""
    assert _SEEDER is not None
    if os.environ.get("ECO_SEED_DEBUG"):
        _SEEDER.say(
            f"seed: slice {bounds[0]:,}-{bounds[1]:,} starts in pid {os.getpid()} at {time.time():.0f}"
        )
    return _SEEDER.run_slice(bounds)


def rollups_count_sql() -> dict[str, int]:
    """PostgreSQL: the dashboard's rollups counted from the cases in the database, one ``INSERT … SELECT …
    GROUP BY`` per table: the keys of ``stats.rollups.contributions`` (the local day in Asia/Shanghai, its
    month, ``floor(latitude / GRID_DEGREES)``, exact in ``numeric``), without reading the cases into Python.
    The rollup tables must be empty (a fresh seed)."""
    from django.db import connection, transaction

    from eco12369.stats.rollups import DAY, GRID, GRID_DEGREES, MONTH, TABLES

    q = connection.ops.quote_name
    cases = q("cases_case")
    local_day = "(c.received_at AT TIME ZONE 'Asia/Shanghai')::date"
    month = f"date_trunc('month', {local_day})::date"
    grid = f"floor(c.latitude / {GRID_DEGREES})::int, floor(c.longitude / {GRID_DEGREES})::int"
    selects = {
        DAY: f"SELECT {local_day}, c.region_id, c.category, c.channel, count(*) FROM {cases} c GROUP BY 1, 2, 3, 4",
        MONTH: f"SELECT {month}, c.region_id, c.category, c.channel, count(*) FROM {cases} c GROUP BY 1, 2, 3, 4",
        GRID: (
            f"SELECT {month}, c.region_id, {grid}, count(*) FROM {cases} c "
            "WHERE c.latitude IS NOT NULL AND c.longitude IS NOT NULL GROUP BY 1, 2, 3, 4"
        ),
    }
    written: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")  # the day rollup's hash aggregate stays in memory
        for table, select in selects.items():
            model, key = TABLES[table]
            columns = ", ".join(q(k) for k in key)  # the attribute names, which are the columns
            cursor.execute(f"INSERT INTO {q(model._meta.db_table)} ({columns}, {q('count')}) {select}")
            written[table] = cursor.rowcount
    return written


def seed(**kwargs: Any) -> Result:
    """Seed into Django's default database (already set up). See ``Seeder`` for the arguments.

    The cases go in with ``COPY``, past the services that keep the dashboard's rollups (``stats.rollups``),
    so the rollups are counted again from the cases at the end, as ``manage.py stats_rollups_rebuild`` does
    (on PostgreSQL into the empty rollups of a fresh seed by SQL alone: ``rollups_count_sql``)."""
    from django.db import connection

    from eco12369.stats.models import DailyCaseCount, MonthlyCaseCount, MonthlyGridCount
    from eco12369.stats.rollups import rollups_rebuild

    fresh = not (
        DailyCaseCount.objects.exists()
        or MonthlyCaseCount.objects.exists()
        or MonthlyGridCount.objects.exists()
    )
    say = kwargs.get("progress", print) or (lambda _msg: None)
    written: dict[str, int] = {}

    def rollups() -> None:
        started = time.perf_counter()
        written.update(
            rollups_count_sql() if connection.vendor == "postgresql" and fresh else rollups_rebuild()
        )
        say(f"seed: dashboard rollups counted in {time.perf_counter() - started:.1f}s ({written})")

    # By SQL into the empty rollups of a fresh seed, with the index builds (they only read the cases).
    seeder = Seeder(**kwargs, tail=rollups if connection.vendor == "postgresql" and fresh else None)
    result = seeder.run()
    if not written:
        rollups()
    result.rows.update({f"stats rollup {table}": n for table, n in written.items()})
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=12369)
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=5000, help="cases per transaction")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (PostgreSQL)")
    parser.add_argument("--slice", type=int, default=50000, help="cases per worker task")
    parser.add_argument(
        "--rebuild-indexes",
        action="store_true",
        help="PostgreSQL, empty tables: drop secondary indexes before the copy and build them after",
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eco12369.settings")
    # Production settings need keys: the benchmark's own, kept with its database (bench/run.py).
    use_key_file(ROOT / "var" / "bench" / "var" / "secrets.env")
    import django

    django.setup()
    seed(
        cases=args.cases,
        seed=args.seed,
        years=args.years,
        batch=args.batch,
        rebuild_indexes=args.rebuild_indexes,
        jobs=args.jobs,
        slice_size=args.slice,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
