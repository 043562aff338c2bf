"""Demo cases with real histories.

Each case is planned first (district, scenario, who reported what, when), then created through
``case_create`` at its moment of receipt and moved through its story with the real workflow services,
each step run as the right demo user at a realistic past moment (``time_machine``), so that numbers,
deadlines, timelines and outbox messages are exactly what the platform would have produced.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import time_machine
from django.db import transaction
from django.utils import timezone

from eco12369.cases import deadlines
from eco12369.cases.models import Case, Channel, Extension, Kind, SupervisionOrder
from eco12369.cases.services import (
    Intake,
    case_accept,
    case_answer,
    case_answer_supervision,
    case_approve,
    case_assign,
    case_create,
    case_decide_extension,
    case_escalate,
    case_hand_over,
    case_mark_duplicate,
    case_request_extension,
    case_reroute,
    case_return,
    case_submit_reply,
    case_supervise,
    case_withdraw,
)
from eco12369.orgs.models import Agency, Department, Region, User
from eco12369.orgs.tianjin import DISTRICTS

from . import texts
from .places import NEIGHBOURS, PLACES, SLUGS, URBAN, Place
from .staff import DEPARTMENT_SLUGS, ENFORCEMENT, MAIN_DISTRICTS
from .texts import AnswerTopic, Theme

TZ = deadlines.TZ
OFFICE_START = dt.time(8, 30)
OFFICE_END = dt.time(17, 30)


# ---------------------------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class Scenario:
    weight: float  # share among the randomly drawn cases
    min_age: float  # days between receipt and now
    max_age: float
    pool: str  # "handle", "handover", "answer" or "duplicate": which words the case uses


SCENARIOS: dict[str, Scenario] = {
    # still waiting for confirmation
    "received_fresh": Scenario(6, 0.02, 1.2, "handle"),
    "received_overdue": Scenario(1.5, 7, 20, "handle"),
    "escalated_pending": Scenario(1.5, 1, 6, "handle"),
    # accepted, being handled
    "accepted_waiting": Scenario(4, 0.3, 3, "handle"),
    "handling": Scenario(10, 4, 45, "handle"),
    "handling_due_soon": Scenario(4, 44, 60, "handle"),
    "handling_overdue": Scenario(3, 66, 88, "handle"),
    "handling_extended": Scenario(2, 62, 84, "handle"),
    "extension_pending": Scenario(1.5, 50, 57, "handle"),
    "in_review": Scenario(4, 12, 50, "handle"),
    "resubmitted_in_review": Scenario(1.5, 20, 50, "handle"),
    "returned_handling": Scenario(1.5, 15, 50, "handle"),
    "answer_in_review": Scenario(1.5, 0.5, 4, "answer"),
    # closed, in each outcome
    "closed_handled": Scenario(22, 8, 90, "handle"),
    "closed_handled_returned": Scenario(4, 20, 90, "handle"),
    "closed_handled_extended": Scenario(3, 75, 90, "handle"),
    "extension_rejected": Scenario(2, 35, 90, "handle"),
    "closed_answered": Scenario(7, 2, 90, "answer"),
    "closed_handed_over": Scenario(6, 2, 90, "handover"),
    "closed_duplicate": Scenario(4, 3, 88, "duplicate"),
    "closed_withdrawn": Scenario(1.5, 0.5, 60, "handle"),  # issue 14: the reporter withdraws it (撤回)
    # across levels
    "city_coordinated": Scenario(1.5, 25, 90, "handle"),
    "city_coordinating": Scenario(1, 6, 40, "handle"),
    "rerouted_from_city": Scenario(2.5, 4, 70, "handle"),
    "district_reroute": Scenario(2.5, 4, 70, "handle"),
    "escalated_rerouted": Scenario(1.5, 4, 50, "handle"),
    # supervision orders
    "supervised_open": Scenario(1.5, 64, 88, "handle"),
    "supervised_answered": Scenario(1.5, 72, 90, "handle"),
}
# Placed first, alternating between the two main districts, so every state exists even in a small demo.
MANDATORY = list(SCENARIOS)

CHANNELS = (
    (Channel.WECHAT_H5, 45),
    (Channel.WECHAT_CHAT, 30),
    (Channel.PHONE, 15),
    (Channel.API, 5),
    (Channel.OTHER, 5),
)
DISTRICT_WEIGHTS = {"和平区": 4.0, "滨海新区": 5.0}
THEME_WEIGHTS = {"black_smoke": 3, "odour": 3, "black_water": 3, "night_construction": 2, "black_slag": 2}
CRIMINAL_REFERRAL = {"black_slag", "oily_sludge"}
DEADLINE_TARGETS = {
    "handling_due_soon": "due_soon",
    "handling_overdue": "overdue",
    "supervised_open": "overdue",
}
SMALL_PARTIES = {"car_wash", "restaurant", "auto_repair", "clinic", "battery_recycling", "ktv"}
OPENID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


# -------------------------------------------------------------------------------------------- plans
@dataclass(frozen=True)
class Reporter:
    name: str
    phone: str
    openid: str


@dataclass
class Plan:
    scenario: str
    district: str  # where the matter is: the district that ends up owning the case
    received_at: dt.datetime
    intake_district: str | None = None  # what the reporter chose (None: not known, the city centre gets it)
    channel: str = Channel.WECHAT_H5
    kind: str = Kind.REPORT
    intake_category: str = "other"
    theme: Theme | None = None
    topic: AnswerTopic | None = None
    party: str = ""
    party_kind: str = ""
    place: Place | None = None
    road: str = ""
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    description: str = ""
    reporter: Reporter | None = None
    anonymous: bool = False
    reporter_name: str = ""
    reporter_phone: str = ""
    occurred_at: dt.datetime | None = None
    accept_at: dt.datetime | None = None  # planned where the scenario needs a given closing deadline
    confirmed: bool = True  # whether the inspection finds the violation
    duplicate_of: Plan | None = None
    case: Case | None = field(default=None, repr=False)

    @property
    def category(self) -> str:
        if self.theme is not None:
            return self.theme.category
        if self.topic is not None:
            return self.topic.category
        return "other"


@dataclass
class Team:
    agency: Agency
    operator: User
    reviewer: User
    head: User
    handlers: dict[str, tuple[Department, User]]  # department name → (department, handler)

    def handler_for(self, department: str) -> tuple[Department, User]:
        if department in self.handlers:
            return self.handlers[department]
        return next(iter(self.handlers.values()))


@dataclass
class DemoSummary:
    cases: int = 0
    scenarios: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)


def _fmt_date(moment: dt.datetime | dt.date) -> str:
    day = timezone.localtime(moment).date() if isinstance(moment, dt.datetime) else moment
    return f"{day.year}年{day.month}月{day.day}日"


class Generator:
    def __init__(self, *, seed: int, now: dt.datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.limit = now - dt.timedelta(minutes=15)
        self.calendar = deadlines.WorkCalendar(
            deadlines.local_date(now) - dt.timedelta(days=130),
            deadlines.local_date(now) + dt.timedelta(days=60),
        )
        self.regions = {r.name: r for r in Region.objects.filter(level=Region.Level.DISTRICT)}
        self.bureaus = {
            a.region.name: a
            for a in Agency.objects.filter(kind=Agency.Kind.DISTRICT_BUREAU).select_related("region")
        }
        self.centre = Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)
        self.outside = {a.name: a for a in Agency.objects.filter(kind=Agency.Kind.OUTSIDE)}
        self.teams = self._teams()
        self.reporters = [self._reporter() for _ in range(140)]
        self.reported_again: set[int] = set()  # id() of the plans that a later plan duplicates

    # ------------------------------------------------------------------------------------ staff
    def _teams(self) -> dict[int, Team]:
        users = {u.username: u for u in User.objects.select_related("agency", "department")}
        teams: dict[int, Team] = {}
        for prefix, agency in [("city", self.centre)] + [(SLUGS[d], self.bureaus[d]) for d in self.bureaus]:
            handlers: dict[str, tuple[Department, User]] = {}
            for slug in ["handler", *DEPARTMENT_SLUGS.values()]:
                user = users.get(f"{prefix}_{slug}")
                if user is not None and user.department is not None:
                    handlers[user.department.name] = (user.department, user)
            teams[agency.pk] = Team(
                agency=agency,
                operator=users[f"{prefix}_operator"],
                reviewer=users[f"{prefix}_reviewer"],
                head=users[f"{prefix}_head"],
                handlers=handlers,
            )
        return teams

    # ---------------------------------------------------------------------------------- helpers
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def weighted(self, options: dict[str, float]) -> str:
        keys = list(options)
        return self.rng.choices(keys, weights=[options[k] for k in keys])[0]

    def _reporter(self) -> Reporter:
        surname = self.rng.choice(texts.SURNAMES)
        if self.chance(0.35):
            name = surname + self.rng.choice(("先生", "女士"))
        else:
            name = surname + self.rng.choice(texts.GIVEN_NAMES)
        phone = self.rng.choice(("13", "15", "18", "17")) + "".join(
            self.rng.choice("0123456789") for _ in range(9)
        )
        openid = "o" + "".join(self.rng.choice(OPENID_ALPHABET) for _ in range(27))
        return Reporter(name, phone, openid)

    def office(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` if it is in office hours on a working day, else the start of the next office period."""
        local = timezone.localtime(moment, TZ)
        day = local.date()
        if self.calendar.is_workday(day) and OFFICE_START <= local.time() <= OFFICE_END:
            return moment
        if not (self.calendar.is_workday(day) and local.time() < OFFICE_START):
            day += dt.timedelta(days=1)
            while not self.calendar.is_workday(day):
                day += dt.timedelta(days=1)
        start = dt.datetime.combine(day, OFFICE_START, tzinfo=TZ)
        return start + dt.timedelta(seconds=self.rng.randint(0, 90 * 60))

    # ---------------------------------------------------------------------------------- planning
    def plan(self, count: int) -> list[Plan]:
        others = [name for _, name in DISTRICTS if name not in MAIN_DISTRICTS]
        slots: list[tuple[str, str]] = []
        for i, scenario in enumerate(MANDATORY):
            slots.append((scenario, MAIN_DISTRICTS[i % 2]))
        shuffled = others[:]
        self.rng.shuffle(shuffled)
        weights = {name: s.weight for name, s in SCENARIOS.items()}
        # One case in each other district, never a repeat report (that takes its original's district).
        own = {name: w for name, w in weights.items() if SCENARIOS[name].pool != "duplicate"}
        for district in shuffled:
            slots.append((self.weighted(own), district))
        district_weights = {name: DISTRICT_WEIGHTS.get(name, 1.0) for _, name in DISTRICTS}
        while len(slots) < count:
            slots.append((self.weighted(weights), self.weighted(district_weights)))
        slots = slots[:count]

        plans = [self._plan(s, d) for s, d in slots if SCENARIOS[s].pool != "duplicate"]
        for scenario, district in slots:
            if SCENARIOS[scenario].pool == "duplicate":
                plans.append(self._plan_duplicate(scenario, district, plans))
        plans.sort(key=lambda p: p.received_at)
        self.reported_again = {id(p.duplicate_of) for p in plans if p.duplicate_of is not None}
        return plans

    def _received_at(self, scenario: Scenario, night: bool) -> dt.datetime:
        age = self.rng.uniform(scenario.min_age, scenario.max_age)
        moment = self.now - dt.timedelta(days=age)
        if age > 1.5:  # set a realistic time of day; recent ones keep their exact age
            hour = self.rng.choice((21, 22, 23, 0, 1, 6)) if night else self.rng.choice(range(7, 23))
            local = timezone.localtime(moment, TZ)
            moment = local.replace(hour=hour, minute=self.rng.randint(0, 59), second=self.rng.randint(0, 59))
        return moment

    def _plan_acceptance(self, plan: Plan, scenario: Scenario, target: str) -> None:
        """Choose receipt and acceptance so that, on the real calendar, the closing deadline is near
        (``due_soon``: in its last 20%, not yet passed) or passed (``overdue``)."""
        for _ in range(200):
            received = self._received_at(scenario, night=False)
            accept = self.office(received + dt.timedelta(hours=self.rng.uniform(0.5, 6)))
            due = deadlines.closing_deadline(accept).at
            if target == "overdue" and due < self.limit - dt.timedelta(days=1):
                break
            warn = deadlines.warn_moment(accept, due)
            if (
                target == "due_soon"
                and warn < self.limit - dt.timedelta(hours=1)
                and due > self.now + dt.timedelta(days=1)
            ):
                break
        plan.received_at, plan.accept_at = received, accept

    def _themes(self, district: str, pool: tuple[Theme, ...]) -> Theme:
        where = "urban" if district in URBAN else "industrial"
        fitting = [t for t in pool if t.where in (where, "any")]
        return self.rng.choices(fitting, weights=[THEME_WEIGHTS.get(t.key, 1) for t in fitting])[0]

    def _plan(self, name: str, district: str) -> Plan:
        scenario = SCENARIOS[name]
        theme: Theme | None = None
        topic: AnswerTopic | None = None
        if scenario.pool == "answer":
            topic = self.rng.choice(texts.ANSWER_TOPICS)
        else:
            theme = self._themes(
                district, texts.HANDOVER_THEMES if scenario.pool == "handover" else texts.HANDLED_THEMES
            )
        plan = Plan(
            scenario=name,
            district=district,
            received_at=self._received_at(scenario, theme is not None and theme.night and self.chance(0.6)),
            theme=theme,
            topic=topic,
        )
        if name == "received_overdue":
            while deadlines.confirmation_deadline(plan.received_at).at >= self.limit:
                plan.received_at -= dt.timedelta(days=1)
        elif name in DEADLINE_TARGETS:
            self._plan_acceptance(plan, scenario, DEADLINE_TARGETS[name])
        plan.intake_district = district
        if name == "rerouted_from_city":
            plan.intake_district = None
        elif name == "district_reroute":
            plan.intake_district = self.rng.choice(NEIGHBOURS[district])
        self._place(plan)
        self._who(plan)
        if name == "closed_withdrawn":  # only a WeChat reporter can withdraw (from 我的举报)
            plan.channel = self.rng.choice((Channel.WECHAT_H5, Channel.WECHAT_CHAT))
        self._what(plan)
        plan.confirmed = self.chance(0.7)
        return plan

    def _place(self, plan: Plan) -> None:
        place = self.rng.choice(PLACES[plan.district])
        plan.place = place
        plan.road = self.rng.choice(place.roads)
        theme = plan.theme
        if theme is not None and theme.parties:
            plan.party_kind = self.rng.choice(theme.parties)
            template = self.rng.choice(texts.PARTY_KINDS[plan.party_kind].names)
            plan.party = template.format(
                c=self.rng.choice(texts.PREFIX_CHARS), road=plan.road.removesuffix("路")
            )
        if plan.topic is not None and plan.topic.kind != Kind.OTHER:
            return  # a consultation or suggestion has no address
        if theme is not None and not theme.parties:
            plan.address = f"{plan.district}{place.name}{plan.road}附近河道"
        else:
            plan.address = f"{plan.district}{place.name}{plan.road}{self.rng.randint(1, 320)}号"
        plan.latitude = Decimal(f"{place.lat + self.rng.uniform(-0.006, 0.006):.6f}")
        plan.longitude = Decimal(f"{place.lon + self.rng.uniform(-0.006, 0.006):.6f}")

    def _who(self, plan: Plan) -> None:
        channels = dict(CHANNELS)
        if (
            plan.intake_district is None
        ):  # the city hotline and other platforms do not always know the district
            channels = {Channel.PHONE: 60, Channel.API: 25, Channel.OTHER: 15}
        plan.channel = self.weighted({str(k): float(v) for k, v in channels.items()})
        reporter = self.rng.choice(self.reporters)
        plan.reporter = reporter
        plan.anonymous = self.chance(0.2)
        if not plan.anonymous:
            if plan.channel == Channel.WECHAT_CHAT:
                leaves_contact = self.chance(0.3)
            elif plan.channel == Channel.WECHAT_H5:
                leaves_contact = self.chance(0.75)
            else:
                leaves_contact = True
            if leaves_contact:
                plan.reporter_name = reporter.name
                plan.reporter_phone = reporter.phone
        if plan.channel in (Channel.PHONE, Channel.OTHER) or (
            plan.channel == Channel.WECHAT_CHAT and self.chance(0.5)
        ):
            plan.latitude = plan.longitude = None  # no location shared
        if plan.theme is not None and self.chance(0.4):
            plan.occurred_at = plan.received_at - dt.timedelta(hours=self.rng.uniform(1, 30))

    def _what(self, plan: Plan) -> None:
        if plan.topic is not None:
            plan.kind = plan.topic.kind if plan.channel == Channel.WECHAT_H5 else Kind.REPORT
            plan.intake_category = "other"
            plan.description = plan.topic.question.format(district=plan.district)
            return
        theme = plan.theme
        assert theme is not None
        plan.kind = Kind.REPORT
        chat = plan.channel == Channel.WECHAT_CHAT
        plan.intake_category = "other" if chat and self.chance(0.6) else theme.category
        text = self.rng.choice(theme.reports).format_map(self.words(plan))
        plan.description = text + self.rng.choice(texts.EXTRAS)

    def words(self, plan: Plan) -> dict[str, Any]:
        theme = plan.theme
        night = theme is not None and theme.night
        return {
            "party": plan.party,
            "place": plan.place.name if plan.place else "",
            "road": plan.road,
            "when": self.rng.choice(texts.WHEN_NIGHT if night else texts.WHEN_DAY),
            "duration": self.rng.choice(texts.DURATIONS),
            "act": theme.act if theme else "",
            "tons": self.rng.randint(3, 30),
        }

    def _plan_duplicate(self, name: str, district: str, plans: list[Plan]) -> Plan:
        def usable(p: Plan) -> bool:
            return p.theme is not None and p.party != "" and p.received_at < self.now - dt.timedelta(days=3)

        candidates = [p for p in plans if usable(p) and p.district == district] or [
            p for p in plans if usable(p)
        ]
        if not candidates:
            return self._plan("closed_answered", district)
        original = self.rng.choice(candidates)
        age = (self.now - original.received_at).total_seconds() / 86400
        received = original.received_at + dt.timedelta(days=self.rng.uniform(1, min(20.0, age - 1.5)))
        plan = Plan(
            scenario=name,
            district=original.district,
            received_at=received,
            intake_district=original.district,
            theme=original.theme,
            party=original.party,
            party_kind=original.party_kind,
            place=original.place,
            road=original.road,
            address=original.address,
            latitude=original.latitude,
            longitude=original.longitude,
            duplicate_of=original,
        )
        self._who(plan)
        if self.chance(0.4) and original.reporter is not None:  # the same neighbour reports again
            plan.reporter = original.reporter
        assert plan.theme is not None
        plan.intake_category = plan.theme.category
        plan.description = self.rng.choice(texts.REPEAT_REPORTS).format_map(self.words(plan))
        return plan

    # ---------------------------------------------------------------------------------- creating
    def create(self, plan: Plan) -> Case:
        reporter = plan.reporter
        wechat = plan.channel in (Channel.WECHAT_H5, Channel.WECHAT_CHAT)
        intake = Intake(
            channel=plan.channel,
            description=plan.description,
            kind=plan.kind,
            category=plan.intake_category,
            district=self.regions[plan.intake_district] if plan.intake_district else None,
            reported_party=plan.party,
            address=plan.address,
            latitude=plan.latitude,
            longitude=plan.longitude,
            occurred_at=plan.occurred_at,
            reporter_name=plan.reporter_name,
            reporter_phone=plan.reporter_phone,
            reporter_openid=reporter.openid if reporter is not None and wechat else "",
            anonymous=plan.anonymous,
            received_at=plan.received_at,
        )
        with time_machine.travel(plan.received_at, tick=False):
            plan.case = case_create(intake=intake)
        return plan.case


