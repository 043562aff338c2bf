"""What other apps do when a case is created, changed or closed, called explicitly by the services that do it.

``cases`` sits below the apps that react (oversight's duplicate finder, followup's notices to followers),
so it cannot import them; they register a callable here in their ``AppConfig.ready()`` instead, and the
one service that creates a case (``services.case_create``) and the one that records a state change
(``workflow.transition``) call the hooks, inside their transaction, after the case and its event are
written. No ``post_save`` receiver is involved, so nothing is skipped silently (``bulk_create`` bypasses
receivers: no path of the package creates cases that way; ``case_created_hooks_run`` is what such a path
must call for each case).

A hook raising rolls the change back with it, as the receivers did. Hooks must not write to a case's
state (that is the workflow's)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .models import Case

CaseHook = Callable[["Case"], None]
# Called with the case as it was before (``None`` for a new case) and as it is now.
CaseChangeHook = Callable[["Case | None", "Case"], None]

# Registered in ``AppConfig.ready()`` (oversight: fingerprint and duplicate task; followup: tell followers
# and duplicates' reporters). Order of registration is order of call.
on_case_created: list[CaseHook] = []
on_case_closed: list[CaseHook] = []
# Every creation and every transition (stats: the dashboard's rollups). ``before`` is a copy of the locked
# case taken before the transition's effect ran; the hook compares it with ``after``.
on_case_changed: list[CaseChangeHook] = []


H = TypeVar("H")


def hook_register(hooks: list[H], hook: H) -> None:
    """Add ``hook`` once (``ready()`` may run twice in tests that reload apps)."""
    if hook not in hooks:
        hooks.append(hook)


def case_created_hooks_run(case: Case) -> None:
    """Call every ``on_case_created`` hook for a newly created case (in its creating transaction)."""
    for hook in on_case_created:
        hook(case)


def case_closed_hooks_run(case: Case) -> None:
    """Call every ``on_case_closed`` hook for a case that has just closed (in the closing transaction)."""
    for hook in on_case_closed:
        hook(case)


def case_changed_hooks_run(before: Case | None, after: Case) -> None:
    """Call every ``on_case_changed`` hook: ``case_create`` (``before`` None) and ``workflow.transition``."""
    for hook in on_case_changed:
        hook(before, after)


_bulk_intake: ContextVar[bool] = ContextVar("eco_bulk_intake", default=False)


@contextlib.contextmanager
def bulk_intake() -> Iterator[None]:
    """Mark the cases created inside as one bulk intake (``services.cases_create_bulk``): a hook may then
    pool its follow-up work for the whole batch instead of doing it per case."""
    token = _bulk_intake.set(True)
    try:
        yield
    finally:
        _bulk_intake.reset(token)


def in_bulk_intake() -> bool:
    """Whether the case being created is part of a bulk intake (see ``bulk_intake``)."""
    return _bulk_intake.get()
