"""The home dashboard of each role (issue 15): what the page shows and where each number leads.

* Operators, handlers and reviewers (everyone with a case role): the counts of their own work queues and
  the oldest cases waiting in them.
* The city centre and the heads of the district bureaus, besides: today's and this month's intake, due
  soon and overdue by stage (confirmation, closing), a 12-month trend, the districts side by side, the
  category mix and a map (the district outlines coloured by a measure, this month's located cases as
  clustered points). The figures come from ``stats.dashboard`` (rollups and indexed counts); a district's
  head sees their district only.

Every number is a link to the list behind it: a queue (``/queues/<key>/``) or the search with the filters
that select the same cases (``/search/?…``, the filters of ``forms.SearchForm``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from eco12369.cases.models import Case, Category, Channel, State
from eco12369.cases.selectors import cases_visible_to
from eco12369.orgs.models import Agency, Region, Role, User
from eco12369.pages import count_label
from eco12369.stats import dashboard as figures

from .queues import handler_only, queue_counts, queues_for

# The queues of work waiting for someone (the closed cases are history, not work: not on the dashboard).
WORK_QUEUES = ("confirm", "accepted", "handling", "in_review")
DEADLINE_QUEUES = ("due_soon", "overdue")
OLDEST = 5
# What the table of the oldest waiting cases shows (and the ids that order them): not the whole case.
OLDEST_COLUMNS = ("number", "state", "reported_party", "received_at", "region__name")

MEASURES = {
    "intake": "本月接收",
    "due_soon": "即将到期",
    "overdue": "已超期",
}
DEFAULT_MEASURE = "intake"


def sees_overview(user: User) -> bool:
    """The city centre's staff and the heads of bureaus see the overview (charts, map)."""
    agency = user.agency
    if agency is None:
        return False
    return agency.kind == Agency.Kind.CITY_CENTRE or (
        agency.kind == Agency.Kind.DISTRICT_BUREAU and user.has_role(Role.HEAD)
    )


# What ``json_script`` escapes in the JSON it puts in a <script> tag, and how.
SCRIPT_ESCAPES = (("<", "\\u003C"), (">", "\\u003E"), ("&", "\\u0026"))


def script_json(value: Any) -> SafeString:
    """``value`` as ``{{ value|json_script }}`` writes it inside its tag, character for character. Django
    escapes with ``str.translate``, which goes character by character through a mapping to longer strings:
    over 10 ms for the city's chart data (60 kB, the map's points); three ``str.replace`` take a fraction
    of a millisecond."""
    text = json.dumps(value, cls=DjangoJSONEncoder)
    for char, escaped in SCRIPT_ESCAPES:
        text = text.replace(char, escaped)
    # Safe: JSON, with the three characters that could end the <script> tag escaped.
    return mark_safe(text)


