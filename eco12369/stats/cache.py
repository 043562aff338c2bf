"""The figures of a month that has ended, cached until its data changes (issue 12, D10).

A month's figures are a handful of aggregate queries over every case (``stats.figures``), about 1.7 s on
the demo data for the city. Once the month has ended they depend on the data alone (the cut-off is the
month's end), so they are cached under a *version key*: the id of the latest case timeline event
(``CaseEvent``). Every change that can move a figure writes one in its own transaction (the state machine
writes one per transition: receive, confirm, accept, close, reopen, reroute, extension decisions; the
follow-up writes ``rate`` and ``follow``), so a new event is a new version and the old entries are simply
never read again (they expire after ``TTL``). Invalidation is therefore one call, ``figures_version()``,
read before each look-up, and works across processes whatever the cache backend, since the version lives in
the database. A running month is never cached.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone

from eco12369.cases.models import CaseEvent
from eco12369.orgs.models import Region

from .figures import SCHEMA_VERSION, Headline, Month, MonthlyFigures, headline_figures, monthly_figures

TTL = 24 * 3600


def figures_version() -> int:
    """The data version the cached figures belong to: the latest timeline event's id (one index read)."""
    return CaseEvent.objects.aggregate(last=Max("id"))["last"] or 0


def _key(kind: str, region: Region | None, month: Month) -> str:
    place = region.code if region is not None and region.level != Region.Level.CITY else "city"
    return f"stats:{kind}:s{SCHEMA_VERSION}:v{figures_version()}:{place}:{month.key}"


def _ended(month: Month, now: dt.datetime) -> bool:
    return month.end <= now


def headline_figures_cached(
    *, region: Region | None, month: Month, now: dt.datetime | None = None
) -> Headline:
    """``figures.headline_figures``, from the cache for a month that has ended."""
    now = now or timezone.now()
    if not _ended(month, now):
        return headline_figures(region=region, month=month, as_of=now)
    key = _key("headline", region, month)
    data = cache.get(key)
    if data is not None:
        return Headline(**data)
    headline = headline_figures(region=region, month=month, as_of=now)
    cache.set(key, dataclasses.asdict(headline), TTL)
    return headline


def monthly_figures_cached(
    *, region: Region | None, month: Month, now: dt.datetime | None = None
) -> MonthlyFigures:
    """``figures.monthly_figures`` as of ``now``, from the cache for a month that has ended (the figures are
    those of the data as it is now; only ``as_of`` is the time of the request)."""
    now = now or timezone.now()
    if not _ended(month, now):
        return monthly_figures(region=region, month=month, as_of=now)
    key = _key("monthly", region, month)
    data = cache.get(key)
    if data is not None:
        return dataclasses.replace(MonthlyFigures.from_json(data), as_of=now)
    figures = monthly_figures(region=region, month=month, as_of=now)
    cache.set(key, figures.to_json(), TTL)
    return figures
