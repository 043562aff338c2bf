"""Anchors (the chains' heads written outside the database each night): deleting the newest entries and
rewriting ``AuditHead`` to match passes the chain alone, not the anchors. (The entries of one transaction
share a stream: each test's entries here are one chain; tests/audit/test_streams.py has several.)"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from eco12369.audit import tasks
from eco12369.audit.models import AuditEntry, AuditHead
from eco12369.audit.services import audit_record, audit_verify

from .conftest import triggers_off


@pytest.fixture
def anchor_file(settings: Any, tmp_path: Path) -> Path:
    settings.ECO_AUDIT_ANCHOR_FILE = str(tmp_path / "anchors" / "audit-anchors.log")
    return Path(settings.ECO_AUDIT_ANCHOR_FILE)


def _fill(n: int) -> list[AuditEntry]:
    return [audit_record(action="test", object_type="case", object_id=i) for i in range(n)]


def _cut_back(to: int) -> None:
    """Delete the entries after number ``to`` and rewrite the head to match, as the database's owner can."""
    kept = list(AuditEntry.objects.order_by("id")[:to])
    with triggers_off(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id > %s", [kept[-1].pk])
    AuditHead.objects.filter(id=kept[-1].stream).update(last_hash=kept[-1].hash, count=to)


@pytest.mark.django_db
def test_the_nightly_task_anchors_the_head_in_the_log_and_the_file(
    anchor_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from huey.contrib.djhuey import HUEY

    def due_at(utc: dt.datetime) -> bool:
        return any(isinstance(t, tasks.audit_verify_daily.task_class) for t in HUEY.read_periodic(utc))

    assert due_at(dt.datetime(2026, 6, 1, 19, 47))  # Huey's clock is UTC: 03:47 in Tianjin
    assert not due_at(dt.datetime(2026, 6, 1, 3, 47))
    entries = _fill(3)
    with caplog.at_level(logging.INFO, logger="eco12369.audit"):
        assert tasks.audit_verify_daily.call_local() is True
    assert f"audit anchor: count=3 hash={entries[-1].hash}" in caplog.text
    _fill(2)
    assert tasks.audit_verify_daily.call_local() is True
    lines = [line.split() for line in anchor_file.read_text().splitlines()]
    assert [(n, h) for _, n, h, _ in lines] == [
        ("3", entries[-1].hash),
        ("5", AuditHead.objects.get().last_hash),
    ]
    assert audit_verify().anchors == 2


@pytest.mark.django_db
def test_cutting_the_chain_back_below_an_anchor_is_detected(anchor_file: Path) -> None:
    _fill(5)
    call_command("verify_audit", "--anchor")
    _fill(2)
    _cut_back(4)
    report = audit_verify()
    assert not report.ok and "锚定的 5 条" in report.problem and report.checked == 4
    with pytest.raises(CommandError, match="末尾记录被删除"):
        call_command("verify_audit")
    anchor_file.unlink()  # the chain alone does not see it: that is what the anchor is for
    assert audit_verify().ok


@pytest.mark.django_db
def test_cutting_back_and_writing_new_entries_past_the_anchor_is_detected(anchor_file: Path) -> None:
    entries = _fill(4)
    call_command("verify_audit", "--anchor")
    _cut_back(2)
    _fill(3)  # the chain is longer than the anchor again, but entry 4 is another one
    report = audit_verify()
    assert not report.ok and "第 4 条记录" in report.problem
    assert report.entry_id is not None and report.entry_id != entries[3].pk


@pytest.mark.django_db
def test_a_failed_verification_anchors_nothing(anchor_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    entries = _fill(3)
    with triggers_off(), connection.cursor() as cur:
        cur.execute(
            f"UPDATE {AuditEntry._meta.db_table} SET object_id = %s WHERE id = %s", ["9", entries[1].pk]
        )
    with caplog.at_level(logging.ERROR, logger="eco12369.audit"):
        assert tasks.audit_verify_daily.call_local() is False
    assert "verification FAILED" in caplog.text
    assert not anchor_file.exists()
    with pytest.raises(CommandError):
        call_command("verify_audit", "--anchor")
    assert not anchor_file.exists()


@pytest.mark.django_db
def test_a_garbled_anchor_file_fails_the_verification(anchor_file: Path) -> None:
    _fill(2)
    anchor_file.parent.mkdir(parents=True)
    anchor_file.write_text("2026-12-01T03:47:00+08:00 2 not-a-hash\n")
    report = audit_verify()
    assert not report.ok and "格式不正确" in report.problem
