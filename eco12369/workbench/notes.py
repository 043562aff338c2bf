"""Internal notes (内部备注) with @mentions, and the people a note may mention.

A mention names a member of staff by username or by name (``@zhangwei`` or ``@张伟``). Only people who may
see the case can be mentioned (the same rule as ``cases.selectors.cases_visible_to``); a mention of anyone
else, or of nobody known, refuses the whole note with one generic reason (it does not tell the two apart nor
name anyone: a mention is no way to find the platform's accounts), so no one is told about a case they may
not open and no mention is lost silently. Each note is audited (who, which case, whom it mentions; not
its text, which stays with the case)."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from eco12369.audit.services import audit_record
from eco12369.cases.models import TEXT_MAX, Case
from eco12369.cases.selectors import CASE_ROLES, cases_visible_to
from eco12369.errors import Refused
from eco12369.orgs.models import Agency, User

from .alerts import notify
from .models import CaseNote, NotificationKind

NOTE_MAX = TEXT_MAX  # the one limit of every staff text


class NoteRefused(Refused):
    """A note that cannot be written as typed (422: empty, too long, a mention of someone who may not see
    the case); 403 for a user who may not see the case."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY


@dataclass(frozen=True)
class Mentionable:
    username: str
    name: str
    agency: str


def staff_who_may_see(*, case: Case) -> QuerySet[User]:
    """Active staff with a case role whose agency sees ``case``: the city centre, or the case's district."""
    return (
        User.objects.filter(is_active=True, roles__role__in=CASE_ROLES)
        .filter(
            Q(agency__kind=Agency.Kind.CITY_CENTRE)
            | Q(agency__kind=Agency.Kind.DISTRICT_BUREAU, agency__region_id=case.region_id)
        )
        .select_related("agency")
        .distinct()
        .order_by("agency__name", "username")
    )


def mentionable_for(*, user: User, case: Case, query: str = "", limit: int = 10) -> list[Mentionable]:
    """The autocomplete of the note form: people who may see the case, matching ``query`` (username or name)."""
    if not cases_visible_to(user=user).filter(pk=case.pk).exists():
        return []
    qs = staff_who_may_see(case=case).exclude(pk=user.pk)
    query = query.strip().lstrip("@")
    if query:
        qs = qs.filter(Q(username__icontains=query) | Q(display_name__icontains=query))
    return [
        Mentionable(u.username, u.display_name or u.username, u.agency.name if u.agency else "")
        for u in qs[:limit]
    ]


def _mention_tokens(body: str) -> list[tuple[int, str]]:
    """(position after the @, the rest of the line) for each @ that starts a word (not in an e-mail address)."""
    out = []
    for i, ch in enumerate(body):
        if ch in "@＠" and (i == 0 or not (body[i - 1].isalnum() or body[i - 1] in "._-")):
            rest = body[i + 1 :].split("\n", 1)[0]
            if rest and not rest[0].isspace():
                out.append((i + 1, rest))
    return out


def _word(rest: str) -> str:
    word = ""
    for ch in rest:
        if not (ch.isalnum() or ch in "._-"):
            break
        word += ch
    return word or rest[:1]


def mentions_resolve(*, case: Case, body: str) -> list[User]:
    """The people ``body`` mentions, looked up only among the staff who may see the case (those a mention may
    notify, ``staff_who_may_see``); NoteRefused for any other mention, the same for someone who may not see
    the case as for no one, so the refusal discloses no account."""
    tokens = _mention_tokens(body)
    if not tokens:
        return []
    allowed = list(staff_who_may_see(case=case))
    found: list[User] = []
    for _pos, rest in tokens:
        best: User | None = None
        best_len = 0
        for person in allowed:
            for handle in (person.username, person.display_name):
                if handle and rest.startswith(handle) and len(handle) > best_len:
                    best, best_len = person, len(handle)
        if best is not None:
            if best not in found:
                found.append(best)
            continue
        # Not told apart: someone who may not see the case, or no one. The refusal echoes only what the
        # writer typed, never another account's name (of another district, the administrator, the auditor).
        raise NoteRefused(
            f"无法提及“@{_word(rest)}”：该用户不存在或无权查看此举报件。"
            "请从提示列表中选择可查看本举报件的工作人员。"
        )
    return found


def note_add(*, user: User, case: Case, body: str, request: HttpRequest | None = None) -> CaseNote:
    """Write an internal note on ``case`` (the user must see it), notify each person it mentions, audit."""
    body = body.strip()
    if not body:
        raise NoteRefused("备注内容不能为空。")
    if len(body) > NOTE_MAX:
        raise NoteRefused(f"备注不能超过 {NOTE_MAX} 字。")
    if not cases_visible_to(user=user).filter(pk=case.pk).exists():
        raise NoteRefused("您无权查看该举报件。", status=HTTPStatus.FORBIDDEN)
    mentioned = [p for p in mentions_resolve(case=case, body=body) if p.pk != user.pk]
    now = timezone.now()
    with transaction.atomic():
        note = CaseNote.objects.create(case=case, author=user, body=body, created_at=now)
        note.mentions.set(mentioned)
        author = user.display_name or user.username
        for person in mentioned:
            notify(
                recipient=person,
                kind=NotificationKind.MENTION,
                case=case,
                note=note,
                text=f"{author} 在举报件 {case.number} 的内部备注中提及了您",
                now=now,
            )
        audit_record(
            action="case.note_add",
            actor=user,
            object_type="case",
            object_id=case.number,
            detail={"note": note.pk, "mentions": [p.username for p in mentioned]},
            request=request,
        )
    return note


def notes_of(*, case: Case) -> QuerySet[CaseNote]:
    return case.notes.select_related("author").all()
