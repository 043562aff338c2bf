"""Keyset pagination of the case lists (issue 15): a page is the rows after (or before) the last row seen,
by the list's sort key and the id that breaks its ties, never an offset. Every page costs the same indexed
query whatever its depth, so a list has no cap: ``?after=<cursor>`` pages on, ``?before=<cursor>`` back.

A sort key may be empty (``due_at`` of a closed case): empty values come last in both directions, on
PostgreSQL and SQLite alike (``NULLS LAST``), and the conditions below follow that order.

A cursor is the key's value and the id, as base64 JSON; one that does not parse (edited by hand, a sort
changed under it) is ignored and the list starts from its first page. So is one the list's own links never
make: a time without its zone, a date outside the platform's years (``formfields.day_allowed``: 0001-01-01
overflows the conversion to UTC), an id beyond the database's integers.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, Field, Model, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.http import HttpRequest, QueryDict
from django.utils import timezone

from eco12369.formfields import day_allowed

AFTER, BEFORE = "after", "before"
ID_MAX = 2**63 - 1  # the largest id a database's bigint holds
# The parameters a list's own links drop: the position in the list and the export switch.
POSITION_PARAMS = ("page", AFTER, BEFORE, "format")


@dataclass(frozen=True)
class Key:
    """A list's order: one field (``region__code`` follows the relation), ties broken by the id."""

    field: str
    descending: bool

    @classmethod
    def of(cls, ordering: Sequence[str]) -> Key:
        """The key of an ordering written ``("-received_at", "-id")``: the first term, the id after it."""
        first = ordering[0]
        return cls(first.removeprefix("-"), first.startswith("-"))

    def model_field(self, model: type[Model]) -> Field[Any, Any]:
        current: Any = model
        parts = self.field.split("__")
        for name in parts[:-1]:
            current = current._meta.get_field(name).related_model
        found = current._meta.get_field(parts[-1])
        assert isinstance(found, Field)
        return found

    def ordering(self, *, nullable: bool, reverse: bool = False) -> tuple[OrderBy, OrderBy]:
        """The ORDER BY of the list (``reverse``: of a page read backwards). Empty values are placed only
        for a field that can be empty: a plain ``received_at DESC`` is what its index answers."""
        descending = self.descending != reverse
        nulls: dict[str, bool] = {}
        if nullable:
            nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
        value = F(self.field).desc(**nulls) if descending else F(self.field).asc(**nulls)
        pk = F("id").desc() if descending else F("id").asc()
        return value, pk

    def beyond(self, value: Any, pk: int, *, forward: bool, nullable: bool) -> Q:
        """The rows after the cursor (``forward``) or before it, in the list's order (empty values last)."""
        later, earlier = ("lt", "gt") if self.descending else ("gt", "lt")
        step = later if forward else earlier
        if value is None:
            if forward:  # among the empty values, which come last
                return Q(**{f"{self.field}__isnull": True, f"id__{step}": pk})
            return Q(**{f"{self.field}__isnull": False}) | Q(
                **{f"{self.field}__isnull": True, f"id__{step}": pk}
            )
        condition = Q(**{f"{self.field}__{step}": value}) | Q(**{self.field: value, f"id__{step}": pk})
        if forward and nullable:
            condition |= Q(**{f"{self.field}__isnull": True})
        return condition

    def value_of(self, row: Any) -> Any:
        value = row
        for name in self.field.split("__"):
            value = getattr(value, name) if value is not None else None
        return value


