"""Writing and verifying the audit trail.

Keyed chain (issue 11, M5): each entry's ``hash`` is an HMAC, over the entry and the previous entry's
``hash``, with a key the database does not hold (``ECO_AUDIT_KEYS``: ``<id>:<secret>`` pairs, newest
first; every listed key verifies, the first signs). Each entry stores its ``key_id`` and ``alg``
(``ECO_AUDIT_MAC``: ``hmac-sm3``, the default, GB/T 15852.2 with SM3; or ``hmac-sha256``). Whoever can
write the database but lacks the key cannot rebuild the chain. Entries written before keys existed carry
``alg`` ``sha256`` (a bare hash): only the first ``ECO_AUDIT_LEGACY_ENTRIES`` entries may (a number kept
outside the database, 0 for a new deployment), so a chain rebuilt as bare hashes fails too.

Streams (issue 16): the trail is ``ECO_AUDIT_STREAMS`` chains, not one. An entry joins the stream a hash
of its object (``case:TJ2026…``; else its actor) picks, and is chained after that stream's newest entry,
under the lock of that stream's ``AuditHead`` row only: transitions on different cases append in
parallel, and every case's entries stay in one ordered chain. A transaction that already holds a stream
keeps appending to it (one head lock per transaction: no deadlock between two heads). Entries written
before streams existed are stream 1.

Anchors: written while entries are written (after a commit, when the newest anchor is older than
``ANCHOR_EVERY`` seconds) and at every successful verification. The chains alone cannot tell that their
newest rows were deleted when the heads (``AuditHead``) were rewritten to match. Each night
(``tasks.audit_verify_daily``, or ``manage.py verify_audit --anchor``) the verified heads are written to
the application log and appended to a file outside the database (``ECO_AUDIT_ANCHOR_FILE``), one line
``<time> <count> <digest> <n1>,<n2>,…``: the number of entries, a digest of every stream's (number,
count, last hash), and each stream's count (lines of three fields, written before streams, are stream 1).
Every verification then checks that each stream still has an entry number ``n<s>`` and that their hashes
give the digest again: a chain cut back below an anchor, or rewritten before it, fails.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from eco12369.clientip import client_ip
from eco12369.db import insert_if_absent, prepared_cursor

from .models import AuditEntry, AuditHead

GENESIS = "0" * 64
LEGACY_ALG = "sha256"  # a bare SHA-256, written before the chain had a key
MAC_ALGS = ("hmac-sm3", "hmac-sha256")
ANCHOR_EVERY = 60  # seconds: while entries are written, the heads are anchored at least this often
STREAMS_MAX = 1000

log = logging.getLogger(__name__)


def _canonical(entry: AuditEntry) -> bytes:
    body: dict[str, Any] = {
        "at": entry.at.isoformat(timespec="microseconds"),
        "actor": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "detail": entry.detail,
        "ip": entry.ip,
        "prev": entry.prev_hash,
    }
    if entry.alg != LEGACY_ALG:
        body |= {"alg": entry.alg, "key": entry.key_id}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class AuditKeyError(Exception):
    pass


def audit_keys() -> dict[str, bytes]:
    """``ECO_AUDIT_KEYS`` as {key id: secret}, newest first (AuditKeyError when malformed)."""
    keys: dict[str, bytes] = {}
    for part in (getattr(settings, "ECO_AUDIT_KEYS", "") or "").split(","):
        if not part.strip():
            continue
        kid, sep, secret = part.strip().partition(":")
        if not sep or not kid or len(kid) > 16 or len(secret) < 16:
            raise AuditKeyError(
                "ECO_AUDIT_KEYS 的每一项应为 <编号>:<至少16个字符的密钥> / <id>:<secret of 16+ characters>"
            )
        keys[kid] = secret.encode()
    return keys


def mac_alg() -> str:
    alg = getattr(settings, "ECO_AUDIT_MAC", "") or "hmac-sm3"
    if alg not in MAC_ALGS:
        raise AuditKeyError(f"ECO_AUDIT_MAC 应为 {' / '.join(MAC_ALGS)}：{alg!r}")
    return alg


def entry_hash(entry: AuditEntry) -> str:
    """The entry's chain value: a bare SHA-256 (legacy entries) or the HMAC with the entry's key."""
    if entry.alg == LEGACY_ALG:
        return hashlib.sha256(_canonical(entry)).hexdigest()
    key = audit_keys().get(entry.key_id)
    if key is None:
        raise AuditKeyError(f"审计密钥 {entry.key_id!r} 不在 ECO_AUDIT_KEYS 中 / audit key not configured")
    if entry.alg == "hmac-sm3":
        mac = crypto_hmac.HMAC(key, hashes.SM3())
        mac.update(_canonical(entry))
        return mac.finalize().hex()
    return hmac.new(key, _canonical(entry), hashlib.sha256).hexdigest()


def chain_next(entry: AuditEntry, prev_hash: str) -> AuditEntry:
    """Link ``entry`` after ``prev_hash`` and seal it with the newest key: the one place that chains."""
    keys = audit_keys()
    if keys:
        entry.alg, entry.key_id = mac_alg(), next(iter(keys))
    else:  # only in DEBUG (the settings require ECO_AUDIT_KEYS otherwise)
        entry.alg, entry.key_id = LEGACY_ALG, ""
    entry.prev_hash = prev_hash
    entry.hash = entry_hash(entry)
    return entry


def audit_streams() -> int:
    """How many chains new entries are spread over (``ECO_AUDIT_STREAMS``, 1..1000)."""
    return max(1, min(int(getattr(settings, "ECO_AUDIT_STREAMS", 16) or 1), STREAMS_MAX))


def stream_for(key: str) -> int:
    """The stream of an entry about ``key`` (``case:TJ…``): the same in every process, 1..audit_streams()."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:4], "big") % audit_streams() + 1


