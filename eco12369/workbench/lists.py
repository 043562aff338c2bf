"""The case lists of the workbench (the queues and /search/, issue 15): the columns they show, the sorts
a user may ask for (a whitelist: ``?sort=<key>`` or ``?sort=-<key>``, always broken by the id so a page
never repeats or skips a row), the search filters and the Excel export of the list as filtered.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Exists, Field, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language

from eco12369.cases.deadlines import DeadlineView, deadline_view
from eco12369.cases.models import OPEN_STATES, Case, CaseEvent, SupervisionOrder
from eco12369.cases.selectors import (
    PARTY_FIELDS,
    TEXT_FIELDS,
    cases_matching_text,
    newest_matching_text,
    party_contains,
    search_statistics,
    text_share,
)
from eco12369.pages import count_label

from .keyset import AFTER, BEFORE, POSITION_PARAMS, forward_rows
from .timeslices import first_width, round_estimate, sliced_rows, total_text


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    field: str  # the model field the column sorts by ("" = not sortable)


COLUMNS = (
    Column("number", "编号", "number"),
    Column("received", "接收时间", "received_at"),
    Column("region", "所属区", "region__code"),
    Column("kind", "类型", "kind"),
    Column("category", "污染类别", "category"),
    Column("party", "被举报对象", "reported_party"),
    Column("state", "状态", "state"),
    Column("due", "期限", "due_at"),
)
SORTS = {c.key: c for c in COLUMNS if c.field}


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool

    @property
    def param(self) -> str:
        return f"-{self.key}" if self.descending else self.key

    def ordering(self) -> tuple[str, ...]:
        field = SORTS[self.key].field
        if self.descending:
            return (f"-{field}", "-id")
        return (field, "id")


def sort_of(request: HttpRequest) -> Sort | None:
    """The sort the request asks for, if it is one of the columns' (anything else: the list's own order)."""
    raw = request.GET.get("sort", "").strip()
    key = raw.removeprefix("-")
    if key not in SORTS:
        return None
    return Sort(key, raw.startswith("-"))


def header(request: HttpRequest, current: Sort | None) -> list[dict[str, Any]]:
    """The table's column headings: each a link that sorts by it (ascending first, then the other way)."""
    params = request.GET.copy()
    for name in POSITION_PARAMS:  # a new order starts on its first page
        params.pop(name, None)
    cells = []
    for column in COLUMNS:
        active = current is not None and current.key == column.key
        descending = active and current is not None and current.descending
        params["sort"] = column.key if (not active or descending) else f"-{column.key}"
        cells.append(
            {
                "label": column.label,
                "href": "?" + params.urlencode(),
                "aria_sort": ("descending" if descending else "ascending") if active else "none",
                "active": active,
                "descending": descending,
            }
        )
    return cells


# ------------------------------------------------------------------------------------------- rows
# The columns of a list row whose value is a choice: shown by its label.
LABELLED = ("kind", "category", "state", "outcome")


@functools.lru_cache(maxsize=32)
def _choice_labels(field: str, language: str | None) -> dict[str, str]:
    """The labels of a case field's choices in ``language``: read once per process and language
    (``get_FOO_display`` rebuilds the whole choice list, made hashable, for every cell of every row)."""
    model_field = Case._meta.get_field(field)
    assert isinstance(model_field, Field)
    return {str(value): str(label) for value, label in model_field.flatchoices}


@dataclass(frozen=True)
class ListRow:
    """A row of a case list as the table shows it (``_case_table.html``): the case, its deadline, its
    links and its choices' labels, worked out once here rather than per cell in the template."""

    case: Case
    deadline: DeadlineView
    href: str
    preview_href: str
    labels: dict[str, str]


def _link_maker(url_name: str) -> Any:
    """``number -> URL`` for a URL whose only argument is a case number: reversed once per list, not per
    row (a case number is letters and digits, which need no quoting)."""
    marker = "0"
    head, _, tail = reverse(url_name, args=[marker]).rpartition(marker)
    return lambda number: f"{head}{number}{tail}"


