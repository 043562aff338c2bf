"""Retention (``compliance/retention.py``): the H5 form of a case loses the reporter's openid."""

from __future__ import annotations

from eco12369.cases.models import Case
from eco12369.compliance.retention import Scrub, case_eraser_register

from .models import Submission


def _erase(case: Case, scrub: Scrub) -> None:
    Submission.objects.filter(case=case).update(openid="", openid_digest="")


def retention_register() -> None:
    case_eraser_register(_erase)