def _stream_held(connection: Any) -> int | None:
    """The stream this connection's open transaction already appended to (its head row is locked by us),
    or None. The marker is an on_commit callback: Django drops it at commit and at a rollback (of the
    transaction, or of the savepoint that took the lock, which releases the lock too)."""
    marker = getattr(connection, "_eco_audit_stream", None)
    if marker is None:
        return None
    stream, token = marker
    if any(func is token for _, func, _ in connection.run_on_commit):
        return int(stream)
    return None


def audit_record(
    *,
    action: str,
    actor: Any = None,
    object_type: str = "",
    object_id: str | int | None = "",
    detail: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """Append one entry. Joins the caller's transaction, so a rolled-back change leaves no entry (and a
    failed entry fails the change: no savepoint to recover from, none needed)."""
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    entry = AuditEntry(
        at=timezone.now(),
        actor=actor if authenticated else None,
        actor_label=actor_label or (actor.get_username() if authenticated else ""),
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id),
        detail=json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str)),
        ip=client_ip(request),
    )
    key = f"{entry.object_type}:{entry.object_id}" if entry.object_id else f"actor:{entry.actor_label}"
    with transaction.atomic(savepoint=False):
        _append(entry, key)
    return entry


def _append(entry: AuditEntry, key: str) -> None:
    """Chain ``entry`` into its stream and save it, in the open transaction (the audit write proper)."""
    connection = transaction.get_connection()
    stream = _stream_held(connection)
    held = stream is not None
    if stream is None:
        stream = stream_for(key)
    entry.stream = stream
    if connection.vendor == "postgresql":
        _append_pg(connection, entry)
    else:
        head = AuditHead.objects.select_for_update().filter(id=stream).first()
        if head is None:  # the stream's first entry
            insert_if_absent(AuditHead(id=stream, last_hash=GENESIS))
            head = AuditHead.objects.select_for_update().get(id=stream)
        chain_next(entry, head.last_hash).save()
        AuditHead.objects.filter(id=stream).update(last_hash=entry.hash, count=head.count + 1)
    if not held:

        def token() -> None:
            """Marks the transaction as holding ``stream`` (see _stream_held)."""

        connection._eco_audit_stream = (stream, token)
        transaction.on_commit(token)
    if anchor_file() is not None:
        transaction.on_commit(_anchor_if_due)


