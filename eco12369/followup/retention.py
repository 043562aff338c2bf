"""Retention (``compliance/retention.py``): followup's part of a case. The rating comment is scrubbed. A
follower's note (``Follow.note``, and its copy on the timeline's ``follow`` event) is removed: the
follower is a reporter too, but only their blind index was ever known, so their own name or phone cannot
be recognised in their text (the repeat report itself stays). Followers stay as anonymous repeat reports
(the assessment counts them); the unique (case, follower) pair stays unique with a per-row placeholder in
place of the blind index."""

from __future__ import annotations

from eco12369.cases.models import Case, CaseEvent
from eco12369.compliance.retention import Scrub, case_eraser_register, scrub_rows

from .models import Follow, Rating
from .services import FOLLOW_NOTE_MARK


def _erase(case: Case, scrub: Scrub) -> None:
    scrub_rows(Rating.objects.filter(case=case), ("comment",), scrub)
    # The follower's own words: removed, on the Follow and on its timeline event ("…。补充说明：<note>").
    Follow.objects.filter(case=case).exclude(note="").update(note="")
    events = CaseEvent.objects.filter(case=case, action="follow", note__contains=FOLLOW_NOTE_MARK)
    for pk, note in events.values_list("pk", "note"):
        CaseEvent.objects.filter(pk=pk).update(note=note.partition(FOLLOW_NOTE_MARK)[0])
    follows = Follow.objects.filter(case=case).exclude(openid_digest__startswith="erased:")
    for follow_pk in follows.values_list("pk", flat=True):
        Follow.objects.filter(pk=follow_pk).update(
            openid="",
            openid_digest=f"erased:{follow_pk}",
            caller_phone="",  # a hotline caller's phone and name (issue 14)
            caller_phone_digest="",
            caller_name="",
        )


def retention_register() -> None:
    case_eraser_register(
        _erase, rows={"follow_notes": lambda ids: Follow.objects.filter(case__in=ids).exclude(note="")}
    )
