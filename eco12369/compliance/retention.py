"""Retention of the reporter's personal data (issue #7 item 5; PIPL Art. 19: kept no longer than needed).

A configurable period after a case closes (``ECO_RETENTION_DAYS``, default 1095 days = 3 years; per outcome
``ECO_RETENTION_DAYS_BY_OUTCOME``, e.g. ``duplicate:365``), the reporter's personal data is erased:

- the case's reporter name, phone, openid and its blind index (set empty; ``reporter_erased_at`` set);
- the reporter's name and phone wherever they were written into the case's texts (description, public
  summary, replies, extension reasons, the timeline's notes, the rating comment, the WeChat messages of
  the case) are replaced
  by ``＊＊``: once the fields are empty, the public pages could no longer scrub them;
- the WeChat openid (encrypted) and its blind index on the case's outbound messages, its H5 form
  (``portal.Submission``) and its followers (``followup.Follow``, kept as anonymous repeat reports for the
  figures); the blind index and the raw XML of its inbound messages, and an event's de-duplication key
  (built from the blind index).
- what else was written about the case: the supervision orders' instruction and answer, the spot-check
  notes on it (and the note of a spot check that sampled it), and the duplicate finder's tokens of its
  description (recomputed from the scrubbed description, so the finder still compares what remains).
- a follower's note (``followup.Follow.note``, and its copy on the timeline's ``follow`` event): the
  follower is a reporter too, but only their blind index was ever known, so their own name or phone cannot
  be recognised in their text: the note is removed (the repeat report itself stays).

WeChat chat that never became a case (a draft given up, questions, status queries; ``ECO_CHAT_RETENTION_DAYS``,
default 90 days after it was received) is erased too: those inbound messages are deleted, and a draft
untouched that long is thrown away with its photos (the conversation keeps only the reporter's
subscription choices). Reports often carry a name or phone in their text; a draft never filed has no
case to keep it for.

The case itself, its classification, dates, outcome, replies and public summary stay: every figure of
the monthly reports and the assessment is unchanged. Cases are erased in batches, each one transaction
with one audit entry. A dry run counts what would be erased, by month of closing, and writes nothing.
The Huey task ``retention_erase_daily`` runs it every night.

How (issue 10): this module is the engine and knows no app's tables. Each app registers, in its
``AppConfig.ready()``, what it erases: ``cases`` the source (which cases are due, how they are locked, the
case's own tables: ``case_source_set``); every app that wrote about a case its eraser
(``case_eraser_register``, with the rows it counts for the report); ``wechat`` its chat leftovers
(``leftover_eraser_register``). So compliance imports no app above it, and an app's retention rules live
with its models.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record

MASK = "＊＊"
DEFAULT_DAYS = 1095
BATCH = 200

Scrub = Callable[[str], str]


@dataclass(frozen=True)
class CaseSource:
    """What retention is counted from: closed cases (registered by ``cases``; see ``cases/retention.py``).
    ``due(now, overrides)``: the cases past their period (a QuerySet with ``pk``, ``number``,
    ``closed_at``); ``lock_due``: those of ``ids`` still due, locked, in ``pk`` order; ``secrets``: the
    reporter's name and phone to mask in texts; ``erase``: the case's own rows."""

    outcomes: Callable[[], Iterable[str]]
    due: Callable[[dt.datetime, dict[str, int]], QuerySet[Any]]
    lock_due: Callable[[list[int], dt.datetime, dict[str, int]], list[Any]]
    secrets: Callable[[Any], tuple[str, ...]]
    erase: Callable[[Any, dt.datetime, Scrub], None]


@dataclass
class RetentionResult:
    dry_run: bool
    cases: int = 0
    batches: int = 0
    by_month: Counter[str] = field(default_factory=Counter)
    chat_messages: int = 0  # inbound WeChat messages that never became a case, deleted
    drafts: int = 0  # WeChat drafts never submitted, thrown away
    # Rows of other apps scrubbed with the cases (dry run: that would be), by ``ROW_LABELS`` key.
    rows: Counter[str] = field(default_factory=Counter)


# What ``RetentionResult.rows`` counts, as the command reports it (in this order). An eraser that counts
# rows registers a query under one of these keys.
ROW_LABELS = {
    "follow_notes": "关注补充说明",
    "supervision_orders": "督办单",
    "spot_check_items": "抽查意见",
    "fingerprints": "查重分词",
}

CaseEraser = Callable[[Any, Scrub], None]  # (case, scrub): what an app wrote about the case
RowQuery = Callable[[Any], QuerySet[Any]]  # case ids (a list or a subquery) → the rows it would scrub
LeftoverEraser = Callable[[RetentionResult, dt.datetime, int], None]  # (result, now, batch size)

_source: CaseSource | None = None
_case_erasers: list[CaseEraser] = []
_row_queries: dict[str, RowQuery] = {}
_leftover_erasers: list[LeftoverEraser] = []


def case_source_set(source: CaseSource) -> None:
    global _source
    _source = source


def case_eraser_register(eraser: CaseEraser, *, rows: dict[str, RowQuery] | None = None) -> None:
    """Register an app's eraser of what it wrote about a case (called once per case, in the batch's
    transaction, after the case's own rows), and the queries of the rows it counts (``ROW_LABELS``)."""
    if eraser not in _case_erasers:
        _case_erasers.append(eraser)
    for key, query in (rows or {}).items():
        if key not in ROW_LABELS:
            raise ValueError(f"unknown retention row kind: {key}")
        _row_queries[key] = query


