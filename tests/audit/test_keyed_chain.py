"""M5 and the national algorithms (issue 11): the chain is an HMAC (HMAC-SM3 by default) with a key the
database does not hold; anchors are written while entries are written and at every verification;
``manage.py verify_audit`` finds an edited row, a chain rebuilt without the key and a tail cut since the
last anchor."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives import hashes, hmac
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from eco12369.audit.models import AuditEntry, AuditHead
from eco12369.audit.services import _canonical, audit_record

from .conftest import triggers_off

pytestmark = pytest.mark.django_db
KEY_1 = "k1:Sm4-and-Sm3-are-national-algorithms-1"
KEY_2 = "k2:second-key-after-rotation-2026-12-07"


@pytest.fixture
def anchors(settings: Any, tmp_path: Path) -> Path:
    settings.ECO_AUDIT_ANCHOR_FILE = str(tmp_path / "anchors.log")
    settings.ECO_AUDIT_KEYS = KEY_1
    return Path(settings.ECO_AUDIT_ANCHOR_FILE)


def _write(n: int, captured: Callable[..., Any]) -> list[AuditEntry]:
    """n entries, each in its own committed request (the anchor is written after the commit)."""
    entries = []
    for i in range(n):
        with captured(execute=True):
            entries.append(
                audit_record(action="reveal", actor_label="某审核员", object_type="case", object_id=f"TJ{i}")
            )
    return entries


def _verify() -> str:
    call_command("verify_audit")  # raises CommandError when broken
    return "ok"


def _broken() -> str:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit")
    return str(failure.value)


def test_new_entries_carry_an_hmac_sm3_with_the_key_id(
    anchors: Path, django_capture_on_commit_callbacks: Any
) -> None:
    entry = _write(1, django_capture_on_commit_callbacks)[0]
    entry.refresh_from_db()
    assert (entry.alg, entry.key_id) == ("hmac-sm3", "k1")
    body: dict[str, Any] = {
        "at": entry.at.isoformat(timespec="microseconds"),
        "actor": None,
        "actor_label": "某审核员",
        "action": "reveal",
        "object_type": "case",
        "object_id": "TJ0",
        "detail": {},
        "ip": "",
        "prev": "0" * 64,
        "alg": "hmac-sm3",
        "key": "k1",
    }
    mac = hmac.HMAC(KEY_1.split(":", 1)[1].encode(), hashes.SM3())
    mac.update(json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode())
    assert entry.hash == mac.finalize().hex()
    assert _verify() == "ok"


def test_hmac_sha256_is_selectable(
    anchors: Path, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ECO_AUDIT_MAC = "hmac-sha256"
    entry = _write(1, django_capture_on_commit_callbacks)[0]
    assert AuditEntry.objects.get(pk=entry.pk).alg == "hmac-sha256"
    settings.ECO_AUDIT_MAC = "hmac-sm3"
    _write(1, django_capture_on_commit_callbacks)
    assert list(AuditEntry.objects.values_list("alg", flat=True)) == ["hmac-sha256", "hmac-sm3"]
    assert _verify() == "ok"


def test_an_edited_row_is_detected(anchors: Path, django_capture_on_commit_callbacks: Any) -> None:
    entries = _write(4, django_capture_on_commit_callbacks)
    with triggers_off(), connection.cursor() as cur:
        cur.execute(
            f"UPDATE {AuditEntry._meta.db_table} SET ip = %s WHERE id = %s", ["10.0.0.1", entries[1].pk]
        )
    assert "签名不符" in _broken()


def _rebuild(sign: Callable[[bytes], str], alg: str, key_id: str) -> None:
    """Rewrite every entry's chain value as someone with write access to the database, but not the key."""
    prev = "0" * 64
    with triggers_off(), connection.cursor() as cur:
        for entry in AuditEntry.objects.order_by("id"):
            entry.alg, entry.key_id, entry.prev_hash = alg, key_id, prev
            entry.object_id = "TJ-forged" if entry.object_id == "TJ1" else entry.object_id
            value = sign(_canonical(entry))
            cur.execute(
                f"UPDATE {AuditEntry._meta.db_table} SET alg=%s, key_id=%s, prev_hash=%s, hash=%s, object_id=%s "
                "WHERE id=%s",
                [alg, key_id, prev, value, entry.object_id, entry.pk],
            )
            prev = value
    AuditHead.objects.filter(id=AuditEntry.objects.get(hash=prev).stream).update(last_hash=prev)


