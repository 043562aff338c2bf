"""The staff's free-text search (issue 15, ``selectors.cases_matching_text``): on PostgreSQL a GIN index of
the character pairs (``eco_bigrams``, migration 0006) of the upper-cased description, public summary and
address, beside the reported party's. Pairs rather than pg_trgm's trigrams: a Chinese search is often two
characters (a place, a surname) and pg_trgm skips CJK unless the database's locale classifies it as letters.
SQLite (the demo) has no such index and checks every row."""

from __future__ import annotations

from typing import Any

from django.db import migrations

FIELDS = ("description", "public_summary", "address")


def create_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in FIELDS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS case_{field}_bigrams ON cases_case "
            f"USING gin (eco_bigrams(upper({field}::text)))"
        )


def drop_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in FIELDS:
        schema_editor.execute(f"DROP INDEX IF EXISTS case_{field}_bigrams")


class Migration(migrations.Migration):
    dependencies = [("cases", "0009_evidence_and_reply_drafts")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