def list_rows(cases: Iterable[Case], now: dt.datetime) -> list[ListRow]:
    labels = {name: _choice_labels(name, get_language()) for name in LABELLED}
    case_href, preview_href = _link_maker("workbench:case"), _link_maker("workbench:case_preview")
    rows = []
    for case in cases:
        row_labels = {}
        for name, choices in labels.items():
            value = getattr(case, name)
            row_labels[name] = choices.get(value, value)
        rows.append(
            ListRow(
                case, deadline_view(case, now), case_href(case.number), preview_href(case.number), row_labels
            )
        )
    return rows


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def _yes_no(qs: QuerySet[Case], value: str, condition: Q | Exists) -> QuerySet[Case]:
    if value == "yes":
        return qs.filter(condition)
    if value == "no":
        return qs.exclude(condition)
    return qs


SEARCH_ORDERING = ("-received_at", "-id")  # the search's own order: newest first

# A free-text search's walks read at most this many cases: for the page, for the count (``text_walk``).
# A word is walked when the statistics expect two pages in a page's walk: held by 1.4 % of the cases or more.
# At ten million cases a walk reads about 10 µs a case (about 1,500 cases, 15 ms, for a page of a word at
# 1.4 %), where each time slice reads the word's whole list in the pairs index, about 0.2 µs a case holding
# it (140,000 cases, 30 ms, a slice; a page takes one or two): 印染 of the closed cases, 110 -> 52 ms.
TEXT_PAGE_WALK = 3000
TEXT_COUNT_WALK = 5000


def text_walk(
    request: HttpRequest,
    others: QuerySet[Case],
    text: str,
    *,
    ordering: Sequence[str],
    page_size: int,
    cap: int,
    fields: tuple[str, ...] = TEXT_FIELDS,
) -> tuple[int | None, list[int] | None, tuple[int, int]]:
    """A search for a common word, in ``ordering`` (newest first): the ids of the request's page and one
    more, found by walking the cases of ``others`` (the search without its free text) from the page's
    start and checking each one's text (or ``fields``: the reported party's;
    ``selectors.newest_matching_text``), at most ``TEXT_PAGE_WALK`` of them; and the count (up to ``cap``
    and one more) when a walk from the list's start reaches the cap or the list's end; and how many the
    page's walk found in how many rows. No ids (``None``): read the page the usual way; no count: count
    another way.

    The pairs indexes find a rare word at once but collect every case of the province holding a common
    one (排污: 67,000 of a million) before the first is returned; a walk finds 21 cases holding a word one
    case in fifteen holds in about 300 rows. The statistics of the pairs indexes (``text_share``) say which
    words may be that common; how far the page's walk went says whether a walk would reach the count's
    cap. A word they misjudge costs a bounded walk; the rows shown and the count are the same."""
    share = text_share(text, using=others.db, fields=fields)
    if share is None or share * TEXT_PAGE_WALK < 2 * (page_size + 1):
        return None, None, (0, 0)
    start = forward_rows(request, others, ordering)
    if start is None:  # a page read backwards
        return None, None, (0, 0)
    found, ended = newest_matching_text(start, text, limit=page_size + 1, scan=TEXT_PAGE_WALK, fields=fields)
    sample = (len(found), found[-1][1] if found else 0)
    if len(found) <= page_size and not ended:
        return None, None, sample
    ids = [pk for pk, _ in found]
    if ended and not (request.GET.get(AFTER) or request.GET.get(BEFORE)):
        return len(found), ids, sample  # the first page's walk went through the whole list
    total: int | None = None
    reach = found[-1][1] * (cap + 1) / (page_size + 1) if found else TEXT_COUNT_WALK
    if 1.5 * reach <= TEXT_COUNT_WALK:  # about the rows a walk to the cap reads
        counted, whole = newest_matching_text(
            others.order_by(*ordering), text, limit=cap + 1, scan=TEXT_COUNT_WALK, fields=fields
        )
        total = len(counted) if len(counted) > cap or whole else None
    return total, ids, sample


