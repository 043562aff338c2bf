"""Open311 reads: the public cases, the city and its districts, request tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from eco12369.cases.models import Case, State, query_code_matches
from eco12369.cases.public import listed_q
from eco12369.orgs.models import Region
from eco12369.stats.figures import substantiated_q

from .catalogue import Service
from .models import RequestToken

MAX_RESULTS = 1000


def public_cases() -> QuerySet[Case]:
    """Every case, annotated with ``listed`` (the public list shows it: ``cases.public.listed_q``, never an
    unconfirmed case) and ``substantiated``."""
    return Case.objects.select_related("agency", "handover_agency", "region").annotate(
        listed=ExpressionWrapper(listed_q(), output_field=BooleanField()),
        substantiated=ExpressionWrapper(substantiated_q(), output_field=BooleanField()),
    )


@dataclass(frozen=True)
class RequestsFilter:
    """A validated GET requests query (built by ``schemas.RequestsQuery.validated``)."""

    numbers: list[str] | None  # asked for by number: nothing else filters
    codes: dict[str, str] = field(default_factory=dict)  # number -> the query code given for it
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    services: tuple[Service, ...] = ()
    statuses: frozenset[str] = frozenset()


def requests_find(query: RequestsFilter) -> list[Case]:
    """At most MAX_RESULTS cases, newest first. By number: each listed one asked for, and an unlisted one
    only with its query code (``request_visible``); otherwise the listed cases received in the window, by
    service and status."""
    qs = public_cases()
    if query.numbers is not None:
        found = qs.filter(number__in=query.numbers[:MAX_RESULTS]).order_by("-received_at", "-id")
        return [c for c in found if request_visible(c, query.codes.get(c.number, ""))]
    qs = qs.filter(listed_q()).filter(received_at__gte=query.start, received_at__lte=query.end)
    if query.services:
        cond = Q()
        for s in query.services:
            cond |= Q(kind=s.kind, category=s.category) if s.metadata else Q(kind=s.kind)
        qs = qs.filter(cond)
    if query.statuses == {"open"}:
        qs = qs.exclude(state=State.CLOSED)
    elif query.statuses == {"closed"}:
        qs = qs.filter(state=State.CLOSED)
    return list(qs.order_by("-received_at", "-id")[:MAX_RESULTS])


def request_visible(case: Case, query_code: str) -> bool:
    """A stranger may look a case up by number when the public list shows it, or with its query code: of a
    case not accepted (yet) nothing is told, not even that it exists (issue 11, M4)."""
    return bool(getattr(case, "listed", False)) or query_code_matches(case, query_code)


def request_find(number: str, query_code: str = "") -> Case | None:
    case = public_cases().filter(number=number.strip().upper()).first()
    return case if case is not None and request_visible(case, query_code) else None


def token_find(token: str) -> RequestToken | None:
    return RequestToken.objects.select_related("case").filter(token=token).first()


def city_names() -> tuple[str, ...]:
    """The city's region code and name (empty when no city region is loaded)."""
    return tuple(Region.objects.filter(level=Region.Level.CITY).values_list("code", "name").first() or ())


def districts() -> list[tuple[str, str]]:
    """(code, name) of every district."""
    return list(Region.objects.filter(level=Region.Level.DISTRICT).values_list("code", "name"))


def district_find(value: str) -> Region | None:
    """The district whose code, or else whose name, is ``value``."""
    return (
        Region.objects.filter(level=Region.Level.DISTRICT, code=value).first()
        or Region.objects.filter(level=Region.Level.DISTRICT, name=value).first()
    )
