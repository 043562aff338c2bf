"""Duplicate and repeat reports (重复举报, Art. 14): finding the earlier cases that report the same matter.

The scoring of a pair is pure and lives in ``duplicate_scoring`` (no database). This module is the
database half:

* ``fingerprint_write`` stores a case's look-up keys with the case: the normalised party, the street, the
  ~1 km grid cell (``CaseFingerprint``) and the character bigrams of its party and address
  (``CaseGram``, indexed by bigram and time of receipt).
* ``duplicates_find`` looks up the earlier cases that share a bigram (most shared first) or lie in a
  neighbouring grid cell, within ``WINDOW_DAYS`` for a duplicate of an open case and within
  ``REPEAT_DAYS`` after closing for a repeat of a closed one, scores each pair that could reach
  ``CANDIDATE_THRESHOLD`` (``score_bound``) and stores those from it as ``DuplicateCandidate`` rows
  (``kind``: duplicate or repeat), best first.

On PostgreSQL the finder takes three statements whatever the number of cases: the task's read of the
case, one that looks up, ranks and reads the candidates (``candidate_rows``), one that stores the result.
On a busy machine a round trip costs more than the work it carries. Elsewhere (SQLite: tests, development)
the same look-up runs in Python over a few statements (``candidate_ids``).

Both are plain functions: the case services call them when a case is created (the fingerprint in the
creating transaction; the finder after commit, in the Huey task ``duplicates_find_task``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Field, Model
from django.utils import timezone

from eco12369.cases.models import Case, State
from eco12369.db import from_row, insert_with, prepared_cursor
from eco12369.orgs.models import Region

from .duplicate_scoring import (
    CANDIDATE_THRESHOLD,
    FEATURES,
    REPEAT_DAYS,
    WEIGHTS,
    WINDOW_DAYS,
    PairScore,
    Sketch,
    address_similarity,
    case_problems,
    cell_key,
    closeness,
    districts_differ,
    grid_cell,
    haversine_m,
    lookup_grams,
    match_kind,
    neighbour_keys,
    normalise_address,
    normalise_party,
    pair_score,
    place_conflicts,
    problem_overlap,
    problems_differ,
    sketch,
    sources_differ,
    street_key,
    text_features,
    trades_differ,
)
from .models import CaseFingerprint, CaseGram, DuplicateCandidate

MAX_CANDIDATES_STORED = 10
# Scoring is the finder's main CPU cost, so the candidates are capped (top-k): the same matter shares the
# most bigrams of party and address and ranks near the top of the bigram look-up.
GRAM_LIMIT = 40  # earlier cases sharing the most bigrams, scored
POSTINGS_PER_GRAM = 100  # newest cases read per bigram (an index range, bounded whatever the table's size)
PARTY_BONUS = 3  # the same normalised party counts as this many shared bigrams
_PARTY = "#party"  # marks the postings of the same-party look-up among the bigrams
_PLACE = "#place"  # marks the postings of the neighbouring grid cells
RARE_POOL = 100  # cases found under the rarer bigrams, counted against the common ones too
MAX_GRAMS = 48  # bigrams looked up (a long party and address; the query stays one statement)
PLACE_LIMIT = 30  # newest cases of the nine grid cells around, scored
REGION_SCAN_LIMIT = 40  # newest cases of the district scored for a case with no party, address or place
# A repeat's earlier case closed at most REPEAT_DAYS before; it was received up to ~90 days before closing.
LOOKBACK_DAYS = REPEAT_DAYS + 90


def fingerprint_values(*, reported_party: str, address: str, latitude: Any, longitude: Any) -> dict[str, str]:
    """The indexed look-up keys of a case: normalised party, street, ~1 km grid cell."""
    cell = ""
    if latitude is not None and longitude is not None:
        cell = cell_key(grid_cell(float(latitude), float(longitude)))
    return {"party_key": normalise_party(reported_party), "street_key": street_key(address), "geo_cell": cell}


def case_grams(
    *, case_id: int, reported_party: str, address: str, received_at: dt.datetime
) -> list[CaseGram]:
    grams = lookup_grams(normalise_party(reported_party), normalise_address(address))
    return [CaseGram(case_id=case_id, gram=g, received_at=received_at) for g in grams]


# What ``duplicates_find`` reads of the new case and of its fingerprint (``finder_case``).
_OWN_CASE = (
    "id",
    "region",
    "reported_party",
    "address",
    "latitude",
    "longitude",
    "description",
    "category",
    "received_at",
)
_OWN_FINGERPRINT = ("case", "tokens", "concepts", "problems", "tokenized")


@lru_cache(maxsize=1)
def _finder_case_sql() -> tuple[str, list[Field[Any, Any]], list[Field[Any, Any]]]:
    """``finder_case``'s statement and the fields of its columns, in the models' field order (as
    ``Model.from_db`` takes them). Identifiers from the models' metadata (quoted)."""
    qn = connection.ops.quote_name
    case_fields = [f for f in Case._meta.concrete_fields if f.name in _OWN_CASE]
    fp_fields = [f for f in CaseFingerprint._meta.concrete_fields if f.name in _OWN_FINGERPRINT]
    columns = [f"c.{qn(f.column)}" for f in case_fields] + [f"f.{qn(f.column)}" for f in fp_fields]
    sql = (
        f"SELECT {', '.join(columns)} FROM {qn(Case._meta.db_table)} AS c "  # noqa: S608  (identifiers quoted)
        f"LEFT JOIN {qn(CaseFingerprint._meta.db_table)} AS f ON f.{_column(CaseFingerprint, 'case')} = c.{_column(Case, 'id')} "
        f"WHERE c.{_column(Case, 'id')} = %s"
    )
    return sql, case_fields, fp_fields


