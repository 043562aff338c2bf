"""Single-statement writes the ORM has no spelling for (PostgreSQL and SQLite ≥ 3.35 alike).

The hot paths (the WeChat callback, case intake, the audit chain) insert rows that may already exist and
bump counters. ``get_or_create`` and ``try: create() except IntegrityError`` each need a SAVEPOINT and
RELEASE around the INSERT inside a transaction, and a SELECT after it: three or four round trips where
``INSERT … ON CONFLICT DO NOTHING RETURNING`` is one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connections, router
from django.db.models import Model


def insert_if_absent(obj: Model) -> bool:
    """INSERT the unsaved ``obj`` unless a unique constraint already holds one of its keys.

    True when it was inserted (``obj.pk`` is then set), False when a conflicting row exists (nothing
    written). Field defaults and ``auto_now(_add)`` apply as in ``save()``; no signals are sent."""
    model = type(obj)
    meta = model._meta
    alias = router.db_for_write(model, instance=obj)
    connection = connections[alias]
    fields = [f for f in meta.concrete_fields if not (f.primary_key and getattr(obj, f.attname) is None)]
    values = [f.get_db_prep_save(f.pre_save(obj, add=True), connection=connection) for f in fields]  # type: ignore[attr-defined]
    qn = connection.ops.quote_name
    # Identifiers come from the model's metadata (quoted), values are parameters.
    table, pk = qn(meta.db_table), qn(meta.pk.column)  # type: ignore[union-attr]
    columns, placeholders = ", ".join(qn(f.column) for f in fields), ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING RETURNING {pk}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = alias
    return True


def increment_returning(model: type[Model], *, field: str, where: dict[str, Any], by: int = 1) -> int | None:
    """``UPDATE … SET field = field + by WHERE … RETURNING field``: the new value, or None when no row
    matched. The row stays locked until the transaction ends, so concurrent callers get distinct values
    (``by`` > 1: a block of ``by`` values, the new value its last)."""
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    column = qn(meta.get_field(field).column)  # type: ignore[union-attr,arg-type]
    conditions = " AND ".join(f"{qn(meta.get_field(k).column)} = %s" for k in where)  # type: ignore[union-attr,arg-type]
    params = [int(by)] + [
        meta.get_field(k).get_db_prep_value(v, connection=connection)  # type: ignore[union-attr]
        for k, v in where.items()
    ]
    sql = f"UPDATE {qn(meta.db_table)} SET {column} = {column} + %s WHERE {conditions} RETURNING {column}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def update_columns(obj: Model, fields: Iterable[str]) -> None:
    """``obj.save(update_fields=fields)`` as one hand-written ``UPDATE … WHERE pk = …``: the same values
    (``auto_now`` and other ``pre_save`` included), no signals, none of the ORM's query compiling (the
    WeChat callback's per-message writes). The row must exist."""
    meta = type(obj)._meta
    alias = router.db_for_write(type(obj), instance=obj)
    connection = connections[alias]
    qn = connection.ops.quote_name
    changed = [meta.get_field(name) for name in fields]
    values = [f.get_db_prep_save(f.pre_save(obj, add=False), connection=connection) for f in changed]  # type: ignore[union-attr]
    assignments = ", ".join(f"{qn(f.column)} = %s" for f in changed)  # type: ignore[union-attr,arg-type]
    sql = f"UPDATE {qn(meta.db_table)} SET {assignments} WHERE {qn(meta.pk.column)} = %s"  # type: ignore[union-attr]  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, obj.pk])