def search_region(data: dict[str, Any], scope: int | None) -> int | None:
    """The district a search reads: the one its form asks for, else the user's own (``scope``:
    ``selectors.visible_region``), if any."""
    return data["district"].pk if data.get("district") else scope


def cases_filtered(
    qs: QuerySet[Case],
    data: dict[str, Any],
    now: dt.datetime,
    *,
    full_number: Any,
    opaque: bool = False,
    region: int | None = None,
) -> QuerySet[Case]:
    """``qs`` narrowed by the search form's cleaned ``data`` (every filter optional). ``opaque``: the words
    are searched as the time slices do (``selectors._PairsContain``). ``region``: the district ``qs`` is
    limited to (``selectors.visible_region``), if any; the words are looked up in the search's district
    (``search_region``)."""
    region = search_region(data, region)
    if data.get("number"):
        number = data["number"].strip().upper()
        # A whole case number is looked up by its unique index; a part of one is searched for.
        qs = (
            qs.filter(number=number) if full_number.fullmatch(number) else qs.filter(number__icontains=number)
        )
    if data.get("q"):
        qs = cases_matching_text(qs, data["q"], opaque=opaque, region=region)
    if data.get("reported_party"):
        qs = party_contains(qs, data["reported_party"], opaque=opaque, region=region)
    if data.get("district"):
        qs = qs.filter(region=data["district"])
    if data.get("agency"):
        qs = qs.filter(agency=data["agency"])
    if data.get("department"):
        qs = qs.filter(department=data["department"])
    if data.get("person"):
        # 经办人: a person of the user's own agency who acted on the case (accepted, assigned, handled,
        # reviewed...): the timeline's events name them; the workflow assigns departments, not people.
        qs = qs.filter(Exists(CaseEvent.objects.filter(case_id=OuterRef("pk"), actor=data["person"])))
    for name in ("kind", "category", "state", "channel", "source"):
        if data.get(name):
            qs = qs.filter(**{name: data[name]})
    for name, field in (("received", "received_at"), ("due", "due_at")):
        if data.get(f"{name}_from"):
            qs = qs.filter(**{f"{field}__gte": _day_start(data[f"{name}_from"])})
        if data.get(f"{name}_to"):
            qs = qs.filter(**{f"{field}__lt": _day_start(data[f"{name}_to"] + dt.timedelta(days=1))})
    if data.get("timing") == "due_soon":
        qs = qs.filter(state__in=OPEN_STATES, warn_at__lte=now, due_at__gt=now)
    elif data.get("timing") == "overdue":
        qs = qs.filter(state__in=OPEN_STATES, due_at__lt=now)
    qs = _yes_no(
        qs, data.get("supervised", ""), Exists(SupervisionOrder.objects.filter(case_id=OuterRef("pk")))
    )
    qs = _yes_no(qs, data.get("duplicate", ""), Q(duplicate_of__isnull=False))
    # The reporter's latest rating (followup.Rating.latest_of: one row per case, no duplicates).
    if data.get("satisfaction") == "none":
        qs = qs.filter(rating__isnull=True)
    elif data.get("satisfaction"):
        qs = qs.filter(rating__level=data["satisfaction"])
    return qs


# The search form's fields that do not narrow the list beyond the user's cases and the words.
UNNARROWING = frozenset({"q", "reported_party", "district", "sort"})


@dataclass(frozen=True)
class TextPage:
    """A search for words, newest first, at scale: the ids of the page's rows and one more, in reading
    order; the exact count up to the cap and one more when known; how the page says how many match."""

    ids: list[int]
    total: int | None
    total_text: str


