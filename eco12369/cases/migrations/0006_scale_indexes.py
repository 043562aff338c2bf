"""Indexes for a province's ten years of cases (issue #6, bench/run.py).

* ``case_region_state_due``: a district's queues and their counts (region, state, deadline);
* ``case_closed``: cases closed in a month (monthly figures);
* PostgreSQL only: ``eco_bigrams(text)``, the distinct character pairs of a text, and a GIN index of the
  pairs of the upper-cased reported party. A contains-search (``selectors.party_contains``) first asks the
  index for the rows holding every pair of the search text, then ILIKE checks them: Chinese names of two
  characters or more are found without scanning every case (pg_trgm needs three characters and a locale
  that classifies CJK as letters).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

BIGRAMS_FUNCTION = """
CREATE OR REPLACE FUNCTION eco_bigrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(t, i, 2)), '{}'::text[])
  FROM generate_series(1, char_length(t) - 1) AS i
$$
"""
PARTY_INDEX = (
    "CREATE INDEX IF NOT EXISTS case_party_bigrams ON cases_case "
    "USING gin (eco_bigrams(upper(reported_party::text)))"
)


def create_bigrams(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(BIGRAMS_FUNCTION)
    schema_editor.execute(PARTY_INDEX)


def drop_bigrams(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS case_party_bigrams")
    schema_editor.execute("DROP FUNCTION IF EXISTS eco_bigrams(text)")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_reporter_encrypt_existing"),
        ("orgs", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["region", "state", "due_at"], name="case_region_state_due"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["closed_at"], name="case_closed"),
        ),
        migrations.RunPython(create_bigrams, drop_bigrams),
    ]
