"""Retention (``compliance/retention.py``): what oversight wrote about a case. The spot-check notes on it
(and the note of a spot check that sampled it) are scrubbed; the duplicate finder's tokens were cut from
the description as it was: they are cut again from what is left, so the finder still compares it."""

from __future__ import annotations

from eco12369.cases.models import Case
from eco12369.compliance.retention import Scrub, case_eraser_register, scrub_rows

from .duplicate_scoring import text_features
from .models import CaseFingerprint, SpotCheck, SpotCheckItem


def _erase(case: Case, scrub: Scrub) -> None:
    scrub_rows(SpotCheckItem.objects.filter(case=case), ("note",), scrub)
    scrub_rows(SpotCheck.objects.filter(items__case=case).distinct(), ("note",), scrub)
    description = Case.objects.values_list("description", flat=True).get(pk=case.pk)
    tokens, concept_set = text_features(description, case.reported_party)
    CaseFingerprint.objects.filter(case=case, tokenized=True).update(
        tokens=" ".join(t for t in tokens if scrub(t) == t), concepts=",".join(sorted(concept_set))
    )


def retention_register() -> None:
    case_eraser_register(
        _erase,
        rows={
            "spot_check_items": lambda ids: SpotCheckItem.objects.filter(case__in=ids),
            "fingerprints": lambda ids: CaseFingerprint.objects.filter(case__in=ids, tokenized=True),
        },
    )
