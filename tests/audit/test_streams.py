"""Audit streams (issue 16): the trail is several keyed chains, picked by the entry's object, so that writes
about different cases do not wait on one row lock; ``verify_audit`` still finds an edited, deleted or
reordered entry in any stream, and the anchors cover every stream's head."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection, connections, transaction

from eco12369.audit.models import AuditEntry, AuditHead
from eco12369.audit.services import audit_record, audit_verify, stream_for

from .conftest import triggers_off

pytestmark = pytest.mark.django_db(transaction=True)  # every audit_record here commits on its own
CASES = ["TJ20261207000001", "TJ20261207000002", "TJ20261207000003", "TJ20261207000004", "TJ20261207000005"]


@pytest.fixture
def anchors(settings: Any, tmp_path: Path) -> Path:
    settings.ECO_AUDIT_ANCHOR_FILE = str(tmp_path / "anchors.log")
    return Path(settings.ECO_AUDIT_ANCHOR_FILE)


def _two_cases_in_two_streams() -> tuple[str, str]:
    first = CASES[0]
    other = next(n for n in CASES[1:] if stream_for(f"case:{n}") != stream_for(f"case:{first}"))
    return first, other


def _write_round(rounds: int = 2) -> list[AuditEntry]:
    return [
        audit_record(action="case.accept", actor_label="某区操作员", object_type="case", object_id=number)
        for _ in range(rounds)
        for number in CASES
    ]


def test_each_case_has_its_stream_and_every_stream_is_a_chain(anchors: Path) -> None:
    entries = _write_round()
    streams = {e.object_id: e.stream for e in AuditEntry.objects.order_by("id")}
    assert streams == {n: stream_for(f"case:{n}") for n in CASES}
    assert len(set(streams.values())) > 1  # five cases over 16 streams: not all in one
    for stream in set(streams.values()):
        chain = list(AuditEntry.objects.filter(stream=stream).order_by("id"))
        assert chain[0].prev_hash == "0" * 64
        assert [e.prev_hash for e in chain[1:]] == [e.hash for e in chain[:-1]]
        head = AuditHead.objects.get(id=stream)
        assert (head.count, head.last_hash) == (len(chain), chain[-1].hash)
    report = audit_verify()
    assert report.ok and report.checked == len(entries) == 10
    # the anchor line: count, the digest of every stream's head, each stream's count
    _, count, digest, counts = anchors.read_text().splitlines()[-1].split()
    heads = AuditHead.objects.order_by("id")
    assert count == "10"
    body = "\n".join(f"{h.id}:{h.count}:{h.last_hash}" for h in heads)
    assert digest == hashlib.sha256(body.encode()).hexdigest()
    assert {i + 1: int(c) for i, c in enumerate(counts.split(",")) if c != "0"} == {
        h.id: h.count for h in heads
    }


def test_one_transaction_keeps_to_one_stream(anchors: Path) -> None:
    first, other = _two_cases_in_two_streams()
    with transaction.atomic():
        a = audit_record(action="case.assign", object_type="case", object_id=first)
        b = audit_record(action="case.assign", object_type="case", object_id=other)
    assert a.stream == b.stream == stream_for(f"case:{first}") and b.prev_hash == a.hash
    c = audit_record(action="case.assign", object_type="case", object_id=other)  # a new transaction
    assert c.stream == stream_for(f"case:{other}")
    assert audit_verify().ok


def test_a_rolled_back_transaction_leaves_no_entry_and_no_held_stream(anchors: Path) -> None:
    first, other = _two_cases_in_two_streams()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="case.reply", object_type="case", object_id=first)
        raise RuntimeError("回滚")
    assert not AuditEntry.objects.exists()
    entry = audit_record(action="case.reply", object_type="case", object_id=other)
    assert entry.stream == stream_for(f"case:{other}") and entry.prev_hash == "0" * 64
    assert audit_verify().ok


def _swap(a: AuditEntry, b: AuditEntry) -> None:
    """Swap two rows' contents (keeping the ids): the order of the two entries is reversed."""
    columns = ["at", "action", "object_id", "detail", "prev_hash", "hash", "stream"]
    table = AuditEntry._meta.db_table
    with transaction.atomic(), triggers_off(), connection.cursor() as cur:
        for pk, placeholder in ((a.pk, "e" * 64), (b.pk, "f" * 64)):  # "hash" is unique
            cur.execute(f"UPDATE {table} SET hash = %s WHERE id = %s", [placeholder, pk])
        for mine, theirs in ((a, b), (b, a)):
            sets = ", ".join(f"{c} = %s" for c in columns)
            values = [getattr(theirs, c) for c in columns]
            values[columns.index("detail")] = "{}"
            cur.execute(f"UPDATE {table} SET {sets} WHERE id = %s", [*values, mine.pk])


