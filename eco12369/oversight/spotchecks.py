"""Spot checks (抽查, Art. 14): a reproducible, stratified random sample of a month's closed cases, and the
checklist the platform can verify on its own.

The sample: the month's closed cases (closed_at in the month, local time), grouped by district
(``Case.region``); in every district with closed cases ``min(per_district, n)`` cases are drawn with
``random.Random(f"{seed}:{district code}")`` from the district's case ids in ascending order. The same
month, seed and size always give the same sample (string seeds are hashed with SHA-512 by ``random``, not
with Python's per-process hash); another seed gives another sample; every district with closed cases
appears in it.

The checklist (None where an item does not apply; a reviewer may change any value, with a note):
* on time: confirmed by the confirmation deadline and, once accepted, closed by the closing deadline;
* reply complete: the approved handling reply has its five parts (Art. 10); an answer or hand-over has text;
* evidence: a handled case has evidence of the handling attached (``cases.evidence``: inspection photos,
  a scanned 检查笔录 or 处罚决定书, uploaded by the handling department; the reporter's own photos are not
  evidence of the investigation);
* reporter informed: the closing message (closed / answered / handed over / duplicate) was sent to the
  reporter's WeChat; not applicable when the reporter did not come through WeChat.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from django.db.models import Exists, OuterRef, Q

from eco12369.cases.models import Attachment, Case, Outcome, Reply, State
from eco12369.notifications.models import OutboxMessage

from .periods import Period

CLOSING_TEMPLATES = (
    OutboxMessage.Template.CLOSED,
    OutboxMessage.Template.ANSWERED,
    OutboxMessage.Template.HANDED_OVER,
    OutboxMessage.Template.DUPLICATE,
)
CHECK_LABELS = {
    "on_time": "按期办结",
    "reply_complete": "答复意见要素齐全",
    "evidence": "有调查取证材料",
    "reporter_informed": "已告知举报人",
}


def closed_in(period: Period) -> Any:
    return Case.objects.filter(
        state=State.CLOSED, closed_at__gte=period.start_at, closed_at__lt=period.end_at
    )


def spot_check_sample(*, period: Period, seed: int, per_district: int) -> list[tuple[int, int]]:
    """(case id, region id) of the sample, district by district (by region code), ids ascending."""
    if per_district < 1:
        raise ValueError("per_district must be at least 1")
    strata: dict[tuple[str, int], list[int]] = defaultdict(list)
    rows = closed_in(period).order_by("id").values_list("id", "region_id", "region__code")
    for case_id, region_id, code in rows:
        strata[(code, region_id)].append(case_id)
    sample: list[tuple[int, int]] = []
    for (code, region_id), ids in sorted(strata.items()):
        rng = random.Random(f"{seed}:{code}")
        chosen = rng.sample(ids, min(per_district, len(ids)))
        sample.extend((case_id, region_id) for case_id in sorted(chosen))
    return sample


def checklist_auto(case_ids: list[int]) -> dict[int, dict[str, bool | None]]:
    """The automatic checklist of the given cases, in one query (``Exists`` sub-queries)."""
    approved = Reply.objects.filter(case=OuterRef("pk"), status=Reply.Status.APPROVED)
    five_parts = Q()
    for part in Reply.FIVE_PARTS:
        five_parts &= ~Q(**{part: ""})
    rows = (
        Case.objects.filter(pk__in=case_ids)
        .annotate(
            handling_complete=Exists(approved.filter(five_parts, kind=Reply.Kind.HANDLING)),
            text_complete=Exists(approved.exclude(kind=Reply.Kind.HANDLING).exclude(text="")),
            has_evidence=Exists(
                Attachment.objects.filter(case=OuterRef("pk"), kind=Attachment.Kind.EVIDENCE)
            ),
            on_wechat=Exists(OutboxMessage.objects.filter(case=OuterRef("pk"))),
            informed=Exists(
                OutboxMessage.objects.filter(
                    case=OuterRef("pk"), template__in=CLOSING_TEMPLATES, status=OutboxMessage.Status.SENT
                )
            ),
        )
        .values(
            "pk",
            "outcome",
            "confirmed_at",
            "confirm_due",
            "closed_at",
            "close_due",
            "handling_complete",
            "text_complete",
            "has_evidence",
            "on_wechat",
            "informed",
        )
    )
    out: dict[int, dict[str, bool | None]] = {}
    for row in rows:
        confirmed_ok = row["confirmed_at"] is not None and row["confirmed_at"] <= row["confirm_due"]
        closed_ok = row["close_due"] is None or (
            row["closed_at"] is not None and row["closed_at"] <= row["close_due"]
        )
        outcome = row["outcome"]
        if outcome == Outcome.HANDLED:
            reply: bool | None = row["handling_complete"]
            evidence: bool | None = row["has_evidence"]
        elif outcome in (Outcome.ANSWERED, Outcome.HANDED_OVER):
            reply, evidence = row["text_complete"], None
        else:
            reply, evidence = None, None
        out[row["pk"]] = {
            "on_time": confirmed_ok and closed_ok,
            "reply_complete": reply,
            "evidence": evidence,
            "reporter_informed": row["informed"] if row["on_wechat"] else None,
        }
    return out


def checklist_score(values: dict[str, bool | None]) -> float | None:
    """Percentage of the applicable items that pass (None when nothing applies)."""
    applicable = [v for v in values.values() if v is not None]
    if not applicable:
        return None
    return round(100.0 * sum(1 for v in applicable if v) / len(applicable), 1)