def finder_case(case_id: int) -> Case | None:
    """The case as the finder's task reads it: the columns ``duplicates_find`` uses (the others deferred) and
    its fingerprint, None when the case is gone. One hand-written statement: the ORM's query for the case
    and its fingerprint (fifty columns, three of them decrypted) cost more CPU to compile and read than
    the finder's look-up."""
    sql, case_fields, fp_fields = _finder_case_sql()
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [case_id])
        row = cursor.fetchone()
    if row is None:
        return None
    case = from_row(Case, case_fields, row[: len(case_fields)], connection.alias)
    if row[len(case_fields)] is not None:
        case.fingerprint = from_row(CaseFingerprint, fp_fields, row[len(case_fields) :], connection.alias)
    return case


def _fingerprint_parts(case: Case) -> tuple[dict[str, Any], list[CaseGram]]:
    """The case's fingerprint fields (look-up keys and time of receipt) and its bigrams, not yet written."""
    values = fingerprint_values(
        reported_party=case.reported_party,
        address=case.address,
        latitude=case.latitude,
        longitude=case.longitude,
    )
    grams = case_grams(
        case_id=case.pk,
        reported_party=case.reported_party,
        address=case.address,
        received_at=case.received_at,
    )
    return {**values, "received_at": case.received_at}, grams


def fingerprint_write(*, case: Case, new: bool = False) -> CaseFingerprint:
    """Create (``new``: the case was just inserted) or refresh the case's look-up keys and bigrams. Cheap:
    no tokenising. Runs inside the creating transaction."""
    values, grams = _fingerprint_parts(case)
    if new:
        fingerprint = CaseFingerprint(case_id=case.pk, **values)
        insert_with(fingerprint, grams)  # hand-written INSERTs, one statement: a new case's hot path
        return fingerprint
    fingerprint, _ = CaseFingerprint.objects.update_or_create(case_id=case.pk, defaults=values)
    CaseGram.objects.filter(case_id=case.pk).delete()
    CaseGram.objects.bulk_create(grams)
    return fingerprint


FINGERPRINT_BATCH = 1000  # rows per INSERT of ``fingerprints_create``


def fingerprints_create(cases: Sequence[Case]) -> None:
    """``fingerprint_write(new=True)`` for many newly inserted cases (a bulk intake): the same rows, written
    ``FINGERPRINT_BATCH`` per statement. Runs inside the creating transaction."""
    fingerprints: list[CaseFingerprint] = []
    grams: list[CaseGram] = []
    for case in cases:
        values, case_bigrams = _fingerprint_parts(case)
        fingerprints.append(CaseFingerprint(case_id=case.pk, **values))
        grams += case_bigrams
    CaseFingerprint.objects.bulk_create(fingerprints, batch_size=FINGERPRINT_BATCH)
    CaseGram.objects.bulk_create(grams, batch_size=FINGERPRINT_BATCH)


# The columns of an earlier case the finder reads, before its region's (``_ROW_FIELDS``) and after them.
_CASE_HEAD = ("id", "reported_party", "address", "latitude", "longitude", "category")
_CASE_TAIL = ("received_at", "state", "closed_at")
_ROW_FIELDS = (
    *_CASE_HEAD,
    "region__name",
    "region__level",
    *_CASE_TAIL,
    "fingerprint__tokens",
    "fingerprint__concepts",
    "fingerprint__problems",
    "fingerprint__tokenized",
)


class _Row(NamedTuple):
    """An earlier case as the finder reads it (``_ROW_FIELDS``, in order)."""

    id: int
    reported_party: str
    address: str
    latitude: Decimal | None
    longitude: Decimal | None
    category: str
    region_name: str | None
    region_level: str | None
    received_at: dt.datetime
    state: str
    closed_at: dt.datetime | None
    tokens: str | None
    concepts: str | None
    problems: str | None
    tokenized: bool | None


def _concept_set(stored: str | None) -> frozenset[str]:
    return frozenset(filter(None, (stored or "").split(",")))


def _district(name: str | None, level: str | None) -> str:
    return (name or "") if level == Region.Level.DISTRICT else ""


def _sketch_row(row: _Row, description: str) -> Sketch:
    if row.tokenized:
        return _tokenized_sketch(row)
    tokens, concept_set = text_features(description, row.reported_party)
    problems = case_problems(description, row.category)
    return _row_sketch(row, description, tokens=tokens, concept_set=concept_set, problems=problems)