@dataclass(frozen=True)
class AuditItem:
    """One entry of ``audit_record_many`` (the arguments of ``audit_record``, without a request)."""

    action: str
    actor: Any = None
    object_type: str = ""
    object_id: str | int | None = ""
    detail: dict[str, Any] | None = None
    actor_label: str = ""


def audit_record_many(items: list[AuditItem], *, batch_size: int = 500) -> int:
    """Append many entries at once (a bulk intake: one entry per case created): the entries
    ``audit_record`` would write one by one, chained in order in the stream this transaction holds (or the
    first entry's stream) under one lock of its head, and inserted ``batch_size`` per statement. Joins the
    caller's transaction. Returns how many were written."""
    if not items:
        return 0
    now = timezone.now()
    entries = []
    for item in items:
        actor = item.actor
        authenticated = actor is not None and getattr(actor, "is_authenticated", False)
        entries.append(
            AuditEntry(
                at=now,
                actor=actor if authenticated else None,
                actor_label=item.actor_label or (actor.get_username() if authenticated else ""),
                action=item.action,
                object_type=item.object_type,
                object_id="" if item.object_id is None else str(item.object_id),
                detail=json.loads(json.dumps(item.detail or {}, ensure_ascii=False, default=str)),
                ip="",
            )
        )
    first = entries[0]
    key = f"{first.object_type}:{first.object_id}" if first.object_id else f"actor:{first.actor_label}"
    with transaction.atomic(savepoint=False):
        # The first entry through the one-entry path: it picks (or keeps) the transaction's stream.
        _append(first, key)
        stream = first.stream
        head = AuditHead.objects.select_for_update().get(id=stream)
        last = head.last_hash
        for entry in entries[1:]:
            entry.stream = stream
            chain_next(entry, last)
            last = entry.hash
        AuditEntry.objects.bulk_create(entries[1:], batch_size=batch_size)
        AuditHead.objects.filter(id=stream).update(last_hash=last, count=head.count + len(entries) - 1)
    return len(entries)


_HEAD = AuditHead._meta.db_table
_ENTRY = AuditEntry._meta.db_table


def _append_pg(connection: Any, entry: AuditEntry) -> None:
    """The same as the generic path in two round trips (the transition waits on them while it holds its
    row locks): lock the stream's head and count the entry in one UPDATE … RETURNING; then insert the
    chained entry and move the head in one statement."""
    fields = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]
    # Table and column names come from the models, every value is a parameter.
    count_sql = f"UPDATE {_HEAD} SET count = count + 1 WHERE id = %s RETURNING last_hash"  # noqa: S608
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    insert_sql = (
        f"WITH e AS (INSERT INTO {_ENTRY} ({columns}) VALUES ({placeholders}) RETURNING id) "  # noqa: S608
        f"UPDATE {_HEAD} SET last_hash = %s WHERE id = %s RETURNING (SELECT id FROM e)"
    )
    with prepared_cursor(connection) as cur:
        for _ in range(2):
            cur.execute(count_sql, [entry.stream])
            row = cur.fetchone()
            if row is not None:
                break
            # the stream's first entry (a concurrent first: the insert is skipped, the row is there)
            insert_if_absent(AuditHead(id=entry.stream, last_hash=GENESIS))
        assert row is not None
        chain_next(entry, row[0])
        values = [f.get_db_prep_save(f.pre_save(entry, True), connection) for f in fields]
        cur.execute(insert_sql, [*values, entry.hash, entry.stream])
        entry.pk = cur.fetchone()[0]
    entry._state.adding, entry._state.db = False, connection.alias


def heads_digest(heads: dict[int, tuple[int, str]]) -> str:
    """One value for the state of every stream ({stream: (count, last hash)}): the last hash itself when
    only one stream has entries (so a single chain's anchor is its head, as before streams), else the
    SHA-256 of the streams' ``<stream>:<count>:<hash>`` lines."""
    live = {s: v for s, v in sorted(heads.items()) if v[0] > 0}
    if not live:
        return GENESIS
    if len(live) == 1:
        return next(iter(live.values()))[1]
    body = "\n".join(f"{s}:{count}:{last}" for s, (count, last) in live.items())
    return hashlib.sha256(body.encode()).hexdigest()


