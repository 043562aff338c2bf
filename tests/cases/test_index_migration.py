"""Migrations cases 0014 (three deadline indexes of the cases table replaced), 0015 (the open queues'
indexes added) and 0016 (the district in the pairs indexes): on PostgreSQL built concurrently, so a
deployment keeps taking reports while they run."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from eco12369.cases.selectors import PAIRS_INDEXES

BEFORE = [("cases", "0013_bind_wechat_and_video_poster")]
AFTER = [("cases", "0014_case_list_indexes")]
NAMES = ("case_agency_state_due", "case_state_due", "case_region_state_due")


def definitions() -> dict[str, str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases_case' AND indexname LIKE 'case_%%due%%'"
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases_case' AND name LIKE 'case_%due%'"
            )
        return {name: " ".join(sql.split()) for name, sql in cursor.fetchall()}


def migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_the_deadline_indexes_are_rebuilt_and_back_with_no_index_left_over() -> None:
    assert MigrationLoader(connection).get_migration("cases", "0014_case_list_indexes").atomic is False
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        migrate(BEFORE)
        old = definitions()
        assert set(old) == set(NAMES), old
        assert not any("warn_at" in sql or "INCLUDE" in sql for sql in old.values()), old
        migrate(AFTER)
        new = definitions()
        assert set(new) == set(NAMES), new  # no "…_new" index left behind
        assert "region_id" in new["case_agency_state_due"]
        if connection.vendor == "postgresql":
            assert "INCLUDE (warn_at, region_id)" in new["case_state_due"], new
            assert "INCLUDE (warn_at)" in new["case_region_state_due"], new
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "WHERE c.relname = ANY(%s) AND i.indisvalid",
                    [list(NAMES)],
                )
                assert cursor.fetchone()[0] == 3
        migrate(BEFORE)
        assert definitions() == old
    finally:
        migrate(leaves)


OPEN_QUEUE_INDEXES = (
    "case_open_agency_received",
    "case_open_department_received",
    "case_open_due",
    "case_open_region_due",
    "case_state_due",
)


def valid_indexes(names: Iterable[str]) -> dict[str, str]:
    """PostgreSQL: the definitions of the valid indexes among ``names`` (a concurrent build that failed
    leaves an invalid one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ANY(%s) AND i.indisvalid",
            [list(names)],
        )
        return dict(cursor.fetchall())


def open_queue_indexes() -> dict[str, str]:
    if connection.vendor == "postgresql":
        return valid_indexes(OPEN_QUEUE_INDEXES)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN (%s, %s, %s, %s, %s)",
            OPEN_QUEUE_INDEXES,
        )
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_the_open_queue_indexes_are_partial_built_concurrently_and_removed_again() -> None:
    """0015: the oldest cases of each work queue (the dashboard) and the lists due soon and overdue by
    indexes of the open cases only; the full (state, due_at) index they replace is dropped, and comes back
    when the migration is reversed."""
    migration = MigrationLoader(connection).get_migration("cases", "0015_case_open_queue_indexes")
    assert migration.atomic is False
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        migrate([("cases", "0014_case_list_indexes")])
        assert set(open_queue_indexes()) == {"case_state_due"}
        migrate([("cases", "0015_case_open_queue_indexes")])
        built = open_queue_indexes()
        assert set(built) == set(OPEN_QUEUE_INDEXES) - {"case_state_due"}, built
        assert "(agency_id, state, received_at, id)" in built["case_open_agency_received"].replace('"', "")
        assert "(region_id, due_at, id)" in built["case_open_region_due"].replace('"', "")
        for sql in built.values():
            assert "WHERE" in sql and "in_review" in sql and "closed" not in sql, sql
        if connection.vendor == "postgresql":
            assert "INCLUDE (warn_at, state, region_id)" in built["case_open_due"], built
        migrate([("cases", "0014_case_list_indexes")])
        assert set(open_queue_indexes()) == {"case_state_due"}
    finally:
        migrate(leaves)


def pairs_indexes() -> dict[str, str]:
    # Their names (selectors.PAIRS_INDEXES, whose statistics the search reads), and the names 0016 builds
    # them under, so that one left behind shows.
    return valid_indexes([*PAIRS_INDEXES.values(), *(f"{name}_new" for name in PAIRS_INDEXES.values())])


@pytest.mark.django_db(transaction=True)
def test_the_pairs_indexes_take_the_district_concurrently_and_give_it_back() -> None:
    """0016: each pairs index holds the case's district as a token beside its pairs, built beside the old
    one and swapped in under its name (the statistics are read by it); reversed, the pairs alone again."""
    if connection.vendor != "postgresql":
        pytest.skip("the pairs indexes are PostgreSQL's (CI runs this on PostgreSQL)")
    migration = MigrationLoader(connection).get_migration("cases", "0016_district_pairs_indexes")
    assert migration.atomic is False
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        migrate([("cases", "0015_case_open_queue_indexes")])
        old = pairs_indexes()
        assert set(old) == set(PAIRS_INDEXES.values()), old
        assert not any("region_id" in sql for sql in old.values()), old
        migrate([("cases", "0016_district_pairs_indexes")])
        new = pairs_indexes()
        assert set(new) == set(PAIRS_INDEXES.values()), new  # swapped in: no "…_new" left behind
        for name, sql in new.items():
            assert "USING gin (eco_district_pairs(region_id, upper(" in sql, (name, sql)
        migrate([("cases", "0015_case_open_queue_indexes")])
        assert pairs_indexes() == old
    finally:
        migrate(leaves)