# --------------------------------------------------------------------------------------- histories
Service = Callable[..., Case]


class Story:
    """One case's history after receipt, told with the real workflow services at past moments."""

    def __init__(self, gen: Generator, plan: Plan) -> None:
        assert plan.case is not None
        self.g = gen
        self.rng = gen.rng
        self.plan = plan
        self.case: Case = plan.case
        self.t = plan.received_at
        self.accepted_at: dt.datetime | None = None
        self.inspected: dt.datetime | None = None
        self.returned_for = ""  # the part the reviewer last returned a reply for

    # ------------------------------------------------------------------------------------- clock
    def _set(self, moment: dt.datetime) -> dt.datetime:
        if moment <= self.t:
            moment = self.t + dt.timedelta(minutes=self.rng.randint(5, 40))
        if moment >= self.g.limit:  # never in the future: squeeze towards now
            moment = self.t + (self.g.limit - self.t) / 2
        self.t = moment
        return moment

    def hours(self, lo: float, hi: float) -> dt.datetime:
        """A moment ``lo``–``hi`` hours later, moved into office hours."""
        return self._set(self.g.office(self.t + dt.timedelta(hours=self.rng.uniform(lo, hi))))

    def days(self, lo: float, hi: float) -> dt.datetime:
        return self.hours(lo * 24, hi * 24)

    def until(self, moment: dt.datetime) -> dt.datetime:
        return self._set(self.g.office(max(moment, self.t)))

    def towards(self, end: dt.datetime, lo: float, hi: float) -> dt.datetime:
        """A moment a fraction ``lo``–``hi`` of the way from now (in the story) to ``end``."""
        span = max(end - self.t, dt.timedelta(hours=1))
        return self._set(self.g.office(self.t + span * self.rng.uniform(lo, hi)))

    def age_days(self) -> float:
        return (self.g.now - self.plan.received_at).total_seconds() / 86400

    # ------------------------------------------------------------------------------------ people
    @property
    def team(self) -> Team:
        return self.g.teams[self.case.agency_id]

    def _do(self, service: Service, **kwargs: Any) -> Case:
        with time_machine.travel(self.t, tick=False):
            self.case = service(case=self.case, **kwargs)
        return self.case

    # ----------------------------------------------------------------------------------- actions
    def accept(self) -> None:
        if self.plan.accept_at is not None and self.accepted_at is None:
            self.until(self.plan.accept_at)
        else:
            self.hours(0.5, 18 if self.rng.random() < 0.8 else 30)
        self.accepted_at = self.t
        category = self.plan.category if self.case.category == "other" else None
        self._do(case_accept, actor=self.team.operator, category=category)

    def assign(self) -> None:
        self.hours(0.3, 8)
        theme = self.plan.theme
        department, _ = self.team.handler_for(theme.department if theme else ENFORCEMENT)
        self._do(
            case_assign,
            actor=self.team.operator,
            department=department,
            note=self.rng.choice(texts.ASSIGN_NOTES),
        )

    def start(self) -> None:
        self.accept()
        self.assign()

    def inspect_and_submit(self, end: dt.datetime, *, thin: str = "") -> None:
        """Inspect on site (again only when the reviewer found the inspection too thin), then submit."""
        if self.inspected is None or self.returned_for == "inspection":
            self.towards(end, 0.15, 0.45)
            self.inspected = self.t
        inspected = self.inspected
        self.towards(end, 0.2, 0.6)
        handler = self.team.handler_for(self.plan.theme.department if self.plan.theme else ENFORCEMENT)[1]
        if self.case.department_id is not None:
            handler = next(
                (u for d, u in self.team.handlers.values() if d.pk == self.case.department_id), handler
            )
        parts = self.reply_parts(inspected)
        for part, _, thin_text in texts.RETURN_NOTES:
            if part == thin:
                parts[part] = thin_text
        self._do(case_submit_reply, actor=handler, **parts, public_summary=self.public_summary())

    def public_summary(self) -> str:
        """Art. 13: the one line the monthly disclosure shows for the case: the problem, what the inspection
        found and what was done; never the reporter, nor the party when nothing was found."""
        theme = self.plan.theme
        assert theme is not None
        if self.plan.confirmed:
            return f"反映{theme.title}问题。经现场检查，举报情况属实，已责令改正并依法立案查处。"
        return f"反映{theme.title}问题。经现场检查，未发现所反映的环境违法问题，已纳入日常监管。"

    def approve(self, public_summary: str | None = None) -> None:
        """The reviewer approves; ``public_summary`` for replies that have no drafted one (answers,
        hand-overs); None: the drafted one is approved as is."""
        self.hours(2, 40)
        note = self.rng.choice(("", "同意。", "同意，按此答复。"))
        self._do(case_approve, actor=self.team.reviewer, note=note, public_summary=public_summary)

    def give_back(self, thin: str) -> None:
        self.hours(2, 30)
        note = next(n for part, n, _ in texts.RETURN_NOTES if part == thin)
        self.returned_for = thin
        self._do(case_return, actor=self.team.reviewer, note=note)

    def extension(self, *, at: dt.datetime, days: int, approve: bool) -> None:
        self.until(at)
        reason = self.rng.choice(texts.EXTENSION_REASONS)
        actor = self.team.handler_for(ENFORCEMENT)[1] if self.rng.random() < 0.5 else self.team.operator
        if actor.department_id is not None and actor.department_id != self.case.department_id:
            actor = self.team.operator
        self._do(case_request_extension, actor=actor, days=days, reason=reason)
        self.hours(2, 30)
        self.decide(approve)

    def decide(self, approve: bool) -> None:
        pending = Extension.objects.filter(case=self.case, status=Extension.Status.PENDING).first()
        note = self.rng.choice(texts.EXTENSION_APPROVED) if approve else texts.EXTENSION_REJECTED
        self._do(case_decide_extension, actor=self.team.head, extension=pending, approved=approve, note=note)

    def supervise(self, at: dt.datetime) -> None:
        self.until(at)
        local_day = deadlines.local_date(self.t)
        due, _ = deadlines.add_working_days(local_day, self.rng.choice((3, 5, 7)))
        repeated = id(self.plan) in self.g.reported_again
        template = texts.SUPERVISION_REPEATED if repeated else texts.SUPERVISION_OVERDUE
        city = self.g.teams[self.g.centre.pk]
        actor = city.operator if self.rng.random() < 0.7 else city.head
        self._do(
            case_supervise, actor=actor, instruction=template.format(date=_fmt_date(due)), answer_due=due
        )

    def answer_supervision(self) -> None:
        self.days(0.5, 4)
        order = SupervisionOrder.objects.filter(case=self.case, answered_at__isnull=True).first()
        actor = self.team.head if self.rng.random() < 0.5 else self.team.operator
        answer = self.rng.choice(texts.SUPERVISION_ANSWERS)
        self._do(case_answer_supervision, actor=actor, order=order, answer=answer)

    # ---------------------------------------------------------------------------------- the reply
    def reply_parts(self, inspected: dt.datetime) -> dict[str, str]:
        plan, rng = self.plan, self.rng
        theme = plan.theme
        assert theme is not None and plan.party
        kind = texts.PARTY_KINDS[plan.party_kind]
        law = texts.LAWS[theme.category]
        words = self.g.words(plan)
        agency = self.team.agency
        bureau = self.g.bureaus[plan.district]
        if agency.is_city_centre:
            unit = f"市举报受理中心会同{bureau.short_name}"
        else:
            unit = agency.short_name or agency.name
        company = f"会同{plan.place.name if plan.place else ''}工作人员" if rng.random() < 0.5 else ""
        night = "（夜间突击检查）" if theme.night else ""
        finding = (theme.found if plan.confirmed else theme.clear).format_map(words)
        party_facts = f"{plan.party}位于{plan.address}，{kind.business}。{rng.choice(kind.permits)}"
        inspection = (
            f"{_fmt_date(inspected)}，{unit}执法人员{company}对{plan.party}进行了现场检查{night}。{finding}"
        )
        if plan.confirmed:
            violations = f"经查，该单位存在{theme.violation}的问题，违反了《{law}》的相关规定。"
            if plan.party_kind in SMALL_PARTIES:
                fine = rng.choice(("0.5", "1", "2", "3"))
            else:
                fine = rng.choice(("2", "5", "8", "10", "15", "20"))
            decision = (
                f"我局已依法向该单位下达《责令改正违法行为决定书》，责令其{theme.fix}，并对其{theme.violation}的行为"
                f"立案调查，拟处罚款{fine}万元。{rng.choice(texts.FOLLOW_UPS)}"
            )
            if theme.key in CRIMINAL_REFERRAL and rng.random() < 0.5:
                decision += "因该单位涉嫌污染环境犯罪，已将案件移送公安机关依法处理。"
            attitude = rng.choice(texts.ATTITUDES_CONFIRMED)
        else:
            violations = "经现场检查及监测，未发现该单位存在举报所反映的环境违法问题。"
            decision = (
                f"我局已将该单位纳入重点监管，将不定期开展{'夜间及' if theme.night else ''}节假日突击检查，"
                "发现环境违法行为将依法严肃查处，也欢迎举报人继续提供线索。"
            )
            attitude = rng.choice(texts.ATTITUDES_CLEAR)
        talked = _fmt_date(self.t)
        if plan.reporter_phone:
            # Not by name: reviewers and the city centre see the reply, not always the reporter (Art. 17).
            communication = (
                f"{talked}，承办人员通过电话与举报人进行了沟通，告知了调查处理情况，举报人{attitude}。"
            )
        elif self.case.reporter_openid:
            communication = "举报人未留联系电话。办理结果经审核后，通过“12369环保举报”微信公众号告知举报人。"
        else:
            communication = "举报人为匿名举报，未留联系方式，无法沟通。办理结果将在月度举报办理情况中公开。"
        return {
            "party_facts": party_facts,
            "inspection": inspection,
            "violations": violations,
            "decision": decision,
            "communication": communication,
        }

    # --------------------------------------------------------------------------------- scenarios
    def run(self) -> None:
        getattr(self, f"s_{self.plan.scenario}")()

    def closing_window(self, lo: float = 7, hi: float = 50) -> dt.datetime:
        """When a case that closes should close: inside its 60 days and before now."""
        age = self.age_days()
        span = self.rng.uniform(min(lo, age - 1), min(hi, age - 0.5))
        return self.plan.received_at + dt.timedelta(days=max(span, 1))

    def handle_to_close(self, end: dt.datetime, *, returned: bool = False) -> None:
        if returned:
            thin = self.rng.choice(texts.RETURN_NOTES)[0]
            self.inspect_and_submit(end - (end - self.t) * 0.3, thin=thin)
            self.give_back(thin)
            self.hours(4, 72)
        self.inspect_and_submit(end)
        self.approve()

    def s_received_fresh(self) -> None:
        pass

    def s_received_overdue(self) -> None:
        pass

    def s_escalated_pending(self) -> None:
        self.escalate()

    def s_accepted_waiting(self) -> None:
        self.accept()

    def s_handling(self) -> None:
        self.start()

    def s_handling_due_soon(self) -> None:
        self.start()

    def s_handling_overdue(self) -> None:
        self.start()

    def s_handling_extended(self) -> None:
        self.start()
        assert self.accepted_at is not None
        accepted_days_ago = (self.g.now - self.accepted_at).days
        days = self.rng.choice((15, 20, 30))
        if 60 + days <= accepted_days_ago + 2:
            days = 30
        self.extension(
            at=self.accepted_at + dt.timedelta(days=self.rng.uniform(44, 55)), days=days, approve=True
        )

    def s_extension_pending(self) -> None:
        self.start()
        self.until(self.g.now - dt.timedelta(days=self.rng.uniform(0.5, 3)))
        reason = self.rng.choice(texts.EXTENSION_REASONS)
        self._do(
            case_request_extension,
            actor=self.team.operator,
            days=self.rng.choice((15, 20, 30)),
            reason=reason,
        )

    def s_in_review(self) -> None:
        self.start()
        self.inspect_and_submit(self.g.now - dt.timedelta(days=self.rng.uniform(0.3, 3)))

    def s_resubmitted_in_review(self) -> None:
        self.start()
        end = self.g.now - dt.timedelta(days=self.rng.uniform(0.3, 2))
        thin = self.rng.choice(texts.RETURN_NOTES)[0]
        self.inspect_and_submit(end - (end - self.t) * 0.4, thin=thin)
        self.give_back(thin)
        self.inspect_and_submit(end)

    def s_returned_handling(self) -> None:
        self.start()
        thin = self.rng.choice(texts.RETURN_NOTES)[0]
        self.inspect_and_submit(self.g.now - dt.timedelta(days=self.rng.uniform(1, 4)), thin=thin)
        self.give_back(thin)

    def s_closed_handled(self) -> None:
        self.start()
        self.handle_to_close(self.closing_window())

    def s_closed_handled_returned(self) -> None:
        self.start()
        self.handle_to_close(self.closing_window(15, 55), returned=True)

    def s_closed_handled_extended(self) -> None:
        self.start()
        assert self.accepted_at is not None
        self.extension(
            at=self.accepted_at + dt.timedelta(days=self.rng.uniform(40, 52)), days=30, approve=True
        )
        end = min(
            self.accepted_at + dt.timedelta(days=self.rng.uniform(63, 80)), self.g.now - dt.timedelta(days=1)
        )
        self.handle_to_close(end)

    def s_extension_rejected(self) -> None:
        self.start()
        assert self.accepted_at is not None
        self.extension(
            at=self.accepted_at + dt.timedelta(days=self.rng.uniform(8, 18)), days=15, approve=False
        )
        end = min(
            self.accepted_at + dt.timedelta(days=self.rng.uniform(30, 56)), self.g.now - dt.timedelta(days=1)
        )
        self.handle_to_close(end)

    def answer(self, text: str) -> None:
        topic = self.plan.topic
        assert topic is not None
        self._do(case_answer, actor=self.team.operator, text=text, kind=topic.kind, category=topic.category)

    def s_closed_answered(self) -> None:
        topic = self.plan.topic
        assert topic is not None
        self.hours(0.5, 20)
        if self.age_days() > 4 and self.rng.random() < 0.25:
            self.answer(texts.THIN_ANSWER)
            self.hours(2, 24)
            self._do(case_return, actor=self.team.reviewer, note=texts.ANSWER_RETURN_NOTE)
            self.hours(1, 20)
        self.answer(topic.answer)
        kind = {"consultation": "咨询", "suggestion": "建议"}.get(topic.kind, "反映")
        self.approve(public_summary=f"{kind}事项，已依职责直接答复。")

    def s_answer_in_review(self) -> None:
        topic = self.plan.topic
        assert topic is not None
        self.hours(0.5, 20)
        self.answer(topic.answer)

    def s_closed_handed_over(self) -> None:
        theme = self.plan.theme
        assert theme is not None
        self.hours(0.5, 20)
        agency = self.g.outside[theme.handover]
        unit = "中心" if self.team.agency.is_city_centre else "局"
        text = (
            f"您好！您反映的{theme.title}问题，依据职责分工属于{agency.name}管理范围。我{unit}已于{_fmt_date(self.t)}"
            f"将您的举报移交{agency.name}依法处理，请您耐心等待处理结果。如有疑问，可拨打12345政务服务便民热线咨询。"
            "感谢您对生态环境保护工作的支持！"
        )
        self._do(case_hand_over, actor=self.team.operator, handover_agency=agency, text=text)
        self.approve(public_summary=f"反映{theme.title}问题，属{agency.name}职责范围，已移交其依法处理。")

    def s_closed_duplicate(self) -> None:
        original = self.plan.duplicate_of
        assert original is not None and original.case is not None
        self.hours(0.5, 20)
        self._do(case_mark_duplicate, actor=self.team.operator, duplicate_of=original.case)

    def s_closed_withdrawn(self) -> None:
        # Issue 14: the reporter withdraws their report before the operator confirms it, in their own words.
        reporter = self.plan.reporter
        assert reporter is not None
        self.hours(0.2, 6)
        self._do(case_withdraw, openid=reporter.openid, reason=self.rng.choice(texts.WITHDRAW_REASONS))

    def escalate(self) -> None:
        self.hours(1, 20)
        other = self.rng.choice(NEIGHBOURS[self.plan.district])
        reasons = [texts.ESCALATE_BOUNDARY]
        if self.plan.party.endswith("有限公司") and self.plan.party_kind not in SMALL_PARTIES:
            reasons.append(texts.ESCALATE_STATE_OWNED)
        if self.plan.theme is not None and self.plan.theme.key == "black_water":
            reasons.append(texts.ESCALATE_RIVER)
        reason = self.rng.choice(reasons).format(district=self.plan.district, other=other)
        self._do(case_escalate, actor=self.team.operator, reason=reason)

    def reroute_to(self, district: str, template: str) -> None:
        self.hours(0.5, 12)
        bureau = self.g.bureaus[district]
        place = self.plan.place.name if self.plan.place else ""
        reason = template.format(to=district, place=place, bureau=bureau.name)
        self._do(case_reroute, actor=self.team.operator, target_agency=bureau, reason=reason)

    def maybe_close(self, p: float) -> None:
        if self.age_days() > 15 and self.rng.random() < p:
            self.handle_to_close(self.closing_window(self.age_days() * 0.5, 55))

    def s_city_coordinated(self) -> None:
        self.escalate()
        self.start()  # the city centre's operator accepts and assigns to its own department
        self.handle_to_close(self.closing_window(15, 55))

    def s_city_coordinating(self) -> None:
        self.escalate()
        self.start()

    def s_rerouted_from_city(self) -> None:
        self.reroute_to(self.plan.district, texts.REROUTE_FROM_CITY)
        self.start()
        self.maybe_close(0.6)

    def s_district_reroute(self) -> None:
        self.reroute_to(self.plan.district, texts.REROUTE_WRONG_DISTRICT)
        self.start()
        self.maybe_close(0.6)

    def s_escalated_rerouted(self) -> None:
        self.escalate()
        self.reroute_to(self.plan.district, texts.REROUTE_AFTER_ESCALATION)
        self.start()
        self.maybe_close(0.5)

    def s_supervised_open(self) -> None:
        self.start()
        self.supervise(self.g.now - dt.timedelta(days=self.rng.uniform(1, 12)))

    def s_supervised_answered(self) -> None:
        self.start()
        assert self.accepted_at is not None
        self.supervise(self.accepted_at + dt.timedelta(days=self.rng.uniform(61, 64)))
        self.answer_supervision()
        if self.rng.random() < 0.5:
            self.handle_to_close(self.g.now - dt.timedelta(days=self.rng.uniform(0.5, 3)))


# --------------------------------------------------------------------------------------------- entry
def demo_cases_create(
    *,
    count: int,
    seed: int,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Plan ``count`` cases and create them with their histories, all in one transaction."""
    gen = Generator(seed=seed, now=now or timezone.now())
    plans = gen.plan(count)
    summary = DemoSummary(cases=len(plans))
    with transaction.atomic():
        for plan in plans:  # in order of receipt, so the daily sequence numbers follow the clock
            gen.create(plan)
        for done, plan in enumerate(plans, start=1):
            Story(gen, plan).run()
            summary.scenarios[plan.scenario] += 1
            if progress is not None and (done % 25 == 0 or done == len(plans)):
                progress(done, len(plans))
    for state in Case.objects.values_list("state", flat=True):
        summary.states[state] += 1
    return summary