@lru_cache(maxsize=4096)
def _tokenized_sketch(row: _Row) -> Sketch:
    """The sketch of an earlier case whose fingerprint holds its tokens, kept for the next finds (a case is
    a candidate of many later ones; the key is the whole row, so an edited case is sketched anew)."""
    return _row_sketch(
        row,
        "",
        tokens=(row.tokens or "").split(),
        concept_set=_concept_set(row.concepts),
        problems=_concept_set(row.problems),
    )


def _row_sketch(
    row: _Row, description: str, *, tokens: list[str], concept_set: frozenset[str], problems: frozenset[str]
) -> Sketch:
    return sketch(
        reported_party=row.reported_party,
        address=row.address,
        region=_district(row.region_name, row.region_level),
        latitude=row.latitude,
        longitude=row.longitude,
        description=description,
        category=row.category,
        received_at=row.received_at,
        closed_at=row.closed_at if row.state == State.CLOSED else None,
        tokens=tokens,
        concept_set=concept_set,
        problem_set=problems,
    )


# The pair model's log-odds from which a pair is stored (a hair below: the stored probability is rounded).
_LOG_ODDS_STORED = math.log((CANDIDATE_THRESHOLD - 1e-4) / (1 - CANDIDATE_THRESHOLD + 1e-4))


def score_bound(*, new: Sketch, old: Sketch) -> float:
    """An upper bound of the pair model's log-odds (``duplicate_scoring.features`` and ``WEIGHTS``) from
    the components that cost next to nothing (problem and trade, then distance, then the
    addresses); every other feature (each 0..1) is taken at its most favourable value. A pair whose bound
    is below ``CANDIDATE_THRESHOLD`` could not be stored and is not scored: most candidates of the look-up
    are excluded so (another problem, another trade, far away), and scoring them was the finder's main
    cost. The bound stops being refined once it is below the threshold (it is then a looser bound).
    tests/oversight/test_duplicates.py checks it against the full score on the labelled corpus."""
    bound = _BOUND_TOP
    problem = problem_overlap(new.problems, old.problems)
    bound = _settled(
        bound,
        problem=problem or 0.0,
        problem_diff=float(problems_differ(new, old, problem)),
        trade_diff=float(trades_differ(new, old)),
        district_conflict=float(districts_differ(new, old)),
        source_conflict=float(sources_differ(new, old)),
        # place × problem: at most the problem until the place is known.
        place_problem=problem or 0.0,
    )
    if bound < _LOG_ODDS_STORED:
        return bound
    place_weight = WEIGHTS["place_problem"] * (problem or 0.0)  # what the place's 1 − similarity takes off
    geo = None
    if new.lat is not None and new.lon is not None and old.lat is not None and old.lon is not None:
        geo = closeness(haversine_m(new.lat, new.lon, old.lat, old.lon))
    bound = _settled(bound, geo=geo or 0.0, geo_known=float(geo is not None))
    if geo is not None:
        bound -= place_weight * (1.0 - geo)
    if bound < _LOG_ODDS_STORED:
        return bound
    address = address_similarity(new.address, old.address) if new.address and old.address else None
    road_conflict, area_conflict = place_conflicts(new.address, old.address)
    if geo is None:
        bound -= place_weight * (1.0 - (address or 0.0))
    return _settled(
        bound,
        address=address or 0.0,
        address_known=float(address is not None),
        road_conflict=float(road_conflict),
        area_conflict=float(area_conflict),
    )


# Each feature's weight and its most favourable contribution (the weights are constants of the model).
_WEIGHT_TOP = {name: (WEIGHTS[name], max(0.0, WEIGHTS[name])) for name in FEATURES}
_BOUND_TOP = WEIGHTS["bias"] + sum(top for _, top in _WEIGHT_TOP.values())


def _settled(bound: float, **values: float) -> float:
    """``bound`` with the features ``values`` at their value instead of their most favourable one."""
    for name, value in values.items():
        settled = _WEIGHT_TOP.get(name)
        if settled is not None:
            weight, top = settled
            bound += weight * value - top
    return bound


def _column(model: type[Model], name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)  # type: ignore[arg-type,union-attr]