def text_page(
    request: HttpRequest,
    visible: QuerySet[Case],
    data: dict[str, Any],
    now: dt.datetime,
    *,
    region: int | None,
    page_size: int,
    cap: int,
    full_number: Any,
) -> TextPage | None:
    """The page of a search for words (``q``, ``reported_party``) newest first on PostgreSQL, or ``None``
    (SQLite, no words: the usual way). ``visible``: the user's cases, limited to ``region`` (their
    district, ``selectors.visible_region``) if any; the search reads ``search_region``.

    One word common enough (the statistics: about one case in 70 or more) is found by walking the
    newest cases (``text_walk``) when the page is read forward. Any other is searched slice by slice of
    received time (``timeslices``): the page and what the slices counted, exact when they read the whole
    list, else an estimate."""
    if visible.db is None or connections[visible.db].vendor != "postgresql":
        return None
    q, party = (data.get("q") or "").strip(), (data.get("reported_party") or "").strip()
    if not (q or party):
        return None
    region = search_region(data, region)
    using = visible.db
    # The walk checks one word's LIKEs; the other filters (a party with the free text too) are the list's.
    text, fields, drop = (q, TEXT_FIELDS, "q") if q else (party, PARTY_FIELDS, "reported_party")
    if text:
        others = cases_filtered(visible, {**data, drop: ""}, now, full_number=full_number, region=region)
        total, walked, (matches, rows) = text_walk(
            request, others, text, ordering=SEARCH_ORDERING, page_size=page_size, cap=cap, fields=fields
        )
        if walked is not None:
            if total is not None:
                return TextPage(walked, total, f"共 {count_label(total, cap)} 件")
            # A walk too long to count: the share of the word in the rows the page's walk read, over the
            # scope's cases by the statistics, when nothing else narrows the list; else at least the page.
            stats = search_statistics(using)
            narrowed = any(value for name, value in data.items() if name not in UNNARROWING)
            if stats is not None and stats.cases > 0 and rows and not narrowed:
                scope = stats.cases * (stats.region_shares.get(region, 0.0) if region else 1.0)
                estimate = max(round_estimate(matches / rows * scope), matches)
                words = f"约 {estimate:,} 件（按最近 {rows} 件中的 {matches} 件推算）"
                return TextPage(walked, None, words)
            # Narrowed too (a state, a category...): what the walk found, more than a page; counting them
            # by the pairs indexes costs more than the page (化工 of the closed cases: 440 ms at 10M).
            return TextPage(walked, None, f"{matches} 件以上")
    stats = search_statistics(using)
    shares = [text_share(q, using=using)] if q else []
    if party:
        shares.append(text_share(party, using=using, fields=PARTY_FIELDS))
    known = [share for share in shares if share is not None]
    share = min(known) if known else None
    oldest = stats.first_received if stats is not None else None
    per_day: float | None = None
    if stats is not None and oldest is not None and stats.cases > 0:
        days = max((now - oldest).total_seconds() / 86400, 1.0)
        per_day = stats.cases / days * (stats.region_shares.get(region, 0.0) if region else 1.0)
    first = first_width(share=share, cases_per_day=per_day, per_page=page_size)
    if data.get("received_from"):
        start = _day_start(data["received_from"])
        oldest = max(oldest, start) if oldest is not None else start
    newest = now
    if data.get("received_to"):
        newest = min(now, _day_start(data["received_to"] + dt.timedelta(days=1)))
    qs = cases_filtered(visible, data, now, full_number=full_number, opaque=True, region=region)
    found = sliced_rows(request, qs, per_page=page_size, now=newest, first=first)
    first_page = not (request.GET.get(AFTER) or request.GET.get(BEFORE))
    words, exact = total_text(
        found,
        first_page=first_page,
        oldest=oldest,
        newest=newest,
        received_share=stats.received_share if stats is not None else None,
    )
    return TextPage(found.ids, exact, words)
