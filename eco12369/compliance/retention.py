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
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from eco12369.cases.models import Case, CaseEvent, Extension, Outcome, Reply, State

MASK = "＊＊"
DEFAULT_DAYS = 1095
BATCH = 200


def retention_days() -> int:
    return int(getattr(settings, "ECO_RETENTION_DAYS", DEFAULT_DAYS))


def retention_days_by_outcome() -> dict[str, int]:
    """Per-outcome overrides; unknown outcomes are ignored (``check`` reports them)."""
    raw = getattr(settings, "ECO_RETENTION_DAYS_BY_OUTCOME", {}) or {}
    return {str(k): int(v) for k, v in dict(raw).items() if str(k) in Outcome.values}


def due_q(now: dt.datetime) -> Q:
    """Closed cases whose retention period has run out and whose reporter data is still there."""
    overrides = retention_days_by_outcome()
    default_cutoff = now - dt.timedelta(days=retention_days())
    expired = Q(closed_at__lt=default_cutoff) & ~Q(outcome__in=list(overrides))
    for outcome, days in overrides.items():
        expired |= Q(outcome=outcome, closed_at__lt=now - dt.timedelta(days=days))
    return Q(state=State.CLOSED, reporter_erased_at__isnull=True, closed_at__isnull=False) & expired


def cases_due(*, now: dt.datetime | None = None) -> QuerySet[Case]:
    return Case.objects.filter(due_q(now or timezone.now()))


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


# What ``RetentionResult.rows`` counts, as the command reports it.
ROW_LABELS = {
    "follow_notes": "关注补充说明",
    "supervision_orders": "督办单",
    "spot_check_items": "抽查意见",
    "fingerprints": "查重分词",
}


def _rows_of(case_ids: QuerySet[Any] | list[int]) -> dict[str, QuerySet[Any]]:
    """The rows outside the case's own tables that its erasure scrubs (``ROW_LABELS``' keys)."""
    from eco12369.cases.models import SupervisionOrder
    from eco12369.followup.models import Follow
    from eco12369.oversight.models import CaseFingerprint, SpotCheckItem

    return {
        "follow_notes": Follow.objects.filter(case__in=case_ids).exclude(note=""),
        "supervision_orders": SupervisionOrder.objects.filter(case__in=case_ids),
        "spot_check_items": SpotCheckItem.objects.filter(case__in=case_ids),
        "fingerprints": CaseFingerprint.objects.filter(case__in=case_ids, tokenized=True),
    }


def chat_retention_days() -> int:
    return int(getattr(settings, "ECO_CHAT_RETENTION_DAYS", 90))