def test_a_chain_rebuilt_as_bare_hashes_is_detected(
    anchors: Path, django_capture_on_commit_callbacks: Any
) -> None:
    _write(4, django_capture_on_commit_callbacks)
    anchors.unlink()  # even with the anchors gone
    _rebuild(lambda body: hashlib.sha256(body).hexdigest(), "sha256", "")
    assert "没有密钥签名" in _broken()


def test_a_chain_rebuilt_with_a_guessed_key_is_detected(
    anchors: Path, django_capture_on_commit_callbacks: Any
) -> None:
    _write(4, django_capture_on_commit_callbacks)
    anchors.unlink()

    def guessed(body: bytes) -> str:
        mac = hmac.HMAC(b"eco12369token-guess", hashes.SM3())
        mac.update(body)
        return mac.finalize().hex()

    _rebuild(guessed, "hmac-sm3", "k1")
    assert "签名不符" in _broken()


def test_anchors_are_written_every_minute_while_entries_are_written_and_at_every_verify(
    anchors: Path, django_capture_on_commit_callbacks: Any
) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _write(2, django_capture_on_commit_callbacks)  # the first one anchors (no anchor yet)
    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        _write(2, django_capture_on_commit_callbacks)  # within the minute: none
    assert [line.split()[1] for line in anchors.read_text().splitlines()] == ["1"]
    with time_machine.travel(start + dt.timedelta(seconds=75), tick=False):
        _write(1, django_capture_on_commit_callbacks)
    assert [line.split()[1] for line in anchors.read_text().splitlines()] == ["1", "5"]
    assert _verify() == "ok"
    assert anchors.read_text().splitlines()[-1].split()[1:3] == ["5", AuditHead.objects.get().last_hash]


def test_a_tail_cut_since_the_last_anchor_is_detected(
    anchors: Path, django_capture_on_commit_callbacks: Any
) -> None:
    """No verification ran: the anchors written while entries were written are enough."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _write(3, django_capture_on_commit_callbacks)
    with time_machine.travel(start + dt.timedelta(seconds=70), tick=False):
        _write(4, django_capture_on_commit_callbacks)
    assert anchors.read_text().splitlines()[-1].split()[1] == "7"
    kept = list(AuditEntry.objects.order_by("id")[:4])
    with triggers_off(), connection.cursor() as cur:  # cut the 3 newest, head rewritten to match
        cur.execute(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id > %s", [kept[-1].pk])
    AuditHead.objects.filter(id=kept[-1].stream).update(last_hash=kept[-1].hash, count=4)
    assert "记录只有 4 条，少于" in _broken()
    with time_machine.travel(start + dt.timedelta(seconds=200), tick=False):
        _write(1, django_capture_on_commit_callbacks)  # writing on does not hide the cut
    assert "少于" in _broken() or "锚点不符" in _broken()


def test_the_audit_key_rotates(anchors: Path, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    _write(2, django_capture_on_commit_callbacks)
    settings.ECO_AUDIT_KEYS = f"{KEY_2},{KEY_1}"  # the new key first, the old one still verifies
    _write(2, django_capture_on_commit_callbacks)
    assert list(AuditEntry.objects.values_list("key_id", flat=True)) == ["k1", "k1", "k2", "k2"]
    assert _verify() == "ok"
    settings.ECO_AUDIT_KEYS = KEY_2  # the old key dropped too early
    assert "k1" in _broken()