def test_reordering_two_entries_of_a_stream_is_detected(anchors: Path) -> None:
    _write_round(3)
    stream = stream_for(f"case:{CASES[0]}")
    chain = list(AuditEntry.objects.filter(stream=stream).order_by("id"))
    _swap(chain[0], chain[1])
    report = audit_verify()
    assert not report.ok and "链接断开" in report.problem and report.entry_id == chain[0].pk


def test_an_entry_moved_to_another_stream_is_detected(anchors: Path) -> None:
    _write_round()
    victim = AuditEntry.objects.filter(object_id=CASES[0]).order_by("id").last()
    assert victim is not None
    other = next(s for s in range(1, 17) if s != victim.stream)
    with transaction.atomic(), triggers_off(), connection.cursor() as cur:
        cur.execute(f"UPDATE {AuditEntry._meta.db_table} SET stream = %s WHERE id = %s", [other, victim.pk])
    with pytest.raises(CommandError, match=r"链接断开|链头不符"):
        call_command("verify_audit")


def test_deleting_the_newest_entry_of_one_stream_is_caught_by_the_anchor(anchors: Path) -> None:
    _write_round()
    call_command("verify_audit")  # anchors the heads of every stream
    victim = AuditEntry.objects.filter(stream=stream_for(f"case:{CASES[1]}")).order_by("id").last()
    assert victim is not None
    kept = AuditEntry.objects.filter(stream=victim.stream).exclude(pk=victim.pk).order_by("id").last()
    assert kept is not None
    with (
        transaction.atomic(),
        triggers_off(),
        connection.cursor() as cur,
    ):  # as the database's owner: the head rewritten too
        cur.execute(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [victim.pk])
    count = AuditEntry.objects.filter(stream=victim.stream).count()
    AuditHead.objects.filter(id=victim.stream).update(last_hash=kept.hash, count=count)
    report = audit_verify()
    assert not report.ok and "锚定的 10 条" in report.problem and f"第 {victim.stream} 条链" in report.problem
    anchors.unlink()  # the chains alone do not see it: that is what the anchor is for
    assert audit_verify().ok


def test_a_three_field_anchor_from_before_streams_still_checks_stream_1(anchors: Path, settings: Any) -> None:
    settings.ECO_AUDIT_STREAMS = 1  # one chain, as before issue 16
    entries = [audit_record(action="login", actor_label=f"某用户{i}") for i in range(3)]
    assert {e.stream for e in entries} == {1}
    anchors.write_text(f"2026-12-01T03:47:00+08:00 3 {entries[-1].hash}\n")
    assert audit_verify().ok
    anchors.write_text(f"2026-12-01T03:47:00+08:00 2 {entries[-1].hash}\n")  # entry 2 has another hash
    report = audit_verify(write_anchor=False)
    assert not report.ok and "第 1 条链的第 2 条记录" in report.problem and report.entry_id == entries[1].pk


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="row locks: PostgreSQL (SQLite locks the whole database)"
)
def test_writers_on_two_cases_do_not_wait_for_each_other(anchors: Path) -> None:
    """One transaction holds its stream (its entry written, not yet committed); an entry about a case in
    another stream is written meanwhile without waiting, one about the same case waits for the commit."""
    first, other = _two_cases_in_two_streams()
    written = threading.Event()
    release = threading.Event()
    outcome: dict[str, Any] = {}

    def holder() -> None:
        try:
            with transaction.atomic():
                audit_record(action="case.accept", object_type="case", object_id=first)
                written.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert written.wait(10)
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = '1s'")
            outcome["other"] = audit_record(action="case.assign", object_type="case", object_id=other)
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET LOCAL lock_timeout = '300ms'")
            audit_record(action="case.assign", object_type="case", object_id=first)
    finally:
        release.set()
        thread.join(10)
    assert outcome["other"].stream != stream_for(f"case:{first}")
    assert AuditEntry.objects.count() == 2
    assert audit_verify().ok
