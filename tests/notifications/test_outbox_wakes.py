"""The wake-ups an outbox write leaves for its transaction's commit (``outbox_enqueue_on_commit``)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from eco12369.notifications.services import WAKES_KEPT, outbox_enqueue_on_commit


class _RolledBack(Exception):
    pass


@pytest.mark.django_db
def test_wake_ups_of_rolled_back_transactions_do_not_pile_up_on_a_connection() -> None:
    """A rolled-back transaction's wake-up never runs, so nothing removes it: a long-lived web or worker
    connection (every WeChat retry of a message already recorded rolls back) must not keep them all."""
    for message_id in range(1, 3 * WAKES_KEPT):
        with pytest.raises(_RolledBack), transaction.atomic():
            outbox_enqueue_on_commit(message_id=message_id)
            raise _RolledBack
    wakes = connection._eco_outbox_wakes  # type: ignore[attr-defined]
    assert 0 < len(wakes) <= WAKES_KEPT
    assert 3 * WAKES_KEPT - 1 in wakes  # the newest is kept
