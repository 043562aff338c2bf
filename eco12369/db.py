"""Single-statement writes the ORM has no spelling for (PostgreSQL and SQLite ≥ 3.35 alike).

The hot paths (the WeChat callback, case intake, the audit chain) insert rows that may already exist and
bump counters. ``get_or_create`` and ``try: create() except IntegrityError`` each need a SAVEPOINT and
RELEASE around the INSERT inside a transaction, and a SELECT after it: three or four round trips where
``INSERT … ON CONFLICT DO NOTHING RETURNING`` is one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


def _insert_sql(obj: Model, *, rows: int = 1, conflict: str = "", returning: bool = True) -> tuple[str, Any]:
    meta = type(obj)._meta
    connection = connections[router.db_for_write(type(obj), instance=obj)]
    fields = [f for f in meta.concrete_fields if not (f.primary_key and getattr(obj, f.attname) is None)]
    qn = connection.ops.quote_name
    # Identifiers come from the model's metadata (quoted), values are parameters.
    columns = ", ".join(qn(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    tail = f" RETURNING {qn(meta.pk.column)}" if returning else ""  # type: ignore[union-attr]
    sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES {', '.join([row] * rows)}{conflict}{tail}"  # noqa: S608
    return sql, fields


def _values(obj: Model, fields: list[Any], connection: Any) -> list[Any]:
    return [f.get_db_prep_save(f.pre_save(obj, add=True), connection=connection) for f in fields]


def _inserted(obj: Model, pk: Any, alias: str) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = alias


def insert(obj: Model) -> None:
    """``obj.save()`` of an unsaved ``obj`` as one hand-written ``INSERT … RETURNING pk`` (``obj.pk`` is then
    set): field defaults and ``auto_now(_add)`` apply as in ``save()``; no signals are sent (nothing in the
    platform listens to these models' saves: cases/hooks.py), none of the ORM's query compiling (the
    hot paths: the WeChat callback's case intake). A unique constraint's violation raises
    ``IntegrityError`` as ``save()`` does."""
    alias = router.db_for_write(type(obj), instance=obj)
    connection = connections[alias]
    sql, fields = _insert_sql(obj)
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, _values(obj, fields, connection))
        row = cursor.fetchone()
    _inserted(obj, row[0], alias)


def insert_computed(
    obj: Model,
    *,
    field: str,
    expression: str,
    params: Sequence[Any],
    with_: tuple[str, Sequence[Any]],
    child: Model | None = None,
    child_fk: str = "",
) -> None:
    """``insert(obj)`` with the value of ``field`` computed by the database in the same statement: ``with_``
    (SQL, params) are ``WITH`` queries (``name AS (…)``, a data-modifying one too) and ``expression`` (with
    its ``params``) the field's value, which may read them. PostgreSQL only. ``obj.pk`` and ``obj.<field>``
    are set from what was stored. ``child``: a row of another model inserted in the same statement, its
    foreign key ``child_fk`` (a field name) to ``obj``'s new row filled in by the database (its ``pk`` is
    set too). A case's number taken from the day's counter in the case's own INSERT, with its first event."""
    alias = router.db_for_write(type(obj), instance=obj)
    connection = connections[alias]
    meta = type(obj)._meta
    fields = [f for f in meta.concrete_fields if not (f.primary_key and getattr(obj, f.attname) is None)]
    computed = meta.get_field(field)
    qn = connection.ops.quote_name
    values = _values(obj, fields, connection)
    placeholders, bound = [], [*with_[1]]
    for f, value in zip(fields, values, strict=True):
        if f is computed:
            placeholders.append(f"({expression})")
            bound += params
        else:
            placeholders.append("%s")
            bound.append(value)
    pk, column = qn(meta.pk.column), qn(computed.column)  # type: ignore[union-attr,arg-type]
    # Names from the models' metadata and the caller's SQL; every value is a parameter.
    insert = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(placeholders)})"
    )
    if child is None:
        sql = f"WITH {with_[0]} {insert} RETURNING {pk}, {column}"
    else:
        child_meta = type(child)._meta
        fk = child_meta.get_field(child_fk)
        child_fields = [f for f in child_meta.concrete_fields if not f.primary_key]
        child_values = _values(child, child_fields, connection)
        bound += [value for f, value in zip(child_fields, child_values, strict=True) if f is not fk]
        row = ", ".join("(SELECT id FROM o)" if f is fk else "%s" for f in child_fields)
        sql = (
            f"WITH {with_[0]}, o AS ({insert} RETURNING {pk} AS id, {column} AS v) "  # noqa: S608
            f"INSERT INTO {qn(child_meta.db_table)} ({', '.join(qn(f.column) for f in child_fields)}) "
            f"VALUES ({row}) RETURNING (SELECT id FROM o), (SELECT v FROM o), {qn(child_meta.pk.column)}"  # type: ignore[union-attr]
        )
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, bound)
        stored = cursor.fetchone()
    setattr(obj, computed.attname, stored[1])  # type: ignore[union-attr]
    _inserted(obj, stored[0], alias)
    if child is not None:
        setattr(child, fk.attname, obj.pk)  # type: ignore[union-attr]
        _inserted(child, stored[2], alias)