def _postings(
    *,
    case_pk: int,
    grams: list[str],
    party_key: str,
    cells: list[str],
    start: dt.datetime,
    end: dt.datetime,
) -> list[tuple[str, int, Any]]:
    """(key, case id, received_at) of the earlier cases found under each look-up key of a case, in one
    statement of bounded index ranges (the work does not grow with the table):

    * each bigram's newest ``POSTINGS_PER_GRAM`` cases in the window (the (gram, received_at, case) index);
    * the newest ``POSTINGS_PER_GRAM`` with the same normalised party (key ``_PARTY``, its own index);
    * each neighbouring grid cell's newest ``PLACE_LIMIT`` (key ``_PLACE``, the (cell, received_at) index;
      one range per cell: an IN list over nine cells reads the whole window in a sparse cell).

    Hand-written: compiling some sixty ORM querysets cost more CPU than running them. On PostgreSQL the
    bigrams and the cells are two arrays read by a lateral join (a short statement, planned once); elsewhere
    (SQLite) each range is its own subquery of a UNION ALL."""
    gram_table, fp_table = (connection.ops.quote_name(m._meta.db_table) for m in (CaseGram, CaseFingerprint))
    g_gram, g_case, g_received = (_column(CaseGram, f) for f in ("gram", "case", "received_at"))
    f_case, f_received = _column(CaseFingerprint, "case"), _column(CaseFingerprint, "received_at")
    f_party, f_cell = _column(CaseFingerprint, "party_key"), _column(CaseFingerprint, "geo_cell")
    lo, hi = (connection.ops.adapt_datetimefield_value(value) for value in (start, end))

    def newest(
        table: str, column: str, received: str, case: str, limit: int, *, key: str, other: bool
    ) -> str:
        """The newest ``limit`` cases of ``table`` whose ``column`` is ``key`` (a parameter or the lateral
        join's column) in the window, without the case itself when ``other``. The identifiers come from the
        models' metadata (quoted); every value is a parameter."""
        skip = f" AND {case} <> %s" if other else ""
        return (
            f"SELECT {case} AS case_id, {received} AS received_at FROM {table} "  # noqa: S608
            f"WHERE {column} = {key} AND {received} >= %s AND {received} <= %s{skip} "
            f"ORDER BY {received} DESC LIMIT {limit}"
        )

    def by_gram(key: str) -> str:
        return newest(gram_table, g_gram, g_received, g_case, POSTINGS_PER_GRAM, key=key, other=False)

    def by_cell(key: str) -> str:
        return newest(fp_table, f_cell, f_received, f_case, PLACE_LIMIT, key=key, other=True)

    by_party = newest(fp_table, f_party, f_received, f_case, POSTINGS_PER_GRAM, key="%s", other=False)
    # Only the cells' postings need their time of receipt (the newest are kept): the bigrams' go without.
    found = "SELECT {label}, r.case_id, NULL FROM "
    nearby = "SELECT {label}, r.case_id, r.received_at FROM "
    lateral = "unnest(%s::text[]) AS k(key) CROSS JOIN LATERAL ({range}) AS r"
    parts: list[str] = []
    params: list[Any] = []
    grams = grams[:MAX_GRAMS]
    if connection.vendor == "postgresql":
        if grams:
            parts.append(found.format(label="k.key") + lateral.format(range=by_gram("k.key")))
            params += [grams, lo, hi]
        if cells:
            cell_ranges = nearby.format(label="NULL") + lateral.format(range=by_cell("k.key"))
            parts.append(
                f"SELECT %s, n.case_id, n.received_at FROM ({cell_ranges} "  # noqa: S608  (as above)
                f"ORDER BY r.received_at DESC LIMIT {PLACE_LIMIT}) AS n"
            )
            params += [_PLACE, cells, lo, hi, case_pk]
    else:
        for gram in grams:
            parts.append(found.format(label="%s") + f"({by_gram('%s')}) AS r")
            params += [gram, gram, lo, hi]
        for cell in cells:
            parts.append(nearby.format(label="%s") + f"({by_cell('%s')}) AS r")
            params += [_PLACE, cell, lo, hi, case_pk]
    if party_key:
        parts.append(found.format(label="%s") + f"({by_party}) AS r")
        params += [_PARTY, party_key, lo, hi]
    if not parts:
        return []
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return [(key, pk, received) for key, pk, received in cursor.fetchall() if pk != case_pk]


def _sharing_most(*, postings: list[tuple[str, int]]) -> list[int]:
    """The earlier cases sharing the most bigrams with the case, from the bigram and party ``postings``
    (``_postings``). A bigram that filled its share is common (the town, the road); the cases found under
    the rarer bigrams (the party's name) are then counted against the common ones too, by their own bigrams
    (the case_id index), at most ``RARE_POOL`` of them.

    The newest cases with the same normalised party count as ``PARTY_BONUS`` shared bigrams: where every
    bigram is common, the whole name still is not. So the earlier report of 宏达化工 on 大邱庄津福公路 ranks
    first even when hundreds of later reports of other firms share the town and the road."""
    per_gram = Counter(gram for gram, _ in postings)
    common = {gram for gram, n in per_gram.items() if n >= POSTINGS_PER_GRAM - 1 and gram != _PARTY}
    seen = set(postings)
    shared: Counter[int] = Counter()
    for gram, pk in postings:
        shared[pk] += PARTY_BONUS if gram == _PARTY else 1
    if common:
        rare = Counter(pk for gram, pk in postings if gram not in common)
        pool = [pk for pk, _ in rare.most_common(RARE_POOL)]
        if pool:
            table = connection.ops.quote_name(CaseGram._meta.db_table)
            case_column, gram_column = _column(CaseGram, "case"), _column(CaseGram, "gram")
            sql = (
                f"SELECT {case_column}, {gram_column} FROM {table} "  # noqa: S608  (identifiers quoted)
                f"WHERE {case_column} IN ({', '.join(['%s'] * len(pool))}) "
                f"AND {gram_column} IN ({', '.join(['%s'] * len(common))})"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [*pool, *sorted(common)])
                for pk, gram in cursor.fetchall():
                    if (gram, pk) not in seen:
                        shared[pk] += 1
    ranked = sorted(shared.items(), key=lambda item: (-item[1], -item[0]))
    return [pk for pk, _ in ranked[:GRAM_LIMIT]]


