"""Duplicate detection: the labelled set (precision/recall), the hook on case creation, the operator's page."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from eco12369.cases.models import Case
from eco12369.oversight.duplicates import (
    DUPLICATE_THRESHOLD,
    normalise_party,
    pair_score,
    sketch_from_dict,
)
from eco12369.oversight.models import CaseFingerprint, DuplicateCandidate

PAIRS = Path(__file__).resolve().parents[2] / "bench" / "data" / "duplicate_pairs.jsonl"


def test_labelled_set_precision_and_recall_at_least_090() -> None:
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(pairs) >= 300
    kinds = {p["kind"].split(":")[0] for p in pairs}
    assert {"near_duplicate", "same_party_other_issue", "same_place_other_party", "different"} <= kinds
    tp = fp = fn = 0
    for pair in pairs:
        score = pair_score(new=sketch_from_dict(pair["b"]), old=sketch_from_dict(pair["a"]))
        predicted = score.total >= DUPLICATE_THRESHOLD
        tp += predicted and pair["label"] == 1
        fp += predicted and pair["label"] == 0
        fn += (not predicted) and pair["label"] == 1
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.9, precision
    assert recall >= 0.9, recall


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("天津市宏达化工有限公司", "宏达化工"),
        ("宏达化工厂", "宏达化工"),
        ("（天津）宏达化工股份有限公司", "宏达化工"),
        ("天津西青区宏达化工科技有限公司", "宏达化工"),
        ("", ""),
    ],
)
def test_party_names_are_normalised(raw: str, key: str) -> None:
    assert normalise_party(raw) == key


def _report(make_case: Callable[..., Case], **kw: Any) -> Case:
    kw.setdefault("category", "water")
    return make_case("西青区", **kw)


def test_a_new_case_gets_scored_candidates_on_commit(
    make_case: Callable[..., Case], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = _report(
            make_case,
            reported_party="天津市宏达化工有限公司",
            address="西青区大寺工业园88号",
            latitude=Decimal("39.081000"),
            longitude=Decimal("117.105000"),
            description="宏达化工每天夜里通过暗管往河里偷排污水，河水发黑发臭，请尽快查处。",
        )
        other = _report(
            make_case,
            reported_party="天津市宏达化工有限公司",
            address="西青区大寺工业园88号",
            category="noise",
            description="宏达化工车间机器轰鸣，晚上吵得睡不着。",
        )
    assert CaseFingerprint.objects.get(case=first).party_key == "宏达化工"
    with django_capture_on_commit_callbacks(execute=True):
        new = _report(
            make_case,
            reported_party="宏达化工厂",
            address="大寺工业园88号附近",
            latitude=Decimal("39.081900"),
            longitude=Decimal("117.105600"),
            description="这家厂晚上偷排废水，排污口那里的水又黑又臭，希望环保部门管一管！",
        )
        # The fingerprint is written with the case; the scoring waits for the commit.
        assert CaseFingerprint.objects.filter(case=new).exists()
        assert not DuplicateCandidate.objects.filter(case=new).exists()
    found = list(DuplicateCandidate.objects.filter(case=new))
    by_case = {c.candidate_id: c for c in found}
    assert first.pk in by_case
    assert by_case[first.pk].score >= DUPLICATE_THRESHOLD
    assert by_case[first.pk].distance_m is not None and by_case[first.pk].distance_m < 150
    assert other.pk not in by_case or by_case[other.pk].score < DUPLICATE_THRESHOLD


def test_no_candidates_outside_the_time_window(
    make_case: Callable[..., Case], django_capture_on_commit_callbacks: Any
) -> None:
    old_time = timezone.now() - dt.timedelta(days=45)
    with django_capture_on_commit_callbacks(execute=True):
        _report(
            make_case,
            reported_party="宏达化工",
            description="宏达化工偷排污水，河水发黑。",
            received_at=old_time,
        )
        new = _report(make_case, reported_party="宏达化工", description="宏达化工偷排污水，河水发黑。")
    assert not DuplicateCandidate.objects.filter(case=new).exists()


def test_a_rolled_back_intake_enqueues_nothing(
    make_case: Callable[..., Case], django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        try:
            with transaction.atomic():
                _report(make_case, reported_party="宏达化工")
                raise RuntimeError("boom")
        except RuntimeError:
            pass
    assert callbacks == []
    assert not CaseFingerprint.objects.exists()
