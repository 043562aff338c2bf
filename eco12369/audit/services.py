"""Writing and verifying the audit trail.

Anchors: the chain alone cannot tell that its newest rows were deleted when the head (``AuditHead``) was
rewritten to match. Each night (``tasks.audit_verify_daily``, or ``manage.py verify_audit --anchor``) the
verified head, its number of entries and the last hash, is written to the application log and appended
to a file outside the database (``ECO_AUDIT_ANCHOR_FILE``, one line ``<time> <count> <hash>``). Every
verification then checks that entry number ``count`` still has that hash: a chain cut back below an
anchor, or rewritten before it, fails.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from eco12369.clientip import client_ip
from eco12369.db import insert_if_absent

from .models import AuditEntry, AuditHead

GENESIS = "0" * 64

log = logging.getLogger(__name__)


def _canonical(entry: AuditEntry) -> bytes:
    body = {
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
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


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
            prev_hash=head.last_hash,
        )
        entry.hash = entry_hash(entry)
        entry.save()
        AuditHead.objects.filter(id=1).update(last_hash=entry.hash, count=head.count + 1)
    return entry


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
    anchor = Anchor(
        at=timezone.localtime().isoformat(timespec="seconds"), count=report.checked, hash=report.last_hash
    )
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


def audit_verify() -> ChainReport:
    """Recompute every hash in order: an edited row breaks its own hash, a deleted or inserted row breaks
    the link to its neighbour, a deleted newest row no longer matches the head, and entry number ``count``
    of every anchor (see the module's docstring) must still have the anchored hash."""
    try:
        anchored = {a.count: a for a in anchors_read()}
    except AnchorFileError as exc:
        return ChainReport(0, False, str(exc), None)
    prev = GENESIS
    checked = 0
    for entry in _entries():
        if entry.prev_hash != prev:
            return ChainReport(checked, False, "与前一条记录的链接断开（记录被删除或插入）", entry.id, prev)
        if entry_hash(entry) != entry.hash:
            return ChainReport(checked, False, "记录内容与其哈希不符（记录被篡改）", entry.id, prev)
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
    return ChainReport(checked, True, last_hash=prev, anchors=len(anchored))