def _anchor_if_due() -> None:
    """After a commit: anchor the heads when the newest anchor is older than ``ANCHOR_EVERY`` seconds (the
    file's modification time, shared by every process). The heads are read in one statement: a consistent
    snapshot of committed appends."""
    path = anchor_file()
    if path is None:
        return
    try:
        age = timezone.now().timestamp() - path.stat().st_mtime
    except FileNotFoundError:
        age = ANCHOR_EVERY
    if age >= ANCHOR_EVERY:
        heads = {
            s: (count, last) for s, count, last in AuditHead.objects.values_list("id", "count", "last_hash")
        }
        _anchor_write(heads)


@dataclass
class ChainReport:
    checked: int
    ok: bool
    problem: str = ""
    entry_id: int | None = None
    last_hash: str = GENESIS  # heads_digest of the streams checked
    anchors: int = 0  # anchors checked
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)  # {stream: (count, last hash)} checked


@dataclass(frozen=True)
class Anchor:
    at: str
    count: int  # entries in all streams
    hash: str  # heads_digest
    streams: dict[int, int]  # {stream: count}


class AnchorFileError(Exception):
    pass


def anchor_file() -> Path | None:
    """Where anchors go (``ECO_AUDIT_ANCHOR_FILE``); None: anchors are only logged, none are checked."""
    name = getattr(settings, "ECO_AUDIT_ANCHOR_FILE", "")
    return Path(name) if name else None


def anchors_read() -> list[Anchor]:
    """The anchors of the file, oldest first. A line that is not ``<time> <count> <digest> [<n1>,<n2>,…]``:
    AnchorFileError."""
    path = anchor_file()
    if path is None or not path.exists():
        return []
    anchors = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        counts = parts[3].split(",") if len(parts) == 4 else []
        if (
            len(parts) not in (3, 4)
            or not parts[1].isdigit()
            or len(parts[2]) != 64
            or not all(c.isdigit() for c in counts)
        ):
            raise AnchorFileError(f"锚点文件 {path} 第 {number} 行格式不正确")
        streams = {s: int(c) for s, c in enumerate(counts, start=1) if int(c) > 0}
        if len(parts) == 3:  # written before streams: the one chain, stream 1
            streams = {1: int(parts[1])} if int(parts[1]) else {}
        if sum(streams.values()) != int(parts[1]):
            raise AnchorFileError(f"锚点文件 {path} 第 {number} 行格式不正确")
        anchors.append(Anchor(at=parts[0], count=int(parts[1]), hash=parts[2], streams=streams))
    return anchors


def audit_anchor(report: ChainReport) -> Anchor:
    """Record verified heads (``report.ok``): in the application log and, when configured, appended to the
    anchor file (flushed to disk before returning)."""
    if not report.ok:
        raise ValueError("only a verified chain is anchored")
    return _anchor_write(report.heads)


def _anchor_write(heads: dict[int, tuple[int, str]]) -> Anchor:
    streams = {s: count for s, (count, _) in heads.items() if count > 0}
    anchor = Anchor(
        at=timezone.localtime().isoformat(timespec="seconds"),
        count=sum(streams.values()),
        hash=heads_digest(heads),
        streams=streams,
    )
    counts = ",".join(str(streams.get(s, 0)) for s in range(1, max(streams, default=0) + 1)) or "0"
    log.info("audit anchor: count=%d hash=%s streams=%s", anchor.count, anchor.hash, counts)
    path = anchor_file()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(f"{anchor.at} {anchor.count} {anchor.hash} {counts}\n")
            f.flush()
            os.fsync(f.fileno())
    return anchor


def _entries(chunk: int = 2000) -> Iterator[AuditEntry]:
    last_id = 0
    while True:
        batch = list(AuditEntry.objects.filter(id__gt=last_id).order_by("id")[:chunk])
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