def cursor_encode(value: Any, pk: int) -> str:
    if isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    raw = json.dumps([value, pk], ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(text: str, field: Field[Any, Any]) -> tuple[Any, int] | None:
    """The cursor's value and id, or ``None`` when it is not one of this key's."""
    try:
        value, pk = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(pk, int) or isinstance(pk, bool) or not -ID_MAX <= pk <= ID_MAX:
            return None
        if value is not None:
            if not isinstance(value, str | int | float):
                return None
            value = field.to_python(value)
    except (ValueError, TypeError, OverflowError, binascii.Error, ValidationError, UnicodeDecodeError):
        return None
    if isinstance(value, dt.datetime) and timezone.is_naive(value):
        return None  # the list's own cursors carry their zone
    if isinstance(value, dt.date) and not day_allowed(value):
        return None
    return value, pk


@dataclass
class KeysetPage:
    rows: list[Any]
    has_next: bool
    has_previous: bool
    next_query: str = ""
    previous_query: str = ""
    first_query: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def object_list(self) -> list[Any]:
        return self.rows

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def _link(params: QueryDict, name: str | None = None, cursor: str = "") -> str:
    out = params.copy()
    for drop in POSITION_PARAMS:
        out.pop(drop, None)
    if name:
        out[name] = cursor
    return out.urlencode()


def request_position(
    request: HttpRequest, model_field: Field[Any, Any]
) -> tuple[tuple[Any, int] | None, bool]:
    """The request's cursor (``None``: the first page) and whether the page is read forward."""
    for name in (AFTER, BEFORE):
        raw = request.GET.get(name)
        if raw:
            cursor = cursor_decode(raw, model_field)
            return cursor, cursor is None or name == AFTER
    return None, True


def forward_rows(request: HttpRequest, qs: QuerySet[Any], ordering: Sequence[str]) -> QuerySet[Any] | None:
    """``qs`` in ``ordering`` from where the request's forward page starts (its first row on, or the rows
    after its ``after`` cursor), as ``keyset_page`` reads it; ``None`` for a page read backwards."""
    key = Key.of(ordering)
    model_field = key.model_field(qs.model)
    cursor, forward = request_position(request, model_field)
    if not forward:
        return None
    ordered = qs.order_by(*key.ordering(nullable=model_field.null))
    if cursor is not None:
        ordered = ordered.filter(key.beyond(cursor[0], cursor[1], forward=True, nullable=model_field.null))
    return ordered


def keyset_page(
    request: HttpRequest,
    qs: QuerySet[Any],
    ordering: Sequence[str],
    per_page: int,
    *,
    windows: Sequence[tuple[Q, int | None]] = (),
    found: Sequence[int] | None = None,
) -> KeysetPage:
    """The page of ``qs`` in ``ordering`` that the request's ``after``/``before`` cursor points to.

    One query: ``per_page + 1`` rows tell whether there is a page beyond. ``windows`` are narrower
    conditions tried first for a forward page, each with the number of rows it must hold to be taken
    (``None``: a whole page and one more); see ``RECENT_WINDOWS`` of the search. ``found``: the ids of the
    page's rows and one more, in either direction, already found (``timeslices.sliced_rows``): read by id."""
    key = Key.of(ordering)
    model_field = key.model_field(qs.model)
    cursor, forward = request_position(request, model_field)
    ordered = qs.order_by(*key.ordering(nullable=model_field.null, reverse=not forward))
    if cursor is not None:
        ordered = ordered.filter(key.beyond(cursor[0], cursor[1], forward=forward, nullable=model_field.null))
    rows: list[Any] | None = None
    if found is not None:
        rows = list(ordered.filter(pk__in=found)[: per_page + 1])
    elif forward:
        for condition, need in windows:
            wanted = per_page + 1 if need is None else need
            found = list(ordered.filter(condition)[: per_page + 1])
            if len(found) >= wanted:
                rows = found
                break
    if rows is None:
        rows = list(ordered[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    if not forward:
        rows.reverse()
    page = KeysetPage(
        rows=rows,
        has_next=more if forward else True,
        has_previous=(cursor is not None) if forward else more,
    )
    params = request.GET
    page.first_query = _link(params)
    if rows and page.has_next:
        last = rows[-1]
        page.next_query = _link(params, AFTER, cursor_encode(key.value_of(last), last.pk))
    if rows and page.has_previous:
        first = rows[0]
        page.previous_query = _link(params, BEFORE, cursor_encode(key.value_of(first), first.pk))
    return page
