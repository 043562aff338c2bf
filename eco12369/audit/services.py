"""Writing and verifying the audit trail."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from eco12369.db import insert_if_absent

from .models import AuditEntry, AuditHead

GENESIS = "0" * 64


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


def client_ip(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


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
    the link to its neighbour, a deleted newest row no longer matches the head."""
    prev = GENESIS
    checked = 0
    for entry in _entries():
        if entry.prev_hash != prev:
            return ChainReport(checked, False, "与前一条记录的链接断开（记录被删除或插入）", entry.id)
        if entry_hash(entry) != entry.hash:
            return ChainReport(checked, False, "记录内容与其哈希不符（记录被篡改）", entry.id)
        prev = entry.hash
        checked += 1
    head = AuditHead.objects.filter(id=1).first()
    expected = head.last_hash if head else GENESIS
    if prev != expected or (head is not None and head.count != checked):
        return ChainReport(checked, False, "最新记录与链头不符（末尾记录被删除或篡改）", None)
    return ChainReport(checked, True)
