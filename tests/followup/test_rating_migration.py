"""followup 0004: one rating per closing. Existing ratings (one per case) become their cases' latest;
reversing keeps each case's latest rating and drops the ones it superseded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from eco12369.cases.models import Case
from eco12369.followup.models import Rating

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("followup", "0003_delete_satisfactionweight")]
AFTER = [("followup", "0004_rating_per_closing")]


def at(day: int) -> dt.datetime:
    return dt.datetime(2025, 3, day, 10, tzinfo=dt.UTC)


def migrate(targets: list[tuple[str, str]]) -> Any:
    MigrationExecutor(connection).migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def before() -> Iterator[Any]:
    apps = migrate(BEFORE)
    try:
        yield apps
    finally:
        leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
        migrate([node for node in leaves if node[0] == "followup"])


def test_existing_ratings_become_their_cases_latest_and_back(
    before: Any, make_case: Callable[..., Case]
) -> None:
    old_rating = before.get_model("followup", "Rating")
    cases = [make_case("和平区"), make_case("河西区")]
    for case, level in zip(cases, ("unsatisfied", "satisfied"), strict=True):
        old_rating.objects.create(
            case_id=case.pk, level=level, channel="wechat_chat", rated_at=at(5), closed_at=at(3)
        )

    migrate(AFTER)
    assert sorted(Rating.objects.values_list("case_id", "latest_of_id")) == sorted(
        (c.pk, c.pk) for c in cases
    )
    assert Case.objects.get(pk=cases[0].pk).rating.level == "unsatisfied"
    # The first case is closed again and rated again: its new rating supersedes the first.
    Rating.objects.filter(case_id=cases[0].pk).update(latest_of=None)
    Rating.objects.create(
        case_id=cases[0].pk,
        latest_of_id=cases[0].pk,
        level="basic",
        channel="wechat_h5",
        rated_at=at(20),
        closed_at=at(18),
    )

    migrate(BEFORE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT case_id, level FROM followup_rating ORDER BY case_id")
        assert cursor.fetchall() == [(cases[0].pk, "basic"), (cases[1].pk, "satisfied")]
