"""Reads of the follow-up features, scoped to the user or the reporter in the same query (DESIGN §10)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from eco12369.cases import deadlines
from eco12369.cases.models import Case, Outcome, State
from eco12369.cases.selectors import reporter_q
from eco12369.crypto import blind_q
from eco12369.orgs.models import Agency, User

from . import access, texts
from .models import Follow, Rating, ReplyTemplate

RATEABLE_OUTCOMES = (Outcome.HANDLED, Outcome.ANSWERED, Outcome.HANDED_OVER)


# ------------------------------------------------------------------------------------------ ratings
def rating_days() -> int:
    """How many days after closing the reporter may rate (the closing day not counted)."""
    return int(settings.ECO.get("RATING_DAYS", 15))


def rating_until(case: Case) -> dt.datetime | None:
    """The end of the rating window: the end of the 15th day after the day of closing."""
    if case.closed_at is None:
        return None
    return deadlines.end_of(deadlines.local_date(case.closed_at) + dt.timedelta(days=rating_days()))


def _day(moment: dt.datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.year}年{local.month}月{local.day}日"


def rating_refusal(case: Case, *, now: dt.datetime | None = None) -> str | None:
    """Why ``case`` cannot be rated now (None: it can). The reporter check is the caller's."""
    now = now or timezone.now()
    if case.state != State.CLOSED or case.closed_at is None:
        return texts.NOT_CLOSED
    if case.outcome == Outcome.DUPLICATE:
        original = case.duplicate_of.number if case.duplicate_of_id else ""  # type: ignore[union-attr]
        return texts.DUPLICATE.format(number=original)
    if case.outcome not in RATEABLE_OUTCOMES:
        return texts.NOT_RATEABLE
    existing = Rating.objects.filter(case_id=case.pk, closed_at=case.closed_at).first()
    if existing is not None:
        return texts.ALREADY_RATED.format(level=existing.get_level_display())
    until = rating_until(case)
    assert until is not None
    if now > until:
        return texts.WINDOW_OVER.format(days=rating_days(), until=_day(until))
    return None


def rateable_cases_of(*, openid: str, now: dt.datetime | None = None) -> QuerySet[Case]:
    """The reporter's own closed cases that can still be rated (not rated since their last closing),
    newest first (an indexed range query)."""
    if not openid:
        return Case.objects.none()
    now = now or timezone.now()
    # closed_at >= start of the day ``rating_days`` + 1 days ago covers the window whatever the hour.
    since = deadlines.end_of(deadlines.local_date(now) - dt.timedelta(days=rating_days() + 1))
    return (
        Case.objects.filter(
            reporter_q(openid=openid),
            state=State.CLOSED,
            outcome__in=RATEABLE_OUTCOMES,
            closed_at__gt=since,
        )
        .filter(Q(rating__isnull=True) | Q(rating__closed_at__lt=F("closed_at")))
        .select_related("agency")
        .order_by("-closed_at", "-id")
    )


def rating_of(case: Case) -> Rating | None:
    """The rating shown with the case: its latest, while that is about the current closing or the case is
    open again (reopened on review: what the reporter last did and what came of it); None once the case
    has closed again, with a new answer to rate."""
    rating = Rating.objects.filter(latest_of_id=case.pk).first()
    if rating is not None and case.closed_at is not None and rating.closed_at != case.closed_at:
        return None
    return rating


# ------------------------------------------------------------------------------------------ reviews
REVIEW_PENDING = "pending"
REVIEW_DONE = "done"


def reviews_for(*, user: User, status: str = REVIEW_PENDING) -> QuerySet[Rating]:
    """Unsatisfied ratings for the city centre's review list (nobody else sees it): pending first-come, or
    the decided ones newest first."""
    if not access.can_view_reviews(user):
        return Rating.objects.none()
    qs = Rating.objects.filter(level=Rating.Level.UNSATISFIED).select_related(
        "case", "case__region", "case__agency", "case__department", "reviewed_by"
    )
    if status == REVIEW_DONE:
        return qs.filter(review__in=(Rating.Review.REOPENED, Rating.Review.DISMISSED)).order_by(
            "-reviewed_at", "-id"
        )
    return qs.filter(review=Rating.Review.PENDING).order_by("rated_at", "id")


def review_get_for(*, user: User, pk: int) -> Rating | None:
    if not access.can_view_reviews(user):
        return None
    return (
        Rating.objects.filter(pk=pk, level=Rating.Level.UNSATISFIED)
        .select_related("case", "case__region", "case__agency", "case__department", "reviewed_by")
        .first()
    )


# ---------------------------------------------------------------------------------- reply templates
def reply_templates_manageable_by(*, user: User) -> QuerySet[ReplyTemplate]:
    """A bureau's operators, reviewers and heads manage their own bureau's templates (the city centre's
    are the city-wide defaults); nobody sees another bureau's."""
    if not access.can_manage_templates(user):
        return ReplyTemplate.objects.none()
    return ReplyTemplate.objects.filter(agency=user.agency).select_related("updated_by")


def reply_template_manageable_get(*, user: User, pk: int) -> ReplyTemplate | None:
    return reply_templates_manageable_by(user=user).filter(pk=pk).first()


def reply_templates_for_case(*, user: User, case: Case) -> QuerySet[ReplyTemplate]:
    """The active templates a member of the case's bureau may use on it: the bureau's own and the city
    centre's defaults, for the case's kind and category (or any), the bureau's own and the most specific
    first."""
    if user.agency_id is None or user.agency_id != case.agency_id:
        return ReplyTemplate.objects.none()
    return (
        ReplyTemplate.objects.filter(active=True)
        .filter(Q(agency_id=user.agency_id) | Q(agency__kind=Agency.Kind.CITY_CENTRE))
        .filter(kind__in=("", case.kind), category__in=("", case.category))
        .select_related("agency")
        .order_by("-category", "-kind", "name", "id")
    )


def reply_template_for_case_get(*, user: User, case: Case, pk: int) -> ReplyTemplate | None:
    return reply_templates_for_case(user=user, case=case).filter(pk=pk).first()


# ------------------------------------------------------------------------------------------ follows
def follows_of(*, openid: str) -> QuerySet[Follow]:
    """The reporter's follows, by the blind index of their (encrypted) openid."""
    if not openid:
        return Follow.objects.none()
    return Follow.objects.filter(blind_q("openid", openid))


def follow_of(*, openid: str, case: Case) -> Follow | None:
    return follows_of(openid=openid).filter(case=case).first()


def followed_case_get(*, openid: str, number: str) -> Case | None:
    """A case the reporter follows (not one they reported), by number; None otherwise."""
    number = (number or "").strip().upper()
    if not openid or not number:
        return None
    return (
        Case.objects.filter(blind_q("follows__openid", openid), number=number)
        .exclude(reporter_q(openid=openid))
        .select_related("region")
        .first()
    )


def case_to_follow_get(*, number: str) -> Case | None:
    """The case a reporter asks to follow; the caller has checked the signed suggestion token."""
    return Case.objects.filter(number=(number or "").strip().upper()).first()