def candidate_ids(*, case: Case, grams: list[str], geo_cell_keys: list[str]) -> list[int]:
    """Earlier cases worth scoring, from indexed look-ups bounded by ``LOOKBACK_DAYS`` (``_postings``, one
    statement): those sharing the most bigrams of party and address, those in a neighbouring grid cell
    (newest first); a case with none of these keys is compared with the newest cases of its district."""
    start = case.received_at - dt.timedelta(days=LOOKBACK_DAYS)
    end = case.received_at
    postings = _postings(
        case_pk=case.pk,
        grams=grams,
        party_key=normalise_party(case.reported_party) if grams else "",
        cells=geo_cell_keys,
        start=start,
        end=end,
    )
    by_key = [(key, pk) for key, pk, _ in postings if key != _PLACE]
    ids = _sharing_most(postings=by_key) if by_key else []
    nearby = sorted(((received, pk) for key, pk, received in postings if key == _PLACE), reverse=True)
    ids += [pk for _, pk in nearby[:PLACE_LIMIT]]
    if not ids:
        ids = _newest_of_district(case)
    return list(dict.fromkeys(ids))


def case_sketch(case: Case, fingerprint: CaseFingerprint, *, district: str) -> tuple[Sketch, bool]:
    """The sketch of ``case`` (in ``district``, "" when none) and whether its tokens were computed now (not
    yet on the fingerprint)."""
    tokenize_own = not fingerprint.tokenized
    if tokenize_own:
        own_tokens, own_concepts = text_features(case.description, case.reported_party)
        own_problems = case_problems(case.description, case.category)
    else:
        own_tokens, own_concepts = fingerprint.tokens.split(), _concept_set(fingerprint.concepts)
        own_problems = _concept_set(fingerprint.problems)
    return (
        sketch(
            reported_party=case.reported_party,
            address=case.address,
            region=district,
            latitude=case.latitude,
            longitude=case.longitude,
            description=case.description,
            category=case.category,
            received_at=case.received_at,
            tokens=own_tokens,
            concept_set=own_concepts,
            problem_set=own_problems,
        ),
        tokenize_own,
    )


def _newest_of_district(case: Case) -> list[int]:
    """A case with no party, address or place to look up by is compared with its district's newest."""
    return list(
        Case.objects.filter(
            region_id=case.region_id,
            received_at__gte=case.received_at - dt.timedelta(days=WINDOW_DAYS),
            received_at__lte=case.received_at,
        )
        .exclude(pk=case.pk)
        .order_by("-received_at")
        .values_list("id", flat=True)[:REGION_SCAN_LIMIT]
    )


def _rows(ids: list[int]) -> list[_Row]:
    return [_Row(*values) for values in Case.objects.filter(pk__in=ids).values_list(*_ROW_FIELDS)]


def candidate_rows(*, case: Case, grams: list[str], cells: list[str]) -> list[_Row]:
    """The rows of the candidates (``candidate_ids``) and, when there are any, of ``case`` itself (its
    district). On PostgreSQL the look-up, the ranking and the rows are one statement (``_lookup_sql``), and
    the newest of the district (``_newest_of_district``) another when that finds none (``_district_sql``)."""
    if connection.vendor != "postgresql":
        ids = candidate_ids(case=case, grams=grams, geo_cell_keys=cells)
        return _rows([case.pk, *ids]) if ids else []
    party_key = normalise_party(case.reported_party) if grams else ""
    params: dict[str, Any] = {
        "grams": grams[:MAX_GRAMS],
        "party": party_key,
        "cells": cells,
        "start": case.received_at - dt.timedelta(days=LOOKBACK_DAYS),
        "end": case.received_at,
        "self": case.pk,
    }
    with prepared_cursor(connection) as cursor:
        cursor.execute(_lookup_sql(party=bool(party_key)), params)
        rows = [_lookup_row(values) for values in cursor.fetchall()]
    if any(row.id != case.pk for row in rows):
        return rows
    params = {
        "region": case.region_id,
        "start": case.received_at - dt.timedelta(days=WINDOW_DAYS),
        "end": case.received_at,
        "self": case.pk,
    }
    with prepared_cursor(connection) as cursor:
        cursor.execute(_district_sql(region=case.region_id is not None), params)
        rows = [_lookup_row(values) for values in cursor.fetchall()]
    return rows if any(row.id != case.pk for row in rows) else []


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


_TIMES = (_Row._fields.index("received_at"), _Row._fields.index("closed_at"))


def _lookup_row(values: Sequence[Any]) -> _Row:
    """A row of ``_lookup_sql``: ``_ROW_FIELDS`` with the times in microseconds since the epoch."""
    row = list(values)
    for i in _TIMES:
        if row[i] is not None:
            row[i] = _EPOCH + dt.timedelta(microseconds=row[i])
    return _Row._make(row)


_PARTY_POSTINGS = """
        UNION ALL
        SELECT '{party_key}', 1000000, r.case_id, r.pos FROM (
            SELECT {f_case} AS case_id, row_number() OVER (ORDER BY {f_received_at} DESC) AS pos
            FROM {fingerprint}
            WHERE {f_party_key} = %(party)s AND {f_received_at} >= %(start)s AND {f_received_at} <= %(end)s
            ORDER BY {f_received_at} DESC LIMIT {per_gram}
        ) AS r"""

