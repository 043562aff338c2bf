"""The workbench's search of the reported party at scale: ``selectors.party_contains`` finds what a plain
case-insensitive contains-search finds, and on PostgreSQL its condition is the one the GIN index of
character pairs (migration 0006) answers, so a province's million names are not scanned."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client

from eco12369.cases.models import Case
from eco12369.cases.selectors import cases_matching_text, party_contains
from eco12369.orgs.models import User

pytestmark = pytest.mark.django_db

PARTIES = ["天津市宏达化工有限公司", "宏达化工厂", "鑫源印染", "Hongda Chemical Co.", "达化", ""]


@pytest.fixture
def parties(make_case: Callable[..., Case]) -> list[Case]:
    return [make_case(reported_party=name) for name in PARTIES]


@pytest.mark.parametrize(
    "text", ["宏达", "达化工", "宏", "hongda", "HONGDA chem", "印染", "化工有限", "无此名称", " 宏达 "]
)
def test_finds_what_a_contains_search_finds(parties: list[Case], text: str) -> None:
    expected = set(Case.objects.filter(reported_party__icontains=text.strip()).values_list("pk", flat=True))
    assert set(party_contains(Case.objects.all(), text).values_list("pk", flat=True)) == expected


def test_the_workbench_search_uses_it(parties: list[Case], make_user: Callable[..., User]) -> None:
    client = Client()
    client.force_login(make_user("operator"))
    body = client.get("/search/", {"reported_party": "宏达"}).content.decode()
    assert "共 2 件" in body
    assert parties[0].number in body and parties[1].number in body and parties[2].number not in body


def test_postgresql_answers_it_from_the_pairs_index(parties: list[Case]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the GIN index of character pairs is PostgreSQL's (CI runs this on PostgreSQL)")
    qs = party_contains(Case.objects.all(), "宏达化工")
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of rows: make the planner show its index
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "case_party_bigrams" in plan, plan


def test_free_text_reads_four_pairs_indexes_and_checks_each_row_by_like_alone(
    make_case: Callable[..., Case],
) -> None:
    """``?q=`` on PostgreSQL: a BitmapOr of the four fields' pairs indexes; the rows found are checked by
    the LIKEs alone, without computing each row's pairs again (about 20 µs a row, most of a common word's
    search at a million cases)."""
    if connection.vendor != "postgresql":
        pytest.skip("the GIN indexes of character pairs are PostgreSQL's (CI runs this on PostgreSQL)")
    street = make_case(address="和平区解放南路256号", reported_party="某饭店")
    said = make_case(description="解放南路上那家饭店油烟直排", reported_party="某饭店")
    make_case(address="河西区解放北路", description="解放路噪音")
    qs = cases_matching_text(Case.objects.all(), "解放南路")
    assert set(qs.values_list("pk", flat=True)) == {street.pk, said.pk}
    sql, params = qs.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        # A handful of rows: make the planner show the bitmap scans it takes at scale.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
    text = "\n".join(plan)
    for field in ("description", "public_summary", "party", "address"):
        assert f"case_{field}_bigrams" in text, text
    filters = [line for line in plan if line.strip().startswith("Filter:")]
    assert filters and not any("eco_bigrams" in line for line in filters), text
