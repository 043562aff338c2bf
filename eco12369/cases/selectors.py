"""Reads of cases, always scoped to what the user may see (DESIGN §5, §10)."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import connections
from django.db.models import BooleanField, ExpressionWrapper, F, Func, Q, QuerySet, Value
from django.utils import timezone

from eco12369.crypto import blind_q
from eco12369.orgs.models import Agency, Role, User

from .models import OPEN_STATES, QUERY_CODE_LENGTH, Case, query_code_matches

CASE_ROLES = frozenset({Role.OPERATOR, Role.HANDLER, Role.REVIEWER, Role.HEAD})


def cases_visible_to(*, user: User | AnonymousUser) -> QuerySet[Case]:
    """City centre staff see every case; a district bureau's staff see the cases of their district; the
    system administrator and the auditor see no case content (separation of duties); anyone else none."""
    qs = Case.objects.all()
    if (
        not isinstance(user, User)
        or not user.is_authenticated
        or not user.is_active
        or user.agency_id is None
    ):
        return qs.none()
    if not (user.role_set & CASE_ROLES):
        return qs.none()
    agency = user.agency
    assert agency is not None
    if agency.kind == Agency.Kind.CITY_CENTRE:
        return qs
    if agency.kind == Agency.Kind.DISTRICT_BUREAU:
        return qs.filter(region_id=agency.region_id)
    return qs.none()


def visible_region(*, user: User | AnonymousUser) -> int | None:
    """The district ``cases_visible_to`` limits the user's cases to (a district bureau's staff), if any."""
    if isinstance(user, User) and user.agency_id is not None:
        agency = user.agency
        if agency is not None and agency.kind == Agency.Kind.DISTRICT_BUREAU:
            return agency.region_id
    return None


def reporter_q(*, openid: str, prefix: str = "") -> Q:
    """The condition "reported by ``openid``" on a case (or, with ``prefix="case__"``, on a related row):
    the openid is stored encrypted, so the look-up is on its blind index. An empty openid matches nothing."""
    return blind_q(f"{prefix}reporter_openid", openid)


def cases_of_reporter(*, openid: str) -> QuerySet[Case]:
    """The reporter's own cases (any state, unscoped by staff rights: for the reporter's own channels, the
    WeChat conversation and the H5 pages). The one look-up by openid every app uses."""
    if not openid:
        return Case.objects.none()
    return Case.objects.filter(reporter_q(openid=openid))


def case_get_for(*, user: User | AnonymousUser, number: str) -> Case | None:
    """One case by number, only if ``user`` may see it (the access check is in the same query)."""
    return (
        cases_visible_to(user=user)
        .select_related("region", "agency", "department", "handover_agency", "duplicate_of")
        .filter(number=number.strip().upper())
        .first()
    )


def case_by_number_and_code(*, number: str, code: str) -> Case | None:
    """The case with ``number`` only if ``code`` is its query code (``models.query_code_matches``): what a
    stranger who was given both (a caller read them on the phone) may look up. A number that does not exist
    costs the same comparison as a wrong code, so the answer's timing does not tell them apart."""
    case = (
        Case.objects.select_related("agency", "handover_agency", "duplicate_of", "region")
        .filter(number=number.strip().upper())
        .first()
    )
    if case is None:
        secrets.compare_digest("".join(code.split()).upper().encode(), b"-" * QUERY_CODE_LENGTH)
        return None
    return case if query_code_matches(case, code) else None


def cases_overdue(*, user: User | AnonymousUser, now: dt.datetime | None = None) -> QuerySet[Case]:
    """Open cases past their current deadline (confirmation or closing), visible to ``user``."""
    now = now or timezone.now()
    return cases_visible_to(user=user).filter(state__in=OPEN_STATES, due_at__lt=now)