_LOOKUP = """
    WITH postings AS (
        SELECT k.key, k.ord, r.case_id, r.pos
        FROM unnest(%(grams)s::text[]) WITH ORDINALITY AS k(key, ord)
        CROSS JOIN LATERAL (
            SELECT {g_case} AS case_id,
                   row_number() OVER (ORDER BY {g_received_at} DESC, {g_case} DESC) AS pos
            FROM {casegram}
            WHERE {g_gram} = k.key AND {g_received_at} >= %(start)s AND {g_received_at} <= %(end)s
            ORDER BY {g_received_at} DESC, {g_case} DESC LIMIT {per_gram}
        ) AS r{party_postings}
    ),
    mine AS (SELECT * FROM postings WHERE case_id <> %(self)s),
    common AS (
        SELECT key FROM mine WHERE key <> '{party_key}' GROUP BY key HAVING count(*) >= {common}
    ),
    pool AS (
        SELECT case_id FROM mine WHERE key NOT IN (SELECT key FROM common)
        GROUP BY case_id ORDER BY count(*) DESC, min(ord * 1000 + pos) LIMIT {rare_pool}
    ),
    extra AS (
        SELECT g.{g_case} AS case_id FROM {casegram} AS g
        WHERE g.{g_case} IN (SELECT case_id FROM pool) AND g.{g_gram} IN (SELECT key FROM common)
          AND NOT EXISTS (SELECT 1 FROM mine AS m WHERE m.key = g.{g_gram} AND m.case_id = g.{g_case})
    ),
    shared AS (
        SELECT case_id FROM (
            SELECT case_id, CASE WHEN key = '{party_key}' THEN {party_bonus} ELSE 1 END AS n FROM mine
            UNION ALL
            SELECT case_id, 1 FROM extra
        ) AS s
        GROUP BY case_id ORDER BY sum(n) DESC, case_id DESC LIMIT {gram_limit}
    ),
    nearby AS (
        SELECT r.case_id FROM unnest(%(cells)s::text[]) AS k(key)
        CROSS JOIN LATERAL (
            SELECT {f_case} AS case_id, {f_received_at} AS received_at FROM {fingerprint}
            WHERE {f_geo_cell} = k.key AND {f_received_at} >= %(start)s AND {f_received_at} <= %(end)s
              AND {f_case} <> %(self)s
            ORDER BY {f_received_at} DESC LIMIT {place_limit}
        ) AS r
        ORDER BY r.received_at DESC LIMIT {place_limit}
    ),
    found AS (
        SELECT case_id FROM shared UNION SELECT case_id FROM nearby UNION SELECT CAST(%(self)s AS {pk_type})
    )"""

# ``_newest_of_district`` in the statement's form (the case itself read with them).
_DISTRICT = """
    WITH found AS (
        SELECT case_id FROM (
            SELECT c.{c_id} AS case_id FROM {case} AS c
            WHERE c.{c_region} {region_match} AND c.{c_received_at} >= %(start)s AND c.{c_received_at} <= %(end)s
              AND NOT c.{c_id} = %(self)s
            ORDER BY c.{c_received_at} DESC LIMIT {region_limit}
        ) AS newest
        UNION SELECT CAST(%(self)s AS {pk_type})
    )"""

_ROWS = """
    SELECT c.{c_id}, c.{c_reported_party}, c.{c_address}, c.{c_latitude}, c.{c_longitude}, c.{c_category},
           rg.{r_name}, rg.{r_level}, {micros_received_at}, c.{c_state}, {micros_closed_at},
           f.{f_tokens}, f.{f_concepts}, f.{f_problems}, f.{f_tokenized}
    FROM found
    JOIN {case} AS c ON c.{c_id} = found.case_id
    LEFT JOIN {region} AS rg ON rg.{r_id} = c.{c_region}
    LEFT JOIN {fingerprint} AS f ON f.{f_case} = c.{c_id}
    """


@lru_cache(maxsize=2)
def _district_sql(*, region: bool) -> str:
    """``_newest_of_district`` and the rows (``region``: the case has a district) as one PostgreSQL
    statement."""
    names = _lookup_names()
    where = "= %(region)s" if region else "IS NULL"
    return _DISTRICT.format(region_match=where, **names) + _ROWS.format(**names)


@lru_cache(maxsize=2)
def _lookup_sql(*, party: bool) -> str:
    """``candidate_ids`` and the candidates' rows as one PostgreSQL statement: the bigrams' and the
    party's postings (``_postings``), the rarer bigrams' cases counted against the common ones
    (``_sharing_most``: the same ranking, ties broken alike), the cells' newest, the rows. Identifiers
    from the models' metadata (quoted); every value a parameter."""
    names = _lookup_names()
    # The statement's identifiers and limits are the code's own (quoted names, integers): no value of a case
    # enters it but as a parameter.
    party_postings = _PARTY_POSTINGS.format(**names) if party else ""
    return _LOOKUP.format(party_postings=party_postings, **names) + _ROWS.format(**names)