def leftover_eraser_register(eraser: LeftoverEraser) -> None:
    """Register an eraser of data kept without a case (run after the cases, in dry runs too: it counts)."""
    if eraser not in _leftover_erasers:
        _leftover_erasers.append(eraser)


def _case_source() -> CaseSource:
    if _source is None:
        raise RuntimeError("no retention case source registered (the cases app is not installed)")
    return _source


def retention_days() -> int:
    return int(getattr(settings, "ECO_RETENTION_DAYS", DEFAULT_DAYS))


def retention_days_by_outcome() -> dict[str, int]:
    """Per-outcome overrides; unknown outcomes are ignored (``check`` reports them)."""
    raw = getattr(settings, "ECO_RETENTION_DAYS_BY_OUTCOME", {}) or {}
    known = set(_case_source().outcomes())
    return {str(k): int(v) for k, v in dict(raw).items() if str(k) in known}


def cases_due(*, now: dt.datetime | None = None) -> QuerySet[Any]:
    """Closed cases whose retention period has run out and whose reporter data is still there."""
    return _case_source().due(now or timezone.now(), retention_days_by_outcome())


def _rows_of(case_ids: QuerySet[Any] | list[int]) -> dict[str, QuerySet[Any]]:
    """The rows outside the case's own tables that its erasure scrubs (``ROW_LABELS``' keys)."""
    return {key: _row_queries[key](case_ids) for key in ROW_LABELS if key in _row_queries}


def chat_retention_days() -> int:
    return int(getattr(settings, "ECO_CHAT_RETENTION_DAYS", 90))


def _month_key(closed_at: dt.datetime) -> str:
    local = timezone.localtime(closed_at)
    return f"{local.year:04d}-{local.month:02d}"


def scrubber(*secrets: str) -> Scrub:
    """Replace each of ``secrets`` (two characters or more; the longest first) by ``MASK``."""
    values = sorted({s.strip() for s in secrets if s and len(s.strip()) >= 2}, key=len, reverse=True)

    def scrub(text: str) -> str:
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    return scrub


def scrub_rows(qs: QuerySet[Any], fields: tuple[str, ...], scrub: Scrub, **extra: Any) -> None:
    """Scrub ``fields`` of every row of ``qs`` (only the rows that change are written) and set ``extra``."""
    for row in qs:
        changed = dict(extra)
        for name in fields:
            value = getattr(row, name) or ""
            new = scrub(value)
            if new != value:
                changed[name] = new
        if changed:
            type(row).objects.filter(pk=row.pk).update(**changed)


def _erase_case(case: Any, now: dt.datetime) -> None:
    source = _case_source()
    scrub = scrubber(*source.secrets(case))
    source.erase(case, now, scrub)
    for eraser in _case_erasers:
        eraser(case, scrub)


def _leftovers_erase(result: RetentionResult, now: dt.datetime, batch_size: int) -> None:
    for eraser in _leftover_erasers:
        eraser(result, now, batch_size)


def _batches(now: dt.datetime, size: int) -> Iterator[list[int]]:
    last = 0
    while True:
        ids = list(cases_due(now=now).filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return
        yield ids
        last = ids[-1]


def retention_erase(
    *,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    batch_size: int = BATCH,
    progress: Callable[[str], None] | None = None,
) -> RetentionResult:
    """Erase the reporter data of every case past its retention period (see the module's docstring).

    ``dry_run``: count what would be erased, by month of closing, and write nothing (not even an audit
    entry). Otherwise one transaction and one audit entry (``retention_erase``) per batch of cases."""
    now = now or timezone.now()
    result = RetentionResult(dry_run=dry_run)
    if dry_run:
        for closed_at in cases_due(now=now).values_list("closed_at", flat=True).iterator(chunk_size=2000):
            assert closed_at is not None  # due_q requires it
            result.by_month[_month_key(closed_at)] += 1
            result.cases += 1
        due_ids = cases_due(now=now).values("pk")
        result.rows.update({key: qs.count() for key, qs in _rows_of(due_ids).items()})
        _leftovers_erase(result, now, batch_size)
        return result
    for ids in _batches(now, batch_size):
        with transaction.atomic():
            # Lock and re-check: a case reopened meanwhile is not erased.
            locked = _case_source().lock_due(ids, now, retention_days_by_outcome())
            months: Counter[str] = Counter()
            ids_locked = [c.pk for c in locked]
            rows = Counter({k: qs.count() for k, qs in _rows_of(ids_locked).items()} if locked else {})
            for case in locked:
                assert case.closed_at is not None
                _erase_case(case, now)
                months[_month_key(case.closed_at)] += 1
            if locked:
                audit_record(
                    action=AuditAction.RETENTION_ERASE,
                    actor_label="system",
                    object_type="case",
                    object_id=f"{locked[0].number}…{locked[-1].number}"
                    if len(locked) > 1
                    else locked[0].number,
                    detail={
                        "cases": len(locked),
                        "numbers": [c.number for c in locked],
                        "closed_by_month": dict(sorted(months.items())),
                        "retention_days": retention_days(),
                        "by_outcome": retention_days_by_outcome(),
                        "rows": dict(sorted(rows.items())),
                    },
                )
        result.cases += len(locked)
        result.batches += 1 if locked else 0
        result.by_month.update(months)
        result.rows.update(rows)
        if progress is not None and locked:
            progress(f"已删除 {result.cases} 件举报件的举报人信息……")
    _leftovers_erase(result, now, batch_size)
    return result