def _chat_leftovers_erase(result: RetentionResult, now: dt.datetime, batch_size: int) -> None:
    """Delete inbound messages with no case older than the chat retention period, and throw away drafts
    untouched as long (``result.dry_run``: count them only). One audit entry when anything went."""
    from eco12369.audit.services import audit_record
    from eco12369.wechat.conversation import draft_discard
    from eco12369.wechat.models import Conversation, InboundMessage

    cutoff = now - dt.timedelta(days=chat_retention_days())
    messages = InboundMessage.objects.filter(case__isnull=True, received_at__lt=cutoff)
    drafts = Conversation.objects.filter(draft_started_at__lt=cutoff)
    if result.dry_run:
        result.chat_messages, result.drafts = messages.count(), drafts.count()
        return
    while ids := list(messages.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        result.chat_messages += InboundMessage.objects.filter(pk__in=ids).delete()[0]
    for pk in drafts.values_list("pk", flat=True).iterator(chunk_size=batch_size):
        with transaction.atomic():
            conv = Conversation.objects.select_for_update().filter(pk=pk, draft_started_at__lt=cutoff).first()
            if conv is None:  # the reporter wrote meanwhile
                continue
            draft_discard(conv)
            conv.save(
                update_fields=[
                    "state",
                    "draft_text",
                    "draft_latitude",
                    "draft_longitude",
                    "draft_label",
                    "draft_started_at",
                ]
            )
            result.drafts += 1
    if result.chat_messages or result.drafts:
        audit_record(
            action="retention_erase_chat",
            actor_label="system",
            object_type="wechat",
            detail={
                "messages": result.chat_messages,
                "drafts": result.drafts,
                "chat_retention_days": chat_retention_days(),
            },
        )


def _month_key(closed_at: dt.datetime) -> str:
    local = timezone.localtime(closed_at)
    return f"{local.year:04d}-{local.month:02d}"


def _scrubber(*secrets: str) -> Callable[[str], str]:
    values = sorted({s.strip() for s in secrets if s and len(s.strip()) >= 2}, key=len, reverse=True)

    def scrub(text: str) -> str:
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    return scrub


def _scrub_rows(
    qs: QuerySet[Any], fields: tuple[str, ...], scrub: Callable[[str], str], **extra: Any
) -> None:
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


def _erase_case(case: Case, now: dt.datetime) -> None:
    from eco12369.followup.models import Follow, Rating
    from eco12369.portal.models import Submission
    from eco12369.wechat.models import InboundMessage, OutboxMessage

    scrub = _scrubber(case.reporter_name, case.reporter_phone)
    Case.objects.filter(pk=case.pk).update(
        reporter_name="",
        reporter_phone="",
        reporter_openid="",
        reporter_openid_digest="",
        reporter_erased_at=now,
        description=scrub(case.description),
        public_summary=scrub(case.public_summary),
    )
    reply_fields = (
        "party_facts",
        "inspection",
        "violations",
        "decision",
        "communication",
        "text",
        "review_note",
        "public_summary",
    )
    _scrub_rows(Reply.objects.filter(case=case), reply_fields, scrub)
    _scrub_rows(Extension.objects.filter(case=case), ("reason", "decision_note"), scrub)
    _scrub_rows(CaseEvent.objects.filter(case=case), ("note",), scrub)
    _scrub_rows(Rating.objects.filter(case=case), ("comment",), scrub)
    # WeChat traffic of the case: delivered long ago; a message still waiting for a channel is dropped.
    OutboxMessage.objects.filter(
        case=case, status__in=(OutboxMessage.Status.PENDING, OutboxMessage.Status.WAITING)
    ).update(status=OutboxMessage.Status.FAILED, last_error="举报人信息已按保存期限删除")
    _scrub_rows(OutboxMessage.objects.filter(case=case), ("text",), scrub, openid="", openid_digest="")
    for inbound in InboundMessage.objects.filter(case=case):
        changes: dict[str, Any] = {"openid_digest": "", "raw": "", "content": scrub(inbound.content)}
        if inbound.dedupe_key.startswith("evt:"):  # events are keyed by the sender's blind index + time
            changes["dedupe_key"] = f"erased:{inbound.pk}"
        InboundMessage.objects.filter(pk=inbound.pk).update(**changes)
    Submission.objects.filter(case=case).update(openid="", openid_digest="")
    _erase_case_elsewhere(case, scrub)
    # Followers stay as anonymous repeat reports (the assessment counts them); the unique (case, follower)
    # pair stays unique with a per-row placeholder in place of the blind index.
    follows = Follow.objects.filter(case=case).exclude(openid_digest__startswith="erased:")
    for follow_pk in follows.values_list("pk", flat=True):
        Follow.objects.filter(pk=follow_pk).update(
            openid="",
            openid_digest=f"erased:{follow_pk}",
            caller_phone="",  # a hotline caller's phone and name (issue 14)
            caller_phone_digest="",
            caller_name="",
        )


def _erase_case_elsewhere(case: Case, scrub: Callable[[str], str]) -> None:
    """What other apps wrote about the case (see the module's docstring)."""
    from eco12369.cases.models import SupervisionOrder
    from eco12369.followup.models import Follow
    from eco12369.followup.services import FOLLOW_NOTE_MARK
    from eco12369.oversight.duplicate_scoring import text_features
    from eco12369.oversight.models import CaseFingerprint, SpotCheck, SpotCheckItem

    _scrub_rows(SupervisionOrder.objects.filter(case=case), ("instruction", "answer"), scrub)
    _scrub_rows(SpotCheckItem.objects.filter(case=case), ("note",), scrub)
    _scrub_rows(SpotCheck.objects.filter(items__case=case).distinct(), ("note",), scrub)
    # The follower's own words: removed, on the Follow and on its timeline event ("…。补充说明：<note>").
    Follow.objects.filter(case=case).exclude(note="").update(note="")
    events = CaseEvent.objects.filter(case=case, action="follow", note__contains=FOLLOW_NOTE_MARK)
    for pk, note in events.values_list("pk", "note"):
        CaseEvent.objects.filter(pk=pk).update(note=note.partition(FOLLOW_NOTE_MARK)[0])
    # The finder's tokens were cut from the description as it was: cut them again from what is left.
    description = Case.objects.values_list("description", flat=True).get(pk=case.pk)
    tokens, concept_set = text_features(description, case.reported_party)
    CaseFingerprint.objects.filter(case=case, tokenized=True).update(
        tokens=" ".join(t for t in tokens if scrub(t) == t), concepts=",".join(sorted(concept_set))
    )


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
    from eco12369.audit.services import audit_record

    now = now or timezone.now()
    result = RetentionResult(dry_run=dry_run)
    if dry_run:
        for closed_at in cases_due(now=now).values_list("closed_at", flat=True).iterator(chunk_size=2000):
            assert closed_at is not None  # due_q requires it
            result.by_month[_month_key(closed_at)] += 1
            result.cases += 1
        due_ids = cases_due(now=now).values("pk")
        result.rows.update({key: qs.count() for key, qs in _rows_of(due_ids).items()})
        _chat_leftovers_erase(result, now, batch_size)
        return result
    for ids in _batches(now, batch_size):
        with transaction.atomic():
            # Lock and re-check: a case reopened meanwhile is not erased.
            locked = list(
                Case.objects.select_for_update(of=("self",)).filter(due_q(now), pk__in=ids).order_by("pk")
            )
            months: Counter[str] = Counter()
            ids_locked = [c.pk for c in locked]
            rows = Counter({k: qs.count() for k, qs in _rows_of(ids_locked).items()} if locked else {})
            for case in locked:
                assert case.closed_at is not None
                _erase_case(case, now)
                months[_month_key(case.closed_at)] += 1
            if locked:
                audit_record(
                    action="retention_erase",
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
    _chat_leftovers_erase(result, now, batch_size)
    return result
