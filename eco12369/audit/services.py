"""Writing and verifying the audit trail.

Keyed chain (issue 11, M5): each entry's ``hash`` is an HMAC, over the entry and the previous entry's
``hash``, with a key the database does not hold (``ECO_AUDIT_KEYS``: ``<id>:<secret>`` pairs, newest
first; every listed key verifies, the first signs). Each entry stores its ``key_id`` and ``alg``
(``ECO_AUDIT_MAC``: ``hmac-sm3``, the default, GB/T 15852.2 with SM3; or ``hmac-sha256``). Whoever can
write the database but lacks the key cannot rebuild the chain. Entries written before keys existed carry
``alg`` ``sha256`` (a bare hash): only the first ``ECO_AUDIT_LEGACY_ENTRIES`` entries may (a number kept
outside the database, 0 for a new deployment), so a chain rebuilt as bare hashes fails too.

Anchors: written while entries are written (after a commit, when the newest anchor is older than
``ANCHOR_EVERY`` seconds) and at every successful verification. the chain alone cannot tell that its newest rows were deleted when the head (``AuditHead``) was
rewritten to match. Each night (``tasks.audit_verify_daily``, or ``manage.py verify_audit --anchor``) the
verified head, its number of entries and the last hash, is written to the application log and appended
to a file outside the database (``ECO_AUDIT_ANCHOR_FILE``, one line ``<time> <count> <hash>``). Every
verification then checks that entry number ``count`` still has that hash: a chain cut back below an
anchor, or rewritten before it, fails.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from eco12369.clientip import client_ip
from eco12369.db import insert_if_absent

from .models import AuditEntry, AuditHead

GENESIS = "0" * 64
LEGACY_ALG = "sha256"  # a bare SHA-256, written before the chain had a key
MAC_ALGS = ("hmac-sm3", "hmac-sha256")
ANCHOR_EVERY = 60  # seconds: while entries are written, the head is anchored at least this often

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
    with transaction.atomic(savepoint=False):
        head = AuditHead.objects.select_for_update().filter(id=1).first()
        if head is None:  # the very first entry (a concurrent first: the insert is skipped, the row is there)
            insert_if_absent(AuditHead(id=1, last_hash=GENESIS))
            head = AuditHead.objects.select_for_update().get(id=1)
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
        chain_next(entry, head.last_hash).save()
        count = head.count + 1
        AuditHead.objects.filter(id=1).update(last_hash=entry.hash, count=count)
        if anchor_file() is not None:
            transaction.on_commit(lambda: _anchor_if_due(count, entry.hash))
    return entry


def _anchor_if_due(count: int, last_hash: str) -> None:
    """After a commit: anchor this head when the newest anchor is older than ``ANCHOR_EVERY`` seconds (the
    file's modification time, shared by every process)."""
    path = anchor_file()
    if path is None:
        return
    try:
        age = timezone.now().timestamp() - path.stat().st_mtime
    except FileNotFoundError:
        age = ANCHOR_EVERY
    if age >= ANCHOR_EVERY:
        _anchor_write(count, last_hash)


@dataclass
class ChainReport:
    checked: int
    ok: bool
    problem: str = ""
    entry_id: int | None = None
    last_hash: str = GENESIS  # of the last entry checked
    anchors: int = 0  # anchors checked


@dataclass(frozen=True)
class Anchor:
    at: str
    count: int
    hash: str


class AnchorFileError(Exception):
    pass


def anchor_file() -> Path | None:
    """Where anchors go (``ECO_AUDIT_ANCHOR_FILE``); None: anchors are only logged, none are checked."""
    name = getattr(settings, "ECO_AUDIT_ANCHOR_FILE", "")
    return Path(name) if name else None


def anchors_read() -> list[Anchor]:
    """The anchors of the file, oldest first. A line that is not ``<time> <count> <hash>``: AnchorFileError."""
    path = anchor_file()
    if path is None or not path.exists():
        return []
    anchors = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or not parts[1].isdigit() or len(parts[2]) != 64:
            raise AnchorFileError(f"锚点文件 {path} 第 {number} 行格式不正确")
        anchors.append(Anchor(at=parts[0], count=int(parts[1]), hash=parts[2]))
    return anchors


def audit_anchor(report: ChainReport) -> Anchor:
    """Record a verified head (``report.ok``): in the application log and, when configured, appended to the
    anchor file (flushed to disk before returning)."""
    if not report.ok:
        raise ValueError("only a verified chain is anchored")
    return _anchor_write(report.checked, report.last_hash)


def _anchor_write(count: int, last_hash: str) -> Anchor:
    anchor = Anchor(at=timezone.localtime().isoformat(timespec="seconds"), count=count, hash=last_hash)
    log.info("audit anchor: count=%d hash=%s", anchor.count, anchor.hash)
    path = anchor_file()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(f"{anchor.at} {anchor.count} {anchor.hash}\n")
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
    """Recompute every hash in order: an edited row breaks its own hash, a deleted or inserted row breaks
    the link to its neighbour, a deleted newest row no longer matches the head, and entry number ``count``
    of every anchor (see the module's docstring) must still have the anchored hash. When intact, the head
    is anchored (``write_anchor=False``: only check)."""
    try:
        anchored = {a.count: a for a in anchors_read()}
        audit_keys()
    except (AnchorFileError, AuditKeyError) as exc:
        return ChainReport(0, False, str(exc), None)
    legacy_allowed = int(getattr(settings, "ECO_AUDIT_LEGACY_ENTRIES", 0) or 0)
    prev = GENESIS
    checked = 0
    for entry in _entries():
        if entry.prev_hash != prev:
            return ChainReport(checked, False, "与前一条记录的链接断开（记录被删除或插入）", entry.id, prev)
        if entry.alg == LEGACY_ALG and checked >= legacy_allowed and audit_keys():
            problem = "记录没有密钥签名（哈希链被不持有审计密钥者重建）"
            return ChainReport(checked, False, problem, entry.id, prev)
        try:
            expected = entry_hash(entry)
        except AuditKeyError as exc:
            return ChainReport(checked, False, str(exc), entry.id, prev)
        if not hmac.compare_digest(expected, entry.hash):
            return ChainReport(
                checked,
                False,
                "记录内容与其签名不符（记录被篡改，或链被不持有审计密钥者重建）",
                entry.id,
                prev,
            )
        prev = entry.hash
        checked += 1
        anchor = anchored.get(checked)
        if anchor is not None and anchor.hash != entry.hash:
            problem = f"第 {checked} 条记录与 {anchor.at} 的锚点不符（记录被删除后重写）"
            return ChainReport(checked, False, problem, entry.id, prev)
    beyond = [a for a in anchored.values() if a.count > checked]
    if beyond:
        anchor = max(beyond, key=lambda a: a.count)
        problem = f"记录只有 {checked} 条，少于 {anchor.at} 锚定的 {anchor.count} 条（末尾记录被删除）"
        return ChainReport(checked, False, problem, None, prev)
    head = AuditHead.objects.filter(id=1).first()
    expected = head.last_hash if head else GENESIS
    if prev != expected or (head is not None and head.count != checked):
        return ChainReport(checked, False, "最新记录与链头不符（末尾记录被删除或篡改）", None, prev)
    report = ChainReport(checked, True, last_hash=prev, anchors=len(anchored))
    if write_anchor:  # every successful verification anchors the head it verified
        audit_anchor(report)
    return report
