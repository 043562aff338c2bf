"""The migrations that move the satisfaction weight into the assessment scheme: the newest
``followup.SatisfactionWeight`` becomes the newest scheme row's ``w_satisfaction`` (oversight 0005) before
followup 0003 drops the model; reversing puts the weight in force back into ``SatisfactionWeight``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from eco12369.orgs.models import User
from eco12369.oversight.models import AssessmentScheme
from eco12369.oversight.services import assessment_scheme_current

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("oversight", "0004_scheme_w_satisfaction"), ("followup", "0002_follow_openid_encrypted")]
AFTER = [
    ("oversight", "0005_scheme_satisfaction_from_followup"),
    ("followup", "0003_delete_satisfactionweight"),
]
TABLE = "followup_satisfactionweight"


def at(day: int) -> dt.datetime:
    return dt.datetime(2025, 3, day, 10, tzinfo=dt.UTC)


def migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate to ``targets``; the historical models of that state."""
    MigrationExecutor(connection).migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def latest() -> list[tuple[str, str]]:
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    return [node for node in leaves if node[0] in ("oversight", "followup")]


@pytest.fixture
def before() -> Iterator[Any]:
    apps = migrate(BEFORE)
    try:
        yield apps
    finally:
        migrate(latest())


def _create(model: Any, when: dt.datetime, **fields: Any) -> Any:
    row = model.objects.create(**fields)
    model.objects.filter(pk=row.pk).update(updated_at=when)  # auto_now would say "now"
    return row


def test_the_newest_weight_goes_into_the_newest_scheme_and_back_on_reversal(before: Any) -> None:
    head = User.objects.create(username="migration-head")
    scheme = before.get_model("oversight", "AssessmentScheme")
    weight = before.get_model("followup", "SatisfactionWeight")
    _create(scheme, at(1), w_repeat=5)
    _create(scheme, at(2), w_repeat=7, updated_by_id=head.pk)
    _create(weight, at(3), weight=25)
    _create(weight, at(5), weight=35, updated_by_id=head.pk)
    _create(weight, at(4), weight=15)  # written last, but older: the newest is by time

    migrate(AFTER)
    rows = AssessmentScheme.objects.order_by("id").values_list("w_repeat", "w_satisfaction", "updated_at")
    assert list(rows) == [(5, 10, at(1)), (7, 35, at(2))]  # the newest row keeps its time: still in force
    assert assessment_scheme_current().weights()["satisfaction"] == 35
    assert TABLE not in connection.introspection.table_names()

    migrate(BEFORE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT weight, updated_by_id FROM {TABLE} ORDER BY updated_at DESC, id DESC")
        assert cursor.fetchall()[0] == (35, head.pk)


def test_a_weight_set_without_any_scheme_makes_a_scheme_with_the_default_weights(before: Any) -> None:
    head = User.objects.create(username="migration-head")
    _create(before.get_model("followup", "SatisfactionWeight"), at(5), weight=30, updated_by_id=head.pk)

    migrate(AFTER)
    created = AssessmentScheme.objects.get()
    assert created.weights() == {**AssessmentScheme().weights(), "satisfaction": 30}
    assert (created.updated_by_id, created.updated_at, created.repeat_threshold) == (head.pk, at(5), 3)


def test_nothing_set_leaves_the_defaults(before: Any) -> None:
    migrate(AFTER)
    assert not AssessmentScheme.objects.exists()
    assert assessment_scheme_current().w_satisfaction == 10
