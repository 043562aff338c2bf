"""Single-statement writes (eco12369/db.py): insert unless present, increment and read back; statements
prepared once per connection."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from eco12369.audit.models import AuditHead
from eco12369.cases.models import CaseNumberSequence
from eco12369.db import (
    increment_returning,
    insert,
    insert_if_absent,
    insert_many,
    insert_with,
    prepared_cursor,
    update_columns,
    update_columns_and_insert,
)
from eco12369.wechat.models import SeenNonce

pytestmark = pytest.mark.django_db


def test_insert_if_absent_inserts_once_and_reports_which() -> None:
    first = SeenNonce(key="1795619185:abc")
    assert insert_if_absent(first) is True
    assert first.pk is not None and not first._state.adding
    again = SeenNonce(key="1795619185:abc")
    assert insert_if_absent(again) is False and again.pk is None
    assert SeenNonce.objects.filter(key="1795619185:abc").count() == 1
    assert SeenNonce.objects.get().seen_at is not None  # the field's default applies


def test_insert_if_absent_with_an_explicit_primary_key() -> None:
    assert insert_if_absent(AuditHead(id=1, last_hash="0" * 64)) is True
    assert insert_if_absent(AuditHead(id=1, last_hash="f" * 64)) is False
    assert AuditHead.objects.get(id=1).last_hash == "0" * 64  # the existing row is untouched


def test_increment_returning_counts_up_and_says_when_there_is_no_row() -> None:
    day = dt.date(2026, 11, 25)
    assert increment_returning(CaseNumberSequence, field="last", where={"day": day}) is None
    insert_if_absent(CaseNumberSequence(day=day, last=0))
    counted = [increment_returning(CaseNumberSequence, field="last", where={"day": day}) for _ in range(3)]
    assert counted == [1, 2, 3]
    assert CaseNumberSequence.objects.get(day=day).last == 3


def test_insert_writes_the_row_as_save_would_and_refuses_a_duplicate_key() -> None:
    nonce = SeenNonce(key="1795619185:def")
    insert(nonce)
    assert nonce.pk is not None and not nonce._state.adding
    stored = SeenNonce.objects.get(pk=nonce.pk)
    assert stored.key == "1795619185:def" and stored.seen_at == nonce.seen_at  # the default applied once
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(SeenNonce(key="1795619185:def"))  # unlike insert_if_absent, a conflict is an error
    insert_many([SeenNonce(key="a"), SeenNonce(key="b")])
    assert set(SeenNonce.objects.values_list("key", flat=True)) == {"1795619185:def", "a", "b"}


def test_update_columns_runs_the_statement_before_it_and_returns_what_that_returned() -> None:
    head = AuditHead(id=7, last_hash="0" * 64)
    insert_if_absent(head)
    insert_if_absent(CaseNumberSequence(day=dt.date(2026, 11, 26), last=4))
    head.last_hash = "a" * 64
    returned = update_columns(
        head,
        ["last_hash"],
        before=(
            'UPDATE "cases_casenumbersequence" SET "last" = "last" + 1 RETURNING "last"',
            [],
        ),
    )
    assert returned == [5]
    assert AuditHead.objects.get(id=7).last_hash == "a" * 64
    assert CaseNumberSequence.objects.get().last == 5


def test_insert_with_writes_both_in_one_statement_on_postgresql() -> None:
    first = AuditHead(id=3, last_hash="0" * 64)
    with CaptureQueriesContext(connection) as ctx:
        insert_with(first, [SeenNonce(key="w1"), SeenNonce(key="w2")])
    assert len(ctx) == (1 if connection.vendor == "postgresql" else 2)
    assert first.pk == 3 and not first._state.adding
    assert AuditHead.objects.get(id=3).last_hash == "0" * 64
    assert set(SeenNonce.objects.values_list("key", flat=True)) == {"w1", "w2"}
    insert_with(AuditHead(id=4, last_hash="1" * 64), [])  # no rows: the first one alone
    assert AuditHead.objects.filter(id=4).exists()


def test_update_columns_and_insert_says_whether_the_row_was_new() -> None:
    head = AuditHead(id=8, last_hash="0" * 64)
    insert_if_absent(head)
    insert_if_absent(CaseNumberSequence(day=dt.date(2026, 11, 27), last=1))
    before: list[tuple[str, str, list[Any]]] = [
        ("b", 'UPDATE "cases_casenumbersequence" SET "last" = "last" + 1 RETURNING "last"', [])
    ]
    if connection.vendor == "postgresql":  # a query may read an earlier one
        before.append(("c", 'SELECT "last" * 10 FROM b', []))
    head.last_hash = "b" * 64
    nonce = SeenNonce(key="u1")
    with CaptureQueriesContext(connection) as ctx:
        returned, inserted = update_columns_and_insert(head, ["last_hash"], before=before, new=nonce)
    assert len(ctx) == (1 if connection.vendor == "postgresql" else 3)
    assert returned == ({"b": [2], "c": [20]} if connection.vendor == "postgresql" else {"b": [2]})
    assert inserted and nonce.pk is not None
    assert AuditHead.objects.get(id=8).last_hash == "b" * 64
    head.last_hash = "c" * 64
    again = SeenNonce(key="u1")
    assert update_columns_and_insert(head, ["last_hash"], new=again) == ({}, False)
    assert again.pk is None and SeenNonce.objects.filter(key="u1").count() == 1
    assert AuditHead.objects.get(id=8).last_hash == "c" * 64  # the update ran (the caller rolls back)


def test_a_prepared_cursor_answers_as_an_ordinary_one_and_is_prepared_once_on_postgresql() -> None:
    """The duplicate finder's statements go through ``prepared_cursor``: the same answers as an ordinary
    cursor, logged like one; on PostgreSQL each statement is prepared once per connection (and Django's own
    cursors are not)."""
    insert_if_absent(SeenNonce(key="1795619185:prepared"))
    sql = "SELECT count(*) FROM wechat_seennonce WHERE key = %s"
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(3):
            with prepared_cursor(connection) as cursor:
                cursor.execute(sql, ["1795619185:prepared"])
                assert cursor.fetchone() == (1,)
    assert len(ctx) == 3
    if connection.vendor != "postgresql":
        return
    assert [q["sql"] for q in ctx.captured_queries] == [sql] * 3  # as written: psycopg keeps no text of it
    with connection.cursor() as cursor:
        cursor.execute(sql, ["1795619185:prepared"])
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    # Once, however often it ran (the INSERT of ``insert_if_absent`` above is prepared too, once).
    assert [s for s in prepared if s.startswith("SELECT") and "wechat_seennonce" in s] == [
        sql.replace("%s", "$1")
    ]
    assert len([s for s in prepared if s.startswith("INSERT") and "wechat_seennonce" in s]) == 1