def search_url(**params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return reverse("workbench:search") + (f"?{query}" if query else "")


@dataclass(frozen=True)
class Period:
    today: dt.date
    month: dt.date

    def received(self, start: dt.date | None = None, end: dt.date | None = None) -> dict[str, str]:
        return {
            "received_from": (start or self.month).isoformat(),
            "received_to": (end or self.today).isoformat(),
        }


def _queue_cards(
    user: User, now: dt.datetime, known: dict[str, int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The user's work queues with their counts (``queues.queue_counts``; ``known``: counted already), and
    the oldest cases waiting in them (one query per queue)."""
    queues = [q for q in queues_for(user) if q.key in WORK_QUEUES + DEADLINE_QUEUES]
    counts = queue_counts(user, now, queues, known)
    cards = []
    for queue in queues:
        count = counts[queue.key]
        cards.append(
            {
                "queue": queue,
                "count": count,
                "label": count_label(count),
                "href": reverse("workbench:queue_tab", args=[queue.key]),
                "alert": queue.key in DEADLINE_QUEUES and count > 0,
            }
        )
    # The oldest of each queue by its own index (agency or department, state), then the oldest of those: one
    # query over all the queues at once would walk the index of the receipt time through ten years of cases.
    waiting: list[Case] = []
    for queue in queues:
        if queue.key in WORK_QUEUES:
            waiting += (
                queue.cases(user, now)
                .select_related("region")
                .only(*OLDEST_COLUMNS)
                .order_by("received_at", "id")[:OLDEST]
            )
    waiting.sort(key=lambda case: (case.received_at, case.pk))
    oldest = [
        {
            "case": case,
            "href": reverse("workbench:case", args=[case.number]),
            "waiting_days": max(0, (now - case.received_at).days),
        }
        for case in waiting[:OLDEST]
    ]
    return cards, oldest


def _overview(user: User, now: dt.datetime, measure: str, deadlines: figures.Deadlines) -> dict[str, Any]:
    agency = user.agency
    assert agency is not None
    region_id = None if agency.kind == Agency.Kind.CITY_CENTRE else agency.region_id
    today = figures.local_today(now)
    period = Period(today=today, month=figures.month_start(today))
    intake = figures.intake(region_id=region_id, today=today)
    trend = figures.trend(region_id=region_id, today=today)
    grid = figures.grid(region_id=region_id, today=today)
    districts = Region.objects.filter(level=Region.Level.DISTRICT).order_by("code")
    if region_id is not None:
        districts = districts.filter(pk=region_id)
    regions = list(districts.values_list("pk", "name"))

    def district_links(pk: int) -> dict[str, str]:
        return {
            "intake": search_url(district=pk, **period.received()),
            "due_soon": search_url(district=pk, timing="due_soon"),
            "overdue": search_url(district=pk, timing="overdue"),
        }

    district_rows = []
    for pk, name in regions:
        timing = deadlines.by_region.get(pk, {})
        district_rows.append(
            {
                "id": pk,
                "name": name,
                "values": {
                    "intake": intake.by_region.get(pk, 0),
                    "due_soon": timing.get("due_soon", 0),
                    "overdue": timing.get("overdue", 0),
                },
                "links": district_links(pk),
            }
        )
    stages = []
    for key, label, states in figures.STAGES:
        rows = []
        for state in states:
            rows.append(
                {
                    "state": state,
                    "label": State(state).label,
                    "due_soon": deadlines.by_state.get((state, "due_soon"), 0),
                    "overdue": deadlines.by_state.get((state, "overdue"), 0),
                    "due_soon_href": search_url(state=state, timing="due_soon"),
                    "overdue_href": search_url(state=state, timing="overdue"),
                }
            )
        stages.append({"key": key, "label": label, "rows": rows})
    names = dict(regions)
    trend_rows = []
    for first, n in trend:
        last = figures.months_back(first, -1) - dt.timedelta(days=1)
        trend_rows.append(
            {
                "label": f"{first.year}年{first.month}月",
                "short": f"{first.month}月" if first.month != 1 else f"{first.year % 100}年1月",
                "value": n,
                "href": search_url(**period.received(first, min(last, today))),
            }
        )
    categories = [
        {
            "key": c.value,
            "label": str(c.label),
            "value": intake.by_category.get(c.value, 0),
            "href": search_url(category=c.value, **period.received()),
        }
        for c in Category
    ]
    channels = [
        {
            "key": c.value,
            "label": str(c.label),
            "value": intake.by_channel.get(c.value, 0),
            "href": search_url(channel=c.value, **period.received()),
        }
        for c in Channel
        if intake.by_channel.get(c.value, 0)
    ]
    # The month's grid has hundreds of points and a point's list depends only on its district: one URL
    # per district (reversing and encoding one per point was half the city dashboard's time at 1M cases).
    point_hrefs = {
        rid: search_url(district=rid if rid in names else "", **period.received())
        for rid in {p.region_id for p in grid}
    }
    points = [
        {
            "name": names.get(p.region_id, "未定区"),
            "value": [round(p.longitude, 4), round(p.latitude, 4), p.count],
            "href": point_hrefs[p.region_id],
        }
        for p in grid
    ]
    chart_data = {
        "measure": measure,
        "measures": MEASURES,
        "districts": [{"name": r["name"], "values": r["values"], "links": r["links"]} for r in district_rows],
        "trend": trend_rows,
        "categories": categories,
        "points": points,
        "geojson": reverse("workbench:districts_geojson"),
        "focus": names.get(region_id) if region_id is not None else "",
    }
    return {
        "scope": names.get(region_id, "") if region_id is not None else "全市",
        "period": period,
        "intake_today": intake.today,
        "intake_month": intake.month,
        "intake_today_href": search_url(**period.received(today)),
        "intake_month_href": search_url(**period.received()),
        "due_soon": deadlines.total("due_soon"),
        "overdue": deadlines.total("overdue"),
        "due_soon_href": search_url(timing="due_soon"),
        "overdue_href": search_url(timing="overdue"),
        "stages": stages,
        "districts": district_rows,
        "trend": trend_rows,
        "categories": categories,
        "channels": channels,
        "points": len(points),
        "located": sum(p.count for p in grid),
        "measures": [
            {"key": k, "label": v, "active": k == measure, "href": f"?measure={k}#map"}
            for k, v in MEASURES.items()
        ],
        "measure_label": MEASURES[measure],
        "chart_data": chart_data,
        "chart_json": script_json(chart_data),
    }


def dashboard_context(user: User, now: dt.datetime, *, measure: str = "") -> dict[str, Any]:
    measure = measure if measure in MEASURES else DEFAULT_MEASURE
    overview = sees_overview(user)
    deadlines = figures.deadlines(cases=cases_visible_to(user=user), now=now) if overview else None
    known: dict[str, int] = {}
    if deadlines is not None and not handler_only(user):
        # The queues due soon and overdue of anyone but a department's handler hold the user's visible open
        # cases due soon and overdue: the overview's deadlines have counted them already.
        known = {key: deadlines.total(key) for key in DEADLINE_QUEUES}
    cards, oldest = _queue_cards(user, now, known)
    context: dict[str, Any] = {"queue_cards": cards, "oldest": oldest, "overview": None}
    if deadlines is not None:
        context["overview"] = _overview(user, now, measure, deadlines)
    return context