def cases_due_soon(*, user: User | AnonymousUser, now: dt.datetime | None = None) -> QuerySet[Case]:
    """Open cases with less than the due-soon fraction of their time left, not yet overdue."""
    now = now or timezone.now()
    return cases_visible_to(user=user).filter(state__in=OPEN_STATES, warn_at__lte=now, due_at__gte=now)


def reroute_targets_for(*, case: Case) -> QuerySet[Agency]:
    """Where ``case`` can be re-routed: the city centre and the district bureaus, except its owner."""
    return (
        Agency.objects.filter(kind__in=(Agency.Kind.CITY_CENTRE, Agency.Kind.DISTRICT_BUREAU))
        .exclude(pk=case.agency_id)
        .select_related("region")
        .order_by("region__code", "kind")
    )


class _PairsContain(Func):
    """PostgreSQL: the character pairs of the upper-cased ``field`` include every pair of ``text`` (the GIN
    indexes of the pairs answer it, migration 0016; the expression must match the index's).

    ``region``: and the case is of that district. Each index holds, beside a case's pairs, a token of its
    district (``eco_district_pairs``: ``#<region id>#``, three characters or more, so never a pair), and the
    district is asked for with the pairs in one containment: the index itself skips to the district's cases
    holding the pairs. A word common in other districts costs a district's search nothing (解放南路 in 滨海新区
    at ten million cases: 105,000 cases elsewhere, none there). A search of the whole city asks for the pairs
    alone.

    ``opaque``: the pairs of ``text`` are computed in a sub-select (an InitPlan), so the planner does not see
    them. It sees them otherwise and multiplies the shares of the pairs as if independent: a street name of
    three pairs held by 115,000 of ten million cases is estimated at a handful of rows, and it reads every
    one of them from the table before a condition on the received time or the district. Blind, it takes
    PostgreSQL's default share for an array containment (0.5 %) and ANDs the index's bitmap with the
    received time's and the district's (``BitmapAnd``): only the cases of a time slice are read."""

    output_field = BooleanField()

    def __init__(
        self,
        field: str,
        text: str,
        *,
        opaque: bool = False,
        region: int | None = None,
        using: str = "default",
    ) -> None:
        super().__init__(F(field), F("region_id"), Value(text))
        self.opaque = opaque
        self.region = region
        self.rare = rare_pairs(field, text, using=using)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        field_sql, field_params = compiler.compile(self.source_expressions[0])
        region_sql, region_params = compiler.compile(self.source_expressions[1])
        indexed = f"eco_district_pairs({region_sql}, upper(({field_sql})::text))"
        params: list[Any]
        if self.rare is not None:
            pairs, params = "%s::text[]", [self.rare]
        else:
            text_sql, text_params = compiler.compile(self.source_expressions[2])
            pairs, params = f"eco_bigrams(upper(({text_sql})::text))", list(text_params)
        if self.region is not None:
            pairs, params = f"({pairs} || %s::text)", [*params, district_token(self.region)]
        if self.opaque:
            pairs = f"(SELECT {pairs})"
        return f"{indexed} @> {pairs}", [*region_params, *field_params, *params]


def district_token(region: int) -> str:
    """The token of a district in the pairs indexes (``eco_district_pairs``, migration 0016)."""
    return f"#{region}#"


# The GIN index is asked for the rarest pairs of a search text only: it reads the whole list of cases of each
# pair it is asked for, and the LIKE checks the whole text anyway. 建材有限公司 in a district's month at ten
# million cases: its five pairs (有限, 限公, 公司 are in most parties) 69 ms, its two rarest 12 ms.
RARE_PAIRS = 2


def _plain(text: str) -> bool:
    """Only CJK ideographs and ASCII digits: upper-casing is the identity in Python and in PostgreSQL, so the
    pairs computed here are those ``eco_bigrams(upper(text))`` computes."""
    return all("\u4e00" <= c <= "\u9fff" or c in "0123456789" for c in text)


