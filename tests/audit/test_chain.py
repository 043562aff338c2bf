from __future__ import annotations

import re

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from eco12369.audit.models import AppendOnlyError, AuditEntry
from eco12369.audit.services import audit_record, audit_verify

from .conftest import triggers_off


def _fill(n: int = 5) -> list[AuditEntry]:
    return [
        audit_record(action="test", object_type="case", object_id=i, detail={"n": i, "文字": "中"})
        for i in range(n)
    ]


@pytest.mark.django_db
def test_chain_intact_verifies(capsys: pytest.CaptureFixture[str]) -> None:
    _fill()
    call_command("verify_audit")
    assert "共 5 条记录" in capsys.readouterr().out


@pytest.mark.django_db
def test_edit_in_sql_is_detected() -> None:
    entries = _fill()
    with triggers_off(), connection.cursor() as cur:
        cur.execute(
            f"UPDATE {AuditEntry._meta.db_table} SET object_id = %s WHERE id = %s", ["999", entries[2].pk]
        )
    report = audit_verify()
    assert not report.ok and report.entry_id == entries[2].pk
    with pytest.raises(CommandError, match="篡改"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_deleted_row_in_the_middle_is_detected() -> None:
    entries = _fill()
    with triggers_off(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [entries[1].pk])
    report = audit_verify()
    assert not report.ok and report.entry_id == entries[2].pk


@pytest.mark.django_db
def test_deleted_newest_row_is_detected() -> None:
    entries = _fill()
    with triggers_off(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [entries[-1].pk])
    assert not audit_verify().ok


@pytest.mark.django_db
def test_orm_cannot_change_or_delete() -> None:
    entry = _fill(1)[0]
    entry.action = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


@pytest.mark.django_db
def test_the_database_refuses_updates_and_deletes() -> None:
    """QuerySet.update()/delete() and raw SQL go around the model's save()/delete(): the table's triggers
    refuse them (PostgreSQL and SQLite) and nothing changes."""
    entries = _fill(3)
    table = AuditEntry._meta.db_table
    attempts = [
        lambda: AuditEntry.objects.filter(pk=entries[1].pk).update(object_id="999"),
        lambda: AuditEntry.objects.filter(pk=entries[-1].pk).delete(),
        lambda: AuditEntry.objects.all().delete(),
        lambda: connection.cursor().execute(f"DELETE FROM {table} WHERE id = %s", [entries[0].pk]),
    ]
    for attempt in attempts:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    rows = list(AuditEntry.objects.order_by("id").values_list("id", "object_id", "hash"))
    assert rows == [(e.pk, e.object_id, e.hash) for e in entries]
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_the_trail() -> None:
    """Django's flush (tests, ``manage.py flush``) resets the whole database: TRUNCATE on PostgreSQL, which
    fires no row trigger; on SQLite the delete trigger lets the flush's DELETE through, and only it."""
    _fill(2)
    with pytest.raises(DatabaseError, match="append-only"):
        AuditEntry.objects.all().delete()
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEntry.objects.exists()
    _fill(1)  # this test's own flush, at teardown, has rows to empty too
    with pytest.raises(DatabaseError, match="append-only"):  # the flush let go of nothing else
        AuditEntry.objects.all().delete()


@pytest.mark.django_db
def test_failed_and_successful_logins_are_recorded(make_user, client) -> None:
    user = make_user("operator")
    assert not client.login(username=user.username, password="wrong-password")
    assert client.login(username=user.username, password="Eco12369-test!")
    actions = list(AuditEntry.objects.values_list("action", "actor_label"))
    assert ("login_failed", user.username) in actions
    assert ("login", user.username) in actions
    assert audit_verify().ok


@pytest.mark.django_db
def test_only_the_auditor_reads_the_trail(make_user, client) -> None:
    audit_record(action="test", detail={"x": 1})
    for roles in (("operator",), ("head",), ("admin",)):
        client.force_login(make_user(*roles))
        assert client.get("/audit/").status_code == 403
    auditor = make_user("auditor")
    client.force_login(auditor)
    resp = client.get("/audit/", {"verify": "1"})
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "哈希链完整" in body, re.findall(r"alert[^<]*", body)
    assert '<td class="nowrap">test</td>' in body, body[body.find("<table") : body.find("</table>")]
    assert AuditEntry.objects.filter(action="audit_view", actor=auditor).exists()
