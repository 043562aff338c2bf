"""``case_event_record``: the one function that writes a line of a case's timeline (``CaseEvent``). The state
machine (``workflow.transition``), intake, the reporter's supplement, the follow-up and the chat's photo
fetcher all write their events through it, with an ``Action`` of the one vocabulary."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from eco12369.db import insert
from eco12369.orgs.models import User

from .models import Action, Case, CaseEvent, State


def case_event_record(
    *,
    case: Case | int,
    action: Action,
    actor: User | None = None,
    at: dt.datetime | None = None,
    from_state: State | str | None = None,
    to_state: State | str | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Write one timeline event of ``case`` (a case, or its id when only the id is at hand). ``from_state``
    and ``to_state`` default to the case's state (an event with no state change); ``at`` to now. The
    actor's agency is recorded as it is at this moment (staff move between agencies)."""
    event = case_event_new(
        case=case,
        action=action,
        actor=actor,
        at=at,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=data,
    )
    insert(event)  # event.save(), one hand-written INSERT (every transition writes one)
    return event


def case_event_new(
    *,
    case: Case | int,
    action: Action,
    actor: User | None = None,
    at: dt.datetime | None = None,
    from_state: State | str | None = None,
    to_state: State | str | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """The event ``case_event_record`` writes, not yet written: intake writes a new case's first event in
    the case's own INSERT (``case`` not yet saved)."""
    action = Action(action)  # refuses a string outside the vocabulary
    if isinstance(case, Case):
        from_state = case.state if from_state is None else from_state
        to_state = case.state if to_state is None else to_state
        target: dict[str, Any] = {"case": case}
    else:
        target = {"case_id": case}
    event = CaseEvent(
        **target,
        action=action,
        actor=actor,
        actor_agency_id=actor.agency_id if actor is not None else None,
        at=at or timezone.now(),
        from_state=from_state or "",
        to_state=to_state or "",
        note=note,
        data=data or {},
    )
    return event