def rare_pairs(field: str, text: str, *, using: str) -> list[str] | None:
    """The ``RARE_PAIRS`` rarest character pairs of ``text`` in ``field`` by the statistics of its pairs
    index (a pair they do not list is rarer than any they do); ``None`` (ask for every pair) for a text of
    few pairs, not ``_plain``, or without statistics."""
    pairs = sorted({text[i : i + 2] for i in range(len(text) - 1)})
    if len(pairs) <= RARE_PAIRS or not _plain(text) or connections[using].vendor != "postgresql":
        return None
    stats = search_statistics(using)
    if stats is None or field not in stats.pairs:
        return None
    shares, unlisted = stats.pairs[field]
    return sorted(pairs, key=lambda pair: (shares.get(pair, unlisted), pair))[:RARE_PAIRS]


def _contains(field: str, text: str, using: str, *, opaque: bool = False, region: int | None = None) -> Q:
    """``field`` contains ``text`` (case-insensitive); on PostgreSQL first narrowed by the GIN index of the
    field's character pairs (migrations 0006, 0010 and 0016), in ``region`` if given."""
    condition = Q(**{f"{field}__icontains": text})
    if len(text) >= 2 and connections[using].vendor == "postgresql":
        condition &= Q(_PairsContain(field, text, opaque=opaque, region=region, using=using))
    return condition


# The free text of a case a staff search looks in (issue 15): what was reported, whom and where. None is
# encrypted (only the reporter's identity is), so the database searches them; each has a pairs index.
TEXT_FIELDS = ("description", "public_summary", "reported_party", "address")
PARTY_FIELDS = ("reported_party",)


def text_contains(text: str, fields: tuple[str, ...] = TEXT_FIELDS) -> Q:
    """Any of ``fields`` contains ``text`` (case-insensitive): the LIKEs alone, no index."""
    contains = Q()
    for field in fields:
        contains |= Q(**{f"{field}__icontains": text})
    return contains


def cases_matching_text(
    qs: QuerySet[Case], text: str, *, opaque: bool = False, region: int | None = None
) -> QuerySet[Case]:
    """The cases of ``qs`` whose description, public summary, reported party or address contains ``text``
    (Chinese or not, case-insensitive): each field's pairs index answers its part on PostgreSQL (a
    BitmapOr of four index scans); SQLite (the demo) checks every row. ``opaque``: see ``_PairsContain``
    (the time-sliced search, ``workbench/timeslices.py``). ``region``: ``qs`` holds that district's cases
    only (the user's, or the search's district filter), and the pairs indexes are asked for them alone.

    On PostgreSQL the condition is written as (any field's pairs) AND (any field's LIKE), not as the OR of
    each field's (pairs AND LIKE): the BitmapOr answers the first part, and each row it finds is checked by
    the LIKEs alone. Written per field, every row found computed its pairs again in the filter, about 20 µs
    a row: a street name in ten thousand addresses cost 290 ms instead of 75 ms at a million cases."""
    text = text.strip()
    if not text:
        return qs
    contains = text_contains(text)
    if len(text) < 2 or connections[qs.db].vendor != "postgresql":
        return qs.filter(contains)
    narrowed = Q()
    for field in TEXT_FIELDS:
        narrowed |= Q(_PairsContain(field, text, opaque=opaque, region=region, using=qs.db))
    return qs.filter(narrowed, contains)


def party_contains(
    qs: QuerySet[Case], text: str, *, opaque: bool = False, region: int | None = None
) -> QuerySet[Case]:
    """The cases of ``qs`` whose reported party contains ``text`` (case-insensitive). On PostgreSQL the
    GIN index of character pairs narrows the rows first, so the search does not scan every case.
    ``opaque``, ``region``: see ``_PairsContain`` (``qs`` holds that district's cases only)."""
    return qs.filter(_contains("reported_party", text.strip(), qs.db, opaque=opaque, region=region))