def insert_many(objs: Sequence[Model]) -> None:
    """``bulk_create(objs)`` of a few unsaved instances of one model as one hand-written ``INSERT``, no ids
    read back (the rows' keys are their own: a case's bigrams)."""
    if not objs:
        return
    alias = router.db_for_write(type(objs[0]), instance=objs[0])
    connection = connections[alias]
    sql, fields = _insert_sql(objs[0], rows=len(objs), returning=False)
    with connection.cursor() as cursor:
        cursor.execute(sql, [v for obj in objs for v in _values(obj, fields, connection)])


def insert_with(obj: Model, objs: Sequence[Model]) -> None:
    """``insert(obj)`` and ``insert_many(objs)`` (rows of another model, which must not refer to ``obj``'s
    row: they are written with it) in one round trip on PostgreSQL (a data-modifying ``WITH``), two
    elsewhere. A new case's fingerprint and its bigrams (the WeChat callback's hot path)."""
    alias = router.db_for_write(type(obj), instance=obj)
    connection = connections[alias]
    if not objs or connection.vendor != "postgresql":
        insert(obj)
        insert_many(objs)
        return
    first, first_fields = _insert_sql(obj)
    rows, row_fields = _insert_sql(objs[0], rows=len(objs), returning=False)
    pk = connection.ops.quote_name(type(obj)._meta.pk.column)  # type: ignore[union-attr]
    params = [*_values(obj, first_fields, connection)]
    params += [v for other in objs for v in _values(other, row_fields, connection)]
    with connection.cursor() as cursor:
        # Both statements come from the models' metadata, every value is a parameter.
        cursor.execute(f"WITH f AS ({first}) {rows} RETURNING (SELECT {pk} FROM f)", params)  # noqa: S608
        row = cursor.fetchone()
    _inserted(obj, row[0], alias)


