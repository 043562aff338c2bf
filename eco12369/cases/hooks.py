"""What other apps do when a case is created, changed or closed, called explicitly by the services that do it.

``cases`` sits below the apps that react (oversight's duplicate finder, followup's notices to followers),
so it cannot import them; they register a callable here in their ``AppConfig.ready()`` instead, and the
one service that creates a case (``services.case_create``) and the one that records a state change
(``workflow.transition``) call the hooks, inside their transaction, after the case and its event are
written. No ``post_save`` receiver is involved, so nothing is skipped silently (``bulk_create`` bypasses
receivers: no path of the package creates cases that way; ``case_created_hooks_run`` is what such a path
must call for each case).

A hook raising rolls the change back with it, as the receivers did. Hooks must not write to a case's
state (that is the workflow's).

A bulk intake (``services.cases_create_bulk``: thousands of forwarded cases) still calls the hooks case by
case, inside ``bulk_intake()``; a hook may then pool what it writes in a ``BulkWork`` of its own
(``bulk_work``), which is flushed once at the end of the intake, in its transaction, so that the intake
costs a few statements per hook rather than a few per case. The rows written must be those the hook writes
for a single case."""

from __future__ import annotations

import abc
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


class BulkWork(abc.ABC):
    """Work a hook pools over the cases of one bulk intake and does once at its end (``bulk_work``):
    the rows the hook would have written case by case, written in a few statements. ``flush`` runs in the
    bulk intake's transaction, after the last case's hooks, and only if no case raised; what it writes
    commits or rolls back with the cases, and an ``on_commit`` it registers is dropped on rollback.

    Nothing may read pooled work before it is flushed: a hook that pools its writes must not be one whose
    rows another hook of the same intake reads."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Write what was pooled (called once per bulk intake)."""


W = TypeVar("W", bound=BulkWork)


class _BulkIntake:
    """The work pooled by the hooks during one ``bulk_intake``: one instance per kind, in order of first use."""

    def __init__(self) -> None:
        self.work: dict[type[BulkWork], BulkWork] = {}

    def flush(self) -> None:
        for work in self.work.values():
            work.flush()


_bulk_intake: ContextVar[_BulkIntake | None] = ContextVar("eco_bulk_intake", default=None)


@contextlib.contextmanager
def bulk_intake() -> Iterator[None]:
    """Mark the cases created inside as one bulk intake (``services.cases_create_bulk``, inside its
    transaction): a hook may then pool its writes for the whole intake (``bulk_work``) instead of making
    them per case. The pooled work is flushed when the block ends without an exception; on an exception it
    is dropped (the transaction rolls the cases back)."""
    bulk = _BulkIntake()
    token = _bulk_intake.set(bulk)
    try:
        yield
    finally:
        _bulk_intake.reset(token)
    bulk.flush()  # outside the marking: what a flush does is not part of the intake's pooling


def bulk_work(kind: type[W]) -> W | None:
    """The current bulk intake's ``kind`` of pooled work (made with ``kind()`` at its first use), or
    ``None`` outside a bulk intake: then the hook does its work at once, as for a single case."""
    bulk = _bulk_intake.get()
    if bulk is None:
        return None
    work = bulk.work.get(kind)
    if work is None:
        work = bulk.work[kind] = kind()
    assert isinstance(work, kind)
    return work