def newest_matching_text(
    ordered: QuerySet[Case],
    text: str,
    *,
    limit: int,
    scan: int,
    fields: tuple[str, ...] = TEXT_FIELDS,
) -> tuple[list[tuple[int, int]], bool]:
    """The first ``limit`` cases of ``ordered`` (a query set in its list's order) whose free text (or, with
    ``fields``, one of those fields) contains ``text`` (``cases_matching_text``), looked for among its first ``scan`` rows only: each one's id and
    its place in ``ordered`` (1 for its first row); and whether the walk reached the end of ``ordered``
    (then, with fewer than ``limit``, they are all its matches). Fewer than ``limit`` before the end say
    nothing of the rows beyond ``scan``.

    For a common word (one case in fifteen holds 排污): the database walks the list's index from its start,
    checks each row by the LIKEs and stops at ``limit`` matches or ``scan`` rows, whichever comes first,
    where the pairs indexes would first collect every match of the province (67,000 rows)."""
    hit = ExpressionWrapper(text_contains(text.strip(), fields), output_field=BooleanField())
    first = ordered.annotate(text_hit=hit).values_list("id", "text_hit")[:scan]
    sql, params = first.query.get_compiler(using=ordered.db).as_sql()
    # ``sql`` is the ORM's, its values in ``params``. The rows are numbered in the order they come; the
    # last one read (no row after it) comes too, to tell whether the list ended before ``scan``.
    walk = (
        "SELECT t.id, t.text_hit, t.place, t.last FROM (SELECT s.id, s.text_hit, "  # noqa: S608
        "row_number() OVER () AS place, lead(s.id) OVER () IS NULL AS last "
        f"FROM ({sql}) s) t WHERE t.text_hit OR t.last LIMIT %s"
    )
    with connections[ordered.db].cursor() as cursor:
        cursor.execute(walk, (*params, limit + 1))
        rows = cursor.fetchall()
    found = [(pk, place) for pk, matches, place, _ in rows if matches][:limit]
    ended = any(last and place < scan for _, _, place, last in rows)
    return found, ended and len(found) < limit


# The statistics PostgreSQL's ANALYZE keeps, read to choose how to search (never what is found): per pairs
# index (its expression), the share of cases holding each common pair and the share taken for a pair not
# listed; the number of cases, the earliest received time of the sample and each district's share.
PAIRS_INDEXES = {
    "description": "case_description_bigrams",
    "public_summary": "case_public_summary_bigrams",
    "reported_party": "case_party_bigrams",
    "address": "case_address_bigrams",
}
PAIR_STATS_SECONDS = 600.0  # read again after this long: ANALYZE changes them slowly


@dataclass(frozen=True)
class SearchStatistics:
    pairs: dict[str, tuple[dict[str, float], float]]  # field: (share of each listed pair, of one not listed)
    cases: float  # pg_class.reltuples (-1 or 0: never analysed)
    # received_at: the times many cases share, with their shares, and the histogram of the others (as many
    # of them between each two bounds).
    received_common: dict[dt.datetime, float] = dataclasses.field(default_factory=dict)
    received_bounds: list[dt.datetime] = dataclasses.field(default_factory=list)
    region_shares: dict[int, float] = dataclasses.field(default_factory=dict)

    @property
    def first_received(self) -> dt.datetime | None:
        times = [*self.received_bounds[:1], *self.received_common]
        return min(times) if times else None

    def received_share(self, start: dt.datetime, end: dt.datetime) -> float:
        """About what share of the cases were received from ``start`` to ``end`` (by the statistics; the
        cases received since the last ANALYZE are not in them)."""
        return max(self._received_before(end) - self._received_before(start), 0.0)

    def _received_before(self, moment: dt.datetime) -> float:
        common = sum(share for at, share in self.received_common.items() if at < moment)
        bounds = self.received_bounds
        if len(bounds) < 2 or moment <= bounds[0]:
            return common
        rest = max(1.0 - sum(self.received_common.values()), 0.0)
        if moment >= bounds[-1]:
            return common + rest
        i = bisect.bisect_right(bounds, moment) - 1
        width = (bounds[i + 1] - bounds[i]).total_seconds()
        within = (moment - bounds[i]).total_seconds() / width if width > 0 else 0.0
        return common + rest * (i + within) / (len(bounds) - 1)