def insert_if_absent(obj: Model) -> bool:
    """INSERT the unsaved ``obj`` unless a unique constraint already holds one of its keys.

    True when it was inserted (``obj.pk`` is then set), False when a conflicting row exists (nothing
    written). Field defaults and ``auto_now(_add)`` apply as in ``save()``; no signals are sent."""
    alias = router.db_for_write(type(obj), instance=obj)
    connection = connections[alias]
    sql, fields = _insert_sql(obj, conflict=" ON CONFLICT DO NOTHING")
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, _values(obj, fields, connection))
        row = cursor.fetchone()
    if row is None:
        return False
    _inserted(obj, row[0], alias)
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
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def update_columns(
    obj: Model, fields: Iterable[str], *, before: tuple[str, list[Any]] | None = None
) -> list[Any]:
    """``obj.save(update_fields=fields)`` as one hand-written ``UPDATE … WHERE pk = …``: the same values
    (``auto_now`` and other ``pre_save`` included), no signals, none of the ORM's query compiling (the
    WeChat callback's per-message writes). The row must exist.

    ``before``: another write (SQL, params) ``RETURNING`` one column, run first, in the same transaction:
    on PostgreSQL in the same statement (a data-modifying ``WITH``: one round trip), elsewhere on its own.
    Its returned values are returned ([] without ``before``)."""
    meta = type(obj)._meta
    alias = router.db_for_write(type(obj), instance=obj)
    connection = connections[alias]
    qn = connection.ops.quote_name
    changed = [meta.get_field(name) for name in fields]
    values = [f.get_db_prep_save(f.pre_save(obj, add=False), connection=connection) for f in changed]  # type: ignore[union-attr]
    assignments = ", ".join(f"{qn(f.column)} = %s" for f in changed)  # type: ignore[union-attr,arg-type]
    sql = f"UPDATE {qn(meta.db_table)} SET {assignments} WHERE {qn(meta.pk.column)} = %s"  # type: ignore[union-attr]  # noqa: S608
    with prepared_cursor(connection) as cursor:
        if before is None:
            cursor.execute(sql, [*values, obj.pk])
            return []
        first, first_params = before
        if connection.vendor == "postgresql":
            cursor.execute(
                # Both statements are the callers' own SQL, their values parameters.
                f"WITH b AS ({first}) {sql} RETURNING ARRAY(SELECT * FROM b)",  # noqa: S608
                [*first_params, *values, obj.pk],
            )
            row = cursor.fetchone()
            return list(row[0]) if row is not None else []
        cursor.execute(first, first_params)
        returned = [r[0] for r in cursor.fetchall()]
        cursor.execute(sql, [*values, obj.pk])
    return returned


def update_columns_and_insert(
    obj: Model, fields: Iterable[str], *, before: Sequence[tuple[str, str, list[Any]]] = (), new: Model
) -> tuple[dict[str, list[Any]], bool]:
    """``update_columns(obj, fields)`` and ``insert_if_absent(new)``, after the writes ``before`` (name, SQL,
    params; each ``RETURNING`` its first column), in one round trip on PostgreSQL: one statement, ``before``
    and the insert as data-modifying ``WITH`` queries (one of ``before`` may read an earlier one by its
    name), then the UPDATE. Elsewhere in that order in separate statements (``before`` then may not read
    each other). What each of ``before`` returned (the first column, by name), and whether ``new`` was
    inserted (False: a row with one of its unique keys exists, nothing of ``new`` written; the caller rolls
    the rest back if it must). The WeChat callback's last write of each message: its conversation, its
    record, the release of waiting notices and the acknowledgement sent as the reply."""
    meta = type(obj)._meta
    alias = router.db_for_write(type(obj), instance=obj)
    connection = connections[alias]
    returned: dict[str, list[Any]] = {}
    if connection.vendor != "postgresql":
        with prepared_cursor(connection) as cursor:
            for name, sql, params in before:
                cursor.execute(sql, params)
                returned[name] = [row[0] for row in cursor.fetchall()]
        update_columns(obj, fields)
        return returned, insert_if_absent(new)
    qn = connection.ops.quote_name
    changed = [meta.get_field(name) for name in fields]
    values = [f.get_db_prep_save(f.pre_save(obj, add=False), connection=connection) for f in changed]  # type: ignore[union-attr]
    assignments = ", ".join(f"{qn(f.column)} = %s" for f in changed)  # type: ignore[union-attr,arg-type]
    insert_sql, insert_fields = _insert_sql(new, conflict=" ON CONFLICT DO NOTHING")
    queries = [f"{name} AS ({sql})" for name, sql, _ in before] + [f"i AS ({insert_sql})"]
    params = [value for _, _, values_before in before for value in values_before]
    params += _values(new, insert_fields, connection)
    # ``x`` is the column each of ``before`` returns first (``RETURNING`` one column).
    arrays = "".join(f"ARRAY(SELECT x FROM {name} AS t(x)), " for name, _, _ in before)  # noqa: S608
    new_pk = qn(type(new)._meta.pk.column)  # type: ignore[union-attr]
    sql = (
        # The statements come from the models' metadata and the callers' own SQL; values are parameters.
        f"WITH {', '.join(queries)} UPDATE {qn(meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {qn(meta.pk.column)} = %s RETURNING {arrays}(SELECT {new_pk} FROM i)"  # type: ignore[union-attr]
    )
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [*params, *values, obj.pk])
        row = cursor.fetchone()
    assert row is not None, "update_columns_and_insert: the updated row must exist"
    for (name, _, _), value in zip(before, row, strict=False):
        returned[name] = list(value)
    if row[-1] is None:
        return returned, False
    _inserted(new, row[-1], router.db_for_write(type(new), instance=new))
    return returned, True


