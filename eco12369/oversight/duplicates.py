"""Duplicate and repeat reports (重复举报, Art. 14): finding the earlier cases that report the same matter.

The scoring of a pair is pure and lives in ``duplicate_scoring`` (no database). This module is the
database half:

* ``fingerprint_write`` stores a case's look-up keys with the case: the normalised party, the street, the
  ~1 km grid cell (``CaseFingerprint``) and the character bigrams of its party and address
  (``CaseGram``, indexed by bigram and time of receipt).
* ``duplicates_find`` looks up the earlier cases that share a bigram (most shared first) or lie in a
  neighbouring grid cell, within ``WINDOW_DAYS`` for a duplicate of an open case and within
  ``REPEAT_DAYS`` after closing for a repeat of a closed one, scores each pair and stores those from
  ``CANDIDATE_THRESHOLD`` as ``DuplicateCandidate`` rows (``kind``: duplicate or repeat), best first.

Both are plain functions: the case services call them when a case is created (the fingerprint in the
creating transaction; the finder after commit, in the Huey task ``duplicates_find_task``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Value
from django.utils import timezone

from eco12369.cases.models import Case, State
from eco12369.db import insert, insert_many
from eco12369.orgs.models import Region

from .duplicate_scoring import (
    CANDIDATE_THRESHOLD,
    REPEAT_DAYS,
    WINDOW_DAYS,
    PairScore,
    Sketch,
    case_problems,
    cell_key,
    grid_cell,
    lookup_grams,
    neighbour_keys,
    normalise_address,
    normalise_party,
    pair_score,
    sketch,
    street_key,
    text_features,
)
from .models import CaseFingerprint, CaseGram, DuplicateCandidate

MAX_CANDIDATES_STORED = 10
# Scoring is the finder's main CPU cost, so the candidates are capped (top-k): the same matter shares the
# most bigrams of party and address and ranks near the top of the bigram look-up.
GRAM_LIMIT = 40  # earlier cases sharing the most bigrams, scored
POSTINGS_PER_GRAM = 100  # newest cases read per bigram (an index range, bounded whatever the table's size)
PARTY_BONUS = 3  # the same normalised party counts as this many shared bigrams
_PARTY = "#party"  # marks the postings of the same-party look-up among the bigrams
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
        insert(fingerprint)  # one hand-written INSERT each: a new case's hot path
        insert_many(grams)
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


_ROW_FIELDS = (
    "id",
    "reported_party",
    "address",
    "latitude",
    "longitude",
    "category",
    "region__name",
    "region__level",
    "received_at",
    "state",
    "closed_at",
    "fingerprint__tokens",
    "fingerprint__concepts",
    "fingerprint__problems",
    "fingerprint__tokenized",
)


def _concept_set(stored: str) -> frozenset[str]:
    return frozenset(c for c in stored.split(",") if c)


def _district(name: str, level: str) -> str:
    return name if level == Region.Level.DISTRICT else ""


def _sketch_row(row: dict[str, Any], description: str) -> Sketch:
    if row["fingerprint__tokenized"]:
        tokens, concept_set = row["fingerprint__tokens"].split(), _concept_set(row["fingerprint__concepts"])
        problem_set = _concept_set(row["fingerprint__problems"])
    else:
        tokens, concept_set = text_features(description, row["reported_party"])
        problem_set = case_problems(description, row["category"])
    return sketch(
        reported_party=row["reported_party"],
        address=row["address"],
        region=_district(row["region__name"], row["region__level"]),
        latitude=row["latitude"],
        longitude=row["longitude"],
        description=description,
        category=row["category"],
        received_at=row["received_at"],
        closed_at=row["closed_at"] if row["state"] == State.CLOSED else None,
        tokens=tokens,
        concept_set=concept_set,
        problem_set=problem_set,
    )


def _sharing_most(
    *, case: Case, grams: list[str], party_key: str, start: dt.datetime, end: dt.datetime
) -> list[int]:
    """The earlier cases sharing the most bigrams with ``case``, read in bounded index ranges so that the
    work does not grow with the table:

    1. each bigram's newest ``POSTINGS_PER_GRAM`` cases in the window (one range of the (gram,
       received_at, case) index per bigram, all in one statement);
    2. a bigram that filled its share is common (the town, the road); the cases found under the rarer
       bigrams (the party's name) are then counted against the common ones too, by their own bigrams
       (the case_id index), at most ``RARE_POOL`` of them.

    The newest cases with the same normalised party (``party_key``, its own index) are read in the same
    statement and count as ``PARTY_BONUS`` shared bigrams: where every bigram is common, the whole name
    still is not. So the earlier report of 宏达化工 on 大邱庄津福公路 ranks first even when hundreds of later
    reports of other firms share the town and the road."""
    parts: list[str] = []
    params: list[Any] = []
    for number, gram in enumerate(grams[:MAX_GRAMS]):
        newest = (
            CaseGram.objects.filter(gram=gram, received_at__gte=start, received_at__lte=end)
            .order_by("-received_at")
            .values_list("gram", "case_id")[:POSTINGS_PER_GRAM]
        )
        sql, gram_params = newest.query.sql_with_params()
        # Each bounded range in its own subquery: the database's compound statements take no LIMIT in
        # their members, and Django's union() does not wrap them (SQLite).
        # The statement is the ORM's own, its values passed apart as parameters.
        parts.append(f"SELECT * FROM ({sql}) AS g{number}")  # noqa: S608
        params += gram_params
    if party_key:
        same_party = (
            CaseFingerprint.objects.filter(party_key=party_key, received_at__gte=start, received_at__lte=end)
            .annotate(key=Value(_PARTY))
            .order_by("-received_at")
            .values_list("key", "case_id")[:POSTINGS_PER_GRAM]
        )
        sql, party_params = same_party.query.sql_with_params()
        parts.append(f"SELECT * FROM ({sql}) AS p")  # noqa: S608  (the ORM's statement, as above)
        params += party_params
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        postings = [(gram, pk) for gram, pk in cursor.fetchall() if pk != case.pk]
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
            for pk, gram in CaseGram.objects.filter(case_id__in=pool, gram__in=common).values_list(
                "case_id", "gram"
            ):
                if (gram, pk) not in seen:
                    shared[pk] += 1
    ranked = sorted(shared.items(), key=lambda item: (-item[1], -item[0]))
    return [pk for pk, _ in ranked[:GRAM_LIMIT]]


def candidate_ids(*, case: Case, grams: list[str], geo_cell_keys: list[str]) -> list[int]:
    """Earlier cases worth scoring, from indexed look-ups bounded by ``LOOKBACK_DAYS``: those sharing the
    most bigrams of party and address, those in a neighbouring grid cell (newest first); a case with none of
    these keys is compared with the newest cases of its district."""
    start = case.received_at - dt.timedelta(days=LOOKBACK_DAYS)
    end = case.received_at
    ids: list[int] = []
    if grams:
        ids += _sharing_most(
            case=case, grams=grams, party_key=normalise_party(case.reported_party), start=start, end=end
        )
    if geo_cell_keys:
        ids += (
            CaseFingerprint.objects.filter(
                geo_cell__in=geo_cell_keys, received_at__gte=start, received_at__lte=end
            )
            .exclude(case_id=case.pk)
            .order_by("-received_at")
            .values_list("case_id", flat=True)[:PLACE_LIMIT]
        )
    if not ids:
        ids += (
            Case.objects.filter(
                region_id=case.region_id,
                received_at__gte=case.received_at - dt.timedelta(days=WINDOW_DAYS),
                received_at__lte=end,
            )
            .exclude(pk=case.pk)
            .order_by("-received_at")
            .values_list("id", flat=True)[:REGION_SCAN_LIMIT]
        )
    return list(dict.fromkeys(ids))


def case_sketch(case: Case, fingerprint: CaseFingerprint) -> tuple[Sketch, bool]:
    """The sketch of ``case`` and whether its tokens were computed now (not yet on the fingerprint)."""
    tokenize_own = not fingerprint.tokenized
    if tokenize_own:
        own_tokens, own_concepts = text_features(case.description, case.reported_party)
        own_problems = case_problems(case.description, case.category)
    else:
        own_tokens, own_concepts = fingerprint.tokens.split(), _concept_set(fingerprint.concepts)
        own_problems = _concept_set(fingerprint.problems)
    region = case.region
    return (
        sketch(
            reported_party=case.reported_party,
            address=case.address,
            region=_district(region.name, region.level),
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


def duplicates_find(*, case: Case, store: bool = True) -> list[DuplicateCandidate]:
    """Score the earlier cases that may report the same matter as ``case`` and (``store``) replace its
    ``DuplicateCandidate`` rows with those scoring at least ``CANDIDATE_THRESHOLD`` that are a duplicate
    (the earlier case open, within ``WINDOW_DAYS``) or a repeat (closed at most ``REPEAT_DAYS`` before),
    best first. Earlier means received before ``case`` (or at the same moment with a smaller id). A
    handful of queries whatever the number of cases (see ``candidate_ids``)."""
    try:
        fingerprint = case.fingerprint  # loaded with the case by the task (select_related)
    except CaseFingerprint.DoesNotExist:
        fingerprint = fingerprint_write(case=case)
    new, tokenize_own = case_sketch(case, fingerprint)
    cells = neighbour_keys(new.lat, new.lon) if new.lat is not None and new.lon is not None else []
    grams = lookup_grams(new.party, new.address)
    ids = candidate_ids(case=case, grams=grams, geo_cell_keys=cells)
    rows = list(Case.objects.filter(pk__in=ids).values(*_ROW_FIELDS)) if ids else []
    untokenized = [row["id"] for row in rows if not row["fingerprint__tokenized"]]
    descriptions = (
        dict(Case.objects.filter(pk__in=untokenized).values_list("id", "description")) if untokenized else {}
    )
    scored: list[tuple[PairScore, int]] = []
    for row in rows:
        if row["received_at"] == case.received_at and row["id"] > case.pk:
            continue
        score = pair_score(new=new, old=_sketch_row(row, descriptions.get(row["id"], "")))
        if score.kind and score.total >= CANDIDATE_THRESHOLD:
            scored.append((score, row["id"]))
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
        with transaction.atomic():
            if tokenize_own:
                CaseFingerprint.objects.filter(case_id=case.pk).update(
                    tokens=" ".join(new.tokens),
                    concepts=",".join(sorted(new.concepts)),
                    problems=",".join(sorted(new.problems)),
                    tokenized=True,
                )
            _fingerprints_complete(rows, descriptions)
            DuplicateCandidate.objects.filter(case_id=case.pk).delete()
            DuplicateCandidate.objects.bulk_create(candidates)
    return candidates


def _fingerprints_complete(rows: list[dict[str, Any]], descriptions: dict[int, str]) -> None:
    """Store tokens and concepts of candidates seen for the first time (created before the finder ran)."""
    if not descriptions:
        return
    by_id = {row["id"]: row for row in rows}
    updates = []
    for pk, description in descriptions.items():
        tokens, concept_set = text_features(description, by_id[pk]["reported_party"])
        updates.append(
            CaseFingerprint(
                pk=pk,
                tokens=" ".join(tokens),
                concepts=",".join(sorted(concept_set)),
                problems=",".join(sorted(case_problems(description, by_id[pk]["category"]))),
                tokenized=True,
            )
        )
    CaseFingerprint.objects.bulk_update(updates, ["tokens", "concepts", "problems", "tokenized"])
