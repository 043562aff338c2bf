"""The pairs indexes of the free-text search hold the district (issue 16, docs/scale.md §2.8).

A district's staff search their own district's cases. The pairs indexes (0006, 0010) knew which cases hold a
word, not where: a street of another district held by 105,000 of ten million cases (解放南路) was read whole,
slice by slice of received time, and ANDed with the district's 600,000 cases, to find none (240 ms). Each
pairs index now holds, beside a case's pairs, a token of its district (``eco_district_pairs``: ``#14#``,
three characters or more, so never a pair), and a district's search asks for the token with the pairs in
one containment (``selectors._PairsContain``): the index skips to the district's cases that hold them. A
search of the whole city asks for the pairs alone, as before. The indexes keep their names
(``selectors.PAIRS_INDEXES`` reads their statistics).

A GIN index of two columns (``btree_gin``: the district, the pairs) was tried first: PostgreSQL's planner
never put the district into such an index's condition, at ten million cases either, and filtered the rows
read instead.

On PostgreSQL each index is built beside the old one with ``CREATE INDEX CONCURRENTLY`` (reports go on being
taken), then swapped in. SQLite (the demo) has no such index."""

from __future__ import annotations

from typing import Any

from django.db import migrations

# eco_bigrams's pairs (migration 0006) and the district's token, written out rather than calling eco_bigrams:
# pg_dump restores with an empty search_path, and an index on a function that calls another by its bare name
# could not be rebuilt from a dump. Every name here is pg_catalog's. A NULL text has the token alone.
DISTRICT_PAIRS_FUNCTION = """
CREATE OR REPLACE FUNCTION eco_district_pairs(region bigint, t text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(t, i, 2)), '{}'::text[]) || ('#' || region::text || '#')
  FROM generate_series(1, char_length(t) - 1) AS i
$$
"""

# index name: the text column of its pairs
INDEXES = {
    "case_party_bigrams": "reported_party",
    "case_description_bigrams": "description",
    "case_public_summary_bigrams": "public_summary",
    "case_address_bigrams": "address",
}


def _rebuild(schema_editor: Any, *, district: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    if district:
        schema_editor.execute(DISTRICT_PAIRS_FUNCTION)
    for name, column in INDEXES.items():
        pairs = f"upper({column}::text)"
        expression = f"eco_district_pairs(region_id, {pairs})" if district else f"eco_bigrams({pairs})"
        building = f"{name}_new"
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {building}")  # a build that failed half-way
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY {building} ON cases_case USING gin (({expression}))")
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        schema_editor.execute(f"ALTER INDEX {building} RENAME TO {name}")
    if not district:
        schema_editor.execute("DROP FUNCTION IF EXISTS eco_district_pairs(bigint, text)")
    # The statistics of a new index's expression come with the table's next ANALYZE (a sample: seconds at
    # ten million cases); until then the search would not know which pairs are rare (selectors.rare_pairs).
    schema_editor.execute("ANALYZE cases_case")


def forwards(apps: Any, schema_editor: Any) -> None:
    _rebuild(schema_editor, district=True)


def backwards(apps: Any, schema_editor: Any) -> None:
    _rebuild(schema_editor, district=False)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [("cases", "0015_case_open_queue_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
