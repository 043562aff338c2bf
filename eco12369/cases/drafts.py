"""The reply editor's server-side draft (issue 12, D7): what a handler types is saved as they type, one
draft per case and author, so a reload or a closed tab loses nothing. Only the author reads it back; it
is removed when the reply is submitted."""

from __future__ import annotations

from django.utils import timezone

from eco12369.orgs.models import User

from .models import Case, ReplyDraft
from .workflow import TransitionError, refusal


def reply_draft_get(*, case: Case, author: User) -> ReplyDraft | None:
    return ReplyDraft.objects.filter(case=case, author=author).first()


def reply_draft_save(*, case: Case, author: User, values: dict[str, str]) -> ReplyDraft:
    """Save the typed parts (only the reply's fields; each capped at 20,000 characters)."""
    reason = refusal(case, author, "submit_reply")
    if reason is not None:
        raise TransitionError(reason)
    fields = {name: str(values.get(name, ""))[:20000] for name in ReplyDraft.FIELDS}
    draft, _ = ReplyDraft.objects.update_or_create(
        case=case, author=author, defaults={**fields, "saved_at": timezone.now()}
    )
    return draft


def reply_draft_discard(*, case: Case, author: User) -> None:
    ReplyDraft.objects.filter(case=case, author=author).delete()