@lru_cache(maxsize=1)
def _lookup_names() -> dict[str, Any]:
    """The identifiers (quoted, from the models' metadata) and limits of the finder's statements."""
    qn = connection.ops.quote_name
    return {
        "casegram": qn(CaseGram._meta.db_table),
        "fingerprint": qn(CaseFingerprint._meta.db_table),
        "case": qn(Case._meta.db_table),
        "region": qn(Region._meta.db_table),
        **{f"g_{f}": _column(CaseGram, f) for f in ("gram", "case", "received_at")},
        **{
            f"f_{f}": _column(CaseFingerprint, f)
            for f in (
                "case",
                "received_at",
                "party_key",
                "geo_cell",
                "tokens",
                "concepts",
                "problems",
                "tokenized",
            )
        },
        **{f"c_{f}": _column(Case, f) for f in (*_CASE_HEAD, "region", *_CASE_TAIL)},
        # The times as microseconds since the epoch (exact: extract gives a numeric), made datetimes again by
        # ``_lookup_row``: psycopg's text parser of a timestamptz (Django's loader) cost ~10 µs a value.
        **{
            f"micros_{f}": f"(extract(epoch FROM c.{_column(Case, f)}) * 1000000)::bigint"
            for f in ("received_at", "closed_at")
        },
        "pk_type": Case._meta.pk.db_type(connection),  # type: ignore[union-attr]
        "r_id": _column(Region, "id"),
        "r_name": _column(Region, "name"),
        "r_level": _column(Region, "level"),
        "per_gram": POSTINGS_PER_GRAM,
        "common": POSTINGS_PER_GRAM - 1,
        "rare_pool": RARE_POOL,
        "gram_limit": GRAM_LIMIT,
        "place_limit": PLACE_LIMIT,
        "party_bonus": PARTY_BONUS,
        "party_key": _PARTY,
        "region_limit": REGION_SCAN_LIMIT,
    }


def duplicates_find(*, case: Case, store: bool = True) -> list[DuplicateCandidate]:
    """Score the earlier cases that may report the same matter as ``case`` and (``store``) replace its
    ``DuplicateCandidate`` rows with those scoring at least ``CANDIDATE_THRESHOLD`` that are a duplicate
    (the earlier case open, within ``WINDOW_DAYS``) or a repeat (closed at most ``REPEAT_DAYS`` before),
    best first. Earlier means received before ``case`` (or at the same moment with a smaller id). A
    handful of queries whatever the number of cases (see ``candidate_ids``); only the pairs whose
    ``score_bound`` reaches the threshold are scored."""
    try:
        fingerprint = case.fingerprint  # loaded with the case by the task (select_related)
    except CaseFingerprint.DoesNotExist:
        fingerprint = fingerprint_write(case=case)
    lat, lon = case.latitude, case.longitude
    cells = neighbour_keys(float(lat), float(lon)) if lat is not None and lon is not None else []
    party, place = normalise_party((case.reported_party or "").strip()), normalise_address(case.address)
    # The case's own district is read with the candidates, in the same statement.
    rows = candidate_rows(case=case, grams=lookup_grams(party, place), cells=cells)
    own = next((row for row in rows if row.id == case.pk), None)
    rows = [row for row in rows if row.id != case.pk]
    district = _district(own.region_name, own.region_level) if own else ""
    new, tokenize_own = case_sketch(case, fingerprint, district=district)
    untokenized = [row.id for row in rows if not row.tokenized]
    descriptions = (
        dict(Case.objects.filter(pk__in=untokenized).values_list("id", "description")) if untokenized else {}
    )
    scored: list[tuple[PairScore, int]] = []
    for row in rows:
        if row.received_at == case.received_at and row.id > case.pk:
            continue
        old = _sketch_row(row, descriptions.get(row.id, ""))
        if not match_kind(new=new, old=old) or score_bound(new=new, old=old) < _LOG_ODDS_STORED:
            continue
        score = pair_score(new=new, old=old)
        if score.kind and score.total >= CANDIDATE_THRESHOLD:
            scored.append((score, row.id))
    # Equal scores: the closer party and text first, then the earlier case.
    scored.sort(key=lambda item: (-item[0].total, -((item[0].party or 0) + item[0].text), item[1]))
    scored = scored[:MAX_CANDIDATES_STORED]
    now = timezone.now()
    candidates = [
        DuplicateCandidate(
            case_id=case.pk,
            candidate_id=pk,
            kind=s.kind,
            score=s.total,
            party_score=s.party,
            place_score=s.place,
            text_score=s.text,
            problem_score=s.problem,
            distance_m=round(s.distance_m, 1) if s.distance_m is not None else None,
            days=round(s.days, 2),
            found_at=now,
        )
        for s, pk in scored
    ]
    if store:
        words = (" ".join(new.tokens), ",".join(sorted(new.concepts)), ",".join(sorted(new.problems)))
        _store(case_pk=case.pk, own=words if tokenize_own else None, candidates=candidates)
        _fingerprints_complete(rows, descriptions)
    return candidates


