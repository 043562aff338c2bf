"""The monthly report's slow pages, timed on the server (issue 12, D10): the city overview's live city total
(first view, then from the cache of an ended month), generating the city's monthly report's figures (computed,
then from the cache) and the PDF export.

    ECO_VAR_DIR=var ECO_OTP_ENFORCE=0 .venv/bin/python bench/report_pages.py [--month 2026-11] [--repeats 3]

Runs against the database of ``ECO_VAR_DIR`` (the demo's, after ``./scripts/demo``), through Django's test
client as a city-centre operator, with the process's own in-memory cache. It changes nothing but the cache
(a report is generated only when the month has none).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--month", default="", help="YYYY-MM (default: the last ended month)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eco12369.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.db import transaction
    from django.test import Client
    from django.urls import reverse

    from eco12369.orgs.models import Agency, Region, Role, User
    from eco12369.stats import services
    from eco12369.stats.cache import monthly_figures_cached
    from eco12369.stats.figures import Month
    from eco12369.stats.models import MonthlyReport

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # Static files by name (no collectstatic needed for a measurement).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    month = Month.parse(args.month) if args.month else Month.current().previous()
    city = Region.objects.get(level=Region.Level.CITY)
    operator = next(
        u
        for u in User.objects.filter(agency__kind=Agency.Kind.CITY_CENTRE, is_active=True).order_by("id")
        if u.has_role(Role.OPERATOR)
    )
    client = Client()
    client.force_login(operator)

    def timed(label: str, run: object, repeats: int = 1) -> None:
        times = []
        status = ""
        for _ in range(repeats):
            start = time.perf_counter()
            result = run()  # type: ignore[operator]
            times.append((time.perf_counter() - start) * 1000)
            status = f"HTTP {result.status_code}" if hasattr(result, "status_code") else ""
        print(f"{label:<58} {statistics.median(times):8.0f} ms  (n={repeats}) {status}")

    overview = reverse("stats:monthly_list")
    print(
        f"{month.label}, {operator.username}, cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}"
    )
    cache.clear()
    timed(
        "city overview page (the table, total loaded after it)",
        lambda: client.get(overview, {"month": month.key}),
    )
    timed(
        "city total, first view (computed)",
        lambda: client.get(overview, {"month": month.key, "part": "city_total"}),
    )
    timed(
        "city total, again (cached)",
        lambda: client.get(overview, {"month": month.key, "part": "city_total"}),
        args.repeats,
    )
    cache.clear()
    timed(
        "city overview without the cache, all in one page (?total=1)",
        lambda: cache.clear() or client.get(overview, {"month": month.key, "total": "1"}),
        args.repeats,
    )

    def generate() -> object:
        return monthly_figures_cached(region=city, month=month)

    cache.clear()
    timed("the city's monthly report figures (generate), computed", generate)
    timed("the city's monthly report figures (generate), cached", generate, args.repeats)

    report = MonthlyReport.objects.filter(region=city, month=month.first_day).first()
    if report is None:
        with transaction.atomic():
            report = services.monthly_report_generate(actor=operator, region=city, month=month)
    page = reverse("stats:report", args=[city.code, month.key])
    timed("the city's report page (from its snapshot)", lambda: client.get(page), args.repeats)
    url = reverse("stats:export_pdf", args=[city.code, month.key])
    timed("PDF export of the city's report", lambda: client.get(url), args.repeats)


if __name__ == "__main__":
    main()
