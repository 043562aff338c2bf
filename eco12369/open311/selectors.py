"""Open311 reads: the public cases, the city and its districts, request tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from eco12369.cases.models import Case, State
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
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    services: tuple[Service, ...] = ()
    statuses: frozenset[str] = frozenset()


def requests_find(query: RequestsFilter) -> list[Case]:
    """At most MAX_RESULTS cases, newest first. By number: each one asked for (the unlisted ones show their
    number and status only); otherwise the listed cases received in the window, by service and status."""
    qs = public_cases()
    if query.numbers is not None:
        qs = qs.filter(number__in=query.numbers[:MAX_RESULTS])
    else:
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


def request_find(number: str) -> Case | None:
    return public_cases().filter(number=number).first()


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
