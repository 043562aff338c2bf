"""Retention of the reporter's personal data, the cases' part (the engine and the rules are
``compliance/retention.py``): which closed cases are due, and the erasure of the case's own rows. Registered
in ``CasesConfig.ready()`` (``retention_register``)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from eco12369.compliance.retention import (
    CaseSource,
    Scrub,
    case_eraser_register,
    case_source_set,
    retention_days,
    scrub_rows,
)

from .models import Case, CaseEvent, Extension, Outcome, Reply, ReplyDraft, State, SupervisionOrder

REPLY_FIELDS = (
    "party_facts",
    "inspection",
    "violations",
    "decision",
    "communication",
    "text",
    "review_note",
    "public_summary",
)


def due_q(now: dt.datetime, overrides: dict[str, int]) -> Q:
    """Closed cases whose retention period has run out and whose reporter data is still there."""
    default_cutoff = now - dt.timedelta(days=retention_days())
    expired = Q(closed_at__lt=default_cutoff) & ~Q(outcome__in=list(overrides))
    for outcome, days in overrides.items():
        expired |= Q(outcome=outcome, closed_at__lt=now - dt.timedelta(days=days))
    return Q(state=State.CLOSED, reporter_erased_at__isnull=True, closed_at__isnull=False) & expired


def _due(now: dt.datetime, overrides: dict[str, int]) -> QuerySet[Case]:
    return Case.objects.filter(due_q(now, overrides))


def _lock_due(ids: list[int], now: dt.datetime, overrides: dict[str, int]) -> list[Case]:
    # Lock and re-check: a case reopened meanwhile is not erased.
    return list(
        Case.objects.select_for_update(of=("self",)).filter(due_q(now, overrides), pk__in=ids).order_by("pk")
    )


def _secrets(case: Case) -> tuple[str, ...]:
    return (case.reporter_name, case.reporter_phone)


def _erase(case: Case, now: dt.datetime, scrub: Scrub) -> None:
    Case.objects.filter(pk=case.pk).update(
        reporter_name="",
        reporter_phone="",
        reporter_openid="",
        reporter_openid_digest="",
        reporter_erased_at=now,
        description=scrub(case.description),
        public_summary=scrub(case.public_summary),
    )
    scrub_rows(Reply.objects.filter(case=case), REPLY_FIELDS, scrub)
    scrub_rows(Extension.objects.filter(case=case), ("reason", "decision_note"), scrub)
    scrub_rows(CaseEvent.objects.filter(case=case), ("note",), scrub)
    # A reply draft that was never submitted (the reply editor's autosave) may quote the reporter: it is
    # nobody's record, so it goes rather than being scrubbed.
    ReplyDraft.objects.filter(case=case).delete()


def _erase_supervision(case: Case, scrub: Scrub) -> None:
    scrub_rows(SupervisionOrder.objects.filter(case=case), ("instruction", "answer"), scrub)


def retention_register() -> None:
    case_source_set(
        CaseSource(
            outcomes=lambda: Outcome.values,
            due=_due,
            lock_due=_lock_due,
            secrets=_secrets,
            erase=_erase,
        )
    )
    case_eraser_register(
        _erase_supervision,
        rows={"supervision_orders": lambda ids: SupervisionOrder.objects.filter(case__in=ids)},
    )
