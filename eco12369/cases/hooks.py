"""What other apps do when a case is created or closed, called explicitly by the services that do it.

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

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Case

CaseHook = Callable[["Case"], None]

# Registered in ``AppConfig.ready()`` (oversight: fingerprint and duplicate task; followup: tell followers
# and duplicates' reporters). Order of registration is order of call.
on_case_created: list[CaseHook] = []
on_case_closed: list[CaseHook] = []


def hook_register(hooks: list[CaseHook], hook: CaseHook) -> None:
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