_CONVERTERS: dict[tuple[str, type[Model], tuple[str, ...]], list[tuple[Any, list[Any]]]] = {}


def from_row(model: type[M], fields: Sequence[Field[Any, Any]], row: Sequence[Any], alias: str) -> M:
    """The ``model`` instance of ``row``, the values of ``fields`` read by hand-written SQL, converted as the
    ORM's compiler converts them (SQLite's decimals and datetimes, the encrypted fields' decryption)."""
    connection = connections[alias]
    key = (alias, model, tuple(f.attname for f in fields))
    if key not in _CONVERTERS:
        table = model._meta.db_table
        found = []
        for field in fields:
            col = field.get_col(table)
            found.append((col, [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]))
        _CONVERTERS[key] = found
    values = []
    for value, (col, converters) in zip(row, _CONVERTERS[key], strict=True):
        for converter in converters:
            value = converter(value, col, connection)
        values.append(value)
    return model.from_db(alias, list(key[2]), values)


_NEVER = 2**31 - 1  # executions after which psycopg would prepare a statement of its own accord


class _PreparingCursor(psycopg.Cursor[Any]):
    """A psycopg cursor that binds its parameters server-side and has every statement prepared."""

    def execute(
        self,
        query: Any,
        params: Any = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> _PreparingCursor:
        return super().execute(query, params, prepare=True, binary=binary)


class _PreparedDebugWrapper(CursorDebugWrapper):
    """Django's logging cursor, logging the statement as written (with its placeholders; the parameters are
    logged beside it): psycopg keeps no text of a prepared execution for ``last_executed_query``."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(sql, params):
            return self._execute_with_wrappers(sql, params, many=False, executor=self._execute)


@contextmanager
def prepared_cursor(connection: BaseDatabaseWrapper) -> Iterator[Any]:
    """A cursor (Django's wrapper: errors translated; logged as written, the parameters beside) whose
    statements PostgreSQL plans once per connection: psycopg binds the parameters server-side and prepares each statement the first time the
    connection runs it (its cache holds 100 per connection); PostgreSQL then plans the statement for its
    first five executions and keeps a generic plan when it costs no more than theirs. For a long statement
    run on every call of a hot path, where planning costs as much as executing (the duplicate finder's
    look-up), and for the statements of fixed shape this module writes (``insert``, ``insert_if_absent``,
    ``update_columns``…: the WeChat callback's, case intake's and the audit chain's; issue 16 measured
    the database server's CPU per callback message about a quarter lower with them prepared). Not for a
    statement whose text varies with its data (``insert_many``'s rows): each shape would take a place in
    the cache, and its first execution one more round trip (PREPARE). The statement's ``%s`` / ``%(name)s`` placeholders become ``$n``: a parameter whose type the
    statement must know is cast in it (``%s::text[]``). Elsewhere (SQLite) an ordinary cursor.

    Not for a connection through a pooler in transaction mode, which may hand the next statement to a
    server session that never prepared it."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw_connection = connection.connection
    if raw_connection.prepare_threshold is None:
        # Django switches psycopg's preparing off (None), which refuses even an explicit ``prepare=True``.
        # Switched on with a threshold no statement reaches, it prepares only this cursor's statements:
        # Django's own cursors bind client-side and never prepare.
        raw_connection.prepare_threshold = _NEVER
    raw = _PreparingCursor(raw_connection)
    if connection.queries_logged:
        cursor = _PreparedDebugWrapper(raw, connection)
    else:
        cursor = connection.make_cursor(raw)  # type: ignore[arg-type]
    with cursor:
        yield cursor