def audit_verify(*, write_anchor: bool = True) -> ChainReport:
    """Recompute every hash of every stream in order: an edited row breaks its own hash, a deleted, inserted
    or reordered row breaks the link to its neighbour, a deleted newest row no longer matches its stream's
    head, and every anchor (see the module's docstring) must still be found in the streams. When intact,
    the heads are anchored (``write_anchor=False``: only check)."""
    try:
        anchors = anchors_read()
        audit_keys()
    except (AnchorFileError, AuditKeyError) as exc:
        return ChainReport(0, False, str(exc), None)
    legacy_allowed = int(getattr(settings, "ECO_AUDIT_LEGACY_ENTRIES", 0) or 0)
    wanted = {(s, n) for a in anchors for s, n in a.streams.items()}  # the entries the anchors name
    found: dict[tuple[int, int], AuditEntry] = {}
    heads: dict[int, tuple[int, str]] = {}  # {stream: (entries checked, last hash)}
    checked = 0
    for entry in _entries():
        count, prev = heads.get(entry.stream, (0, GENESIS))
        if entry.prev_hash != prev:
            problem = "与同一条链上前一条记录的链接断开（记录被删除、插入或调换了顺序）"
            return ChainReport(checked, False, problem, entry.id, heads_digest(heads), heads=heads)
        if entry.alg == LEGACY_ALG and checked >= legacy_allowed and audit_keys():
            problem = "记录没有密钥签名（哈希链被不持有审计密钥者重建）"
            return ChainReport(checked, False, problem, entry.id, heads_digest(heads), heads=heads)
        try:
            expected = entry_hash(entry)
        except AuditKeyError as exc:
            return ChainReport(checked, False, str(exc), entry.id, heads_digest(heads), heads=heads)
        if not hmac.compare_digest(expected, entry.hash):
            return ChainReport(
                checked,
                False,
                "记录内容与其签名不符（记录被篡改，或链被不持有审计密钥者重建）",
                entry.id,
                heads_digest(heads),
                heads=heads,
            )
        heads[entry.stream] = (count + 1, entry.hash)
        checked += 1
        if (entry.stream, count + 1) in wanted:
            found[(entry.stream, count + 1)] = entry
    digest = heads_digest(heads)
    for anchor in anchors:
        short = [(s, n) for s, n in anchor.streams.items() if heads.get(s, (0, GENESIS))[0] < n]
        if short:
            s, n = short[0]
            have = heads.get(s, (0, GENESIS))[0]
            problem = (
                f"记录只有 {checked} 条，少于 {anchor.at} 锚定的 {anchor.count} 条"
                f"（第 {s} 条链只剩 {have} 条，锚定时 {n} 条：末尾记录被删除）"
            )
            return ChainReport(checked, False, problem, None, digest, heads=heads)
        then = {s: (n, found[(s, n)].hash) for s, n in anchor.streams.items()}
        if heads_digest(then) != anchor.hash:
            if len(then) == 1:
                s, n = next(iter(anchor.streams.items()))
                problem = f"第 {s} 条链的第 {n} 条记录与 {anchor.at} 的锚点不符（记录被删除后重写）"
                return ChainReport(checked, False, problem, found[(s, n)].id, digest, heads=heads)
            problem = f"记录与 {anchor.at} 的锚点（{anchor.count} 条）不符（记录被删除后重写）"
            return ChainReport(checked, False, problem, None, digest, heads=heads)
    stored = {
        s: (count, last) for s, count, last in AuditHead.objects.values_list("id", "count", "last_hash")
    }
    for s in sorted(set(stored) | set(heads)):
        if stored.get(s, (0, GENESIS)) != heads.get(s, (0, GENESIS)):
            problem = f"第 {s} 条链的最新记录与链头不符（末尾记录被删除或篡改）"
            return ChainReport(checked, False, problem, None, digest, heads=heads)
    report = ChainReport(checked, True, last_hash=digest, anchors=len(anchors), heads=heads)
    if write_anchor:  # every successful verification anchors the heads it verified
        audit_anchor(report)
    return report