_STORED_FIELDS = (
    "case",
    "candidate",
    "kind",
    "score",
    "party_score",
    "place_score",
    "text_score",
    "problem_score",
    "distance_m",
    "days",
    "found_at",
)


def _store(*, case_pk: int, own: tuple[str, str, str] | None, candidates: list[DuplicateCandidate]) -> None:
    """Replace the case's candidates with ``candidates`` and (``own``: tokens, concepts, problems) store
    its tokens on its fingerprint, together. On PostgreSQL one statement (data-modifying WITH, atomic on
    its own): a transaction of an UPDATE, a DELETE and an INSERT took five round trips, and on a busy
    machine each costs more than the work. The INSERT reads what the DELETE returns, so the old rows are
    gone before the new ones (the same pairs, re-found) are checked against the unique constraint."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            if own is not None:
                tokens, concepts, problems = own
                CaseFingerprint.objects.filter(case_id=case_pk).update(
                    tokens=tokens, concepts=concepts, problems=problems, tokenized=True
                )
            DuplicateCandidate.objects.filter(case_id=case_pk).delete()
            DuplicateCandidate.objects.bulk_create(candidates)
        return
    fields = [DuplicateCandidate._meta.get_field(name) for name in _STORED_FIELDS]
    params: list[Any] = [*own, case_pk] if own is not None else []
    params.append(case_pk)
    for f in fields if candidates else ():  # one array per column
        params.append([f.get_db_prep_save(getattr(c, f.attname), connection=connection) for c in candidates])  # type: ignore[union-attr]
    sql = _store_sql(own=own is not None, relaxed=not connection.in_atomic_block, rows=bool(candidates))
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        if candidates:
            ids = dict((candidate_id, pk) for pk, candidate_id in cursor.fetchall())
            for c in candidates:
                c.pk = ids[c.candidate_id]
                c._state.adding = False
                c._state.db = connection.alias


@lru_cache(maxsize=8)
def _store_sql(*, own: bool, relaxed: bool, rows: bool) -> str:
    """``_store``'s PostgreSQL statement: the fingerprint's tokens (``own``), the old candidates deleted, the
    new ones (``rows``) inserted, each column an array parameter (one statement text for any number of
    rows: prepared once). Identifiers from the models' metadata (quoted); every value a parameter."""
    qn = connection.ops.quote_name
    table = qn(DuplicateCandidate._meta.db_table)
    ctes: list[str] = []
    if own:
        fp_table = qn(CaseFingerprint._meta.db_table)
        tokens, concepts, problems, tokenized, fp_case = (
            _column(CaseFingerprint, name) for name in ("tokens", "concepts", "problems", "tokenized", "case")
        )
        ctes.append(
            f"fingerprint AS (UPDATE {fp_table} SET {tokens} = %s, {concepts} = %s, {problems} = %s, "  # noqa: S608
            f"{tokenized} = true WHERE {fp_case} = %s)"
        )
    ctes.append(f"gone AS (DELETE FROM {table} WHERE {_column(DuplicateCandidate, 'case')} = %s RETURNING 1)")  # noqa: S608
    ready = "(SELECT count(*) FROM gone) >= 0"
    if relaxed:
        # The statement is a transaction of its own, and what it writes is derived (the finder writes it
        # again when run again): its commit need not wait for the WAL to reach the disk. A crash in the
        # next fraction of a second (wal_writer_delay) may lose it; it cannot corrupt or reorder anything.
        ctes.insert(0, "relaxed AS (SELECT set_config('synchronous_commit', 'off', true))")
        ready += " AND (SELECT count(*) FROM relaxed) = 1"
    if not rows:
        return f"WITH {', '.join(ctes)} SELECT {ready}"
    fields = [DuplicateCandidate._meta.get_field(name) for name in _STORED_FIELDS]
    columns = ", ".join(qn(f.column) for f in fields)  # type: ignore[arg-type,union-attr]
    # Each array cast to its column's type: an array of NULLs would be text.
    arrays = ", ".join(f"CAST(%s AS {f.cast_db_type(connection)}[])" for f in fields)  # type: ignore[union-attr]
    pk, candidate = qn(DuplicateCandidate._meta.pk.column), _column(DuplicateCandidate, "candidate")  # type: ignore[arg-type,union-attr]
    return (
        f"WITH {', '.join(ctes)} INSERT INTO {table} ({columns}) "  # noqa: S608
        f"SELECT * FROM unnest({arrays}) AS v WHERE {ready} RETURNING {pk}, {candidate}"
    )


def _fingerprints_complete(rows: list[_Row], descriptions: dict[int, str]) -> None:
    """Store tokens and concepts of candidates seen for the first time (created before the finder ran)."""
    if not descriptions:
        return
    by_id = {row.id: row for row in rows}
    updates = []
    for pk, description in descriptions.items():
        tokens, concept_set = text_features(description, by_id[pk].reported_party)
        updates.append(
            CaseFingerprint(
                pk=pk,
                tokens=" ".join(tokens),
                concepts=",".join(sorted(concept_set)),
                problems=",".join(sorted(case_problems(description, by_id[pk].category))),
                tokenized=True,
            )
        )
    CaseFingerprint.objects.bulk_update(updates, ["tokens", "concepts", "problems", "tokenized"])