_search_stats: dict[str, tuple[float, SearchStatistics]] = {}

SEARCH_STATS_SQL = """
SELECT tablename, attname, most_common_elems::text::text[], most_common_elem_freqs,
       most_common_vals::text::text[], most_common_freqs, histogram_bounds::text::text[],
       (SELECT reltuples FROM pg_class WHERE oid = to_regclass('cases_case'))
FROM pg_stats
WHERE schemaname = current_schema()
  AND (tablename = ANY(%s) OR (tablename = 'cases_case' AND attname IN ('received_at', 'region_id')))
"""


def search_statistics(using: str) -> SearchStatistics | None:
    """The statistics (one query, then kept by the process for ``PAIR_STATS_SECONDS``); ``None`` on SQLite."""
    if connections[using].vendor != "postgresql":
        return None
    now = time.monotonic()
    cached = _search_stats.get(using)
    if cached is not None and now - cached[0] < PAIR_STATS_SECONDS:
        return cached[1]
    fields = {index: field for field, index in PAIRS_INDEXES.items()}
    pairs: dict[str, tuple[dict[str, float], float]] = {}
    cases, common, bounds, regions = 0.0, {}, [], {}
    with connections[using].cursor() as cursor:
        cursor.execute(SEARCH_STATS_SQL, [list(fields)])
        for table, column, elems, elem_freqs, values, freqs, histogram, rows in cursor.fetchall():
            cases = float(rows or 0)
            if table in fields:
                # elem_freqs: one per element, then the smallest and largest of them and the share of empty
                # arrays. A pair not listed is rarer than the rarest listed: PostgreSQL's planner takes
                # half its share (at most 0.5 %), and so does this.
                elems, elem_freqs = elems or [], elem_freqs or []
                listed = float(elem_freqs[len(elems)]) if len(elem_freqs) > len(elems) else 0.0
                pairs[fields[table]] = (dict(zip(elems, elem_freqs, strict=False)), min(listed / 2, 0.005))
            elif column == "received_at":
                common = {
                    dt.datetime.fromisoformat(v): float(f)
                    for v, f in zip(values or [], freqs or [], strict=False)
                }
                bounds = [dt.datetime.fromisoformat(bound) for bound in histogram or []]
            elif column == "region_id":
                regions = {int(v): float(f) for v, f in zip(values or [], freqs or [], strict=False)}
    stats = SearchStatistics(pairs, cases, common, bounds, regions)
    _search_stats[using] = (now, stats)
    return stats


def pair_statistics_forget() -> None:
    """Read the statistics again at the next estimate (after an ANALYZE)."""
    _search_stats.clear()


def text_share(text: str, *, using: str, fields: tuple[str, ...] = TEXT_FIELDS) -> float | None:
    """At most about what share of the cases hold ``text`` in one of ``fields`` (by default their free
    text), from the statistics of the pairs indexes (a field holds the text only where it holds every pair
    of it: the share of its rarest pair); ``None`` without statistics (SQLite, a table not analysed yet).
    Only chooses how to search: the rows found are the same either way."""
    text = text.strip().upper()
    if connections[using].vendor != "postgresql":
        return None
    if len(text) < 2:
        return 1.0  # a single character: found everywhere
    stats = search_statistics(using)
    if stats is None or not set(fields) <= set(stats.pairs):
        return None
    pairs = {text[i : i + 2] for i in range(len(text) - 1)}
    share = 0.0
    for field in fields:
        shares, unlisted = stats.pairs[field]
        share += min(shares.get(pair, unlisted) for pair in pairs)
    return min(share, 1.0)
