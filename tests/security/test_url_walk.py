"""Walk every URL pattern of the project (issue #5): a district-A user of each case role cannot read, list,
export or act on a district-B case through any URL; the system administrator and the auditor see no case
content at all (separation of duties, Art. 15, 17).

Every pattern of ``get_resolver()`` must be classified below. A new URL that is not makes
``test_every_url_pattern_is_classified`` fail, so it cannot ship without being walked:

* ``OBJECT``: points at one case or one of its parts (photo, supervision order, spot-check item, monthly
  report…). Filled with district B's objects, a district-A user gets 403/404/405 or the login page, both
  for GET and for a POST with a payload that is *valid* (checked against the owner's form), and the
  database does not change.
* ``LIST``: lists, search, exports and forms of the user's own scope. Any status, but no district-B
  content in the answer (also with district B's number, party, district or agency in the query string).
* ``SELF``: the user's own second factor; ``AUDIT``: the audit trail (auditor only).
* ``PUBLIC``: the allow-list, each with the reason it needs no staff session. Walked too: no reporter
  identity in the answer and no change in the database.
* ``admin/``: Django's admin site, which has no case model registered: a non-administrator is sent to the
  admin login; the administrator sees accounts, not cases.

Static files are served by WhiteNoise's middleware, not by a URL pattern.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode

import pytest
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from eco12369.cases.models import Action, Case
from eco12369.followup.forms import DismissForm, ReopenForm, ReplyTemplateForm
from eco12369.notifications.models import OutboxMessage
from eco12369.open311.catalogue import SERVICES
from eco12369.orgs.models import User
from eco12369.oversight.forms import SpotCheckReviewForm
from eco12369.oversight.periods import previous_month
from eco12369.stats.forms import AnalysisForm, ReturnForm
from eco12369.workbench.forms import ACTION_FORMS
from eco12369.workbench.queues import QUEUES
from eco12369.workbench.views import ACTION_VIEWS

from .conftest import FIVE_PARTS, ROLES, World

PUBLIC, OBJECT, LIST, SELF, AUDIT = "public", "object", "list", "self", "audit"


@dataclass(frozen=True)
class Route:
    kind: str
    reason: str = ""


def _public(reason: str) -> Route:
    return Route(PUBLIC, reason)


OPEN311 = _public("Open311 GeoReport v2: public fields of cases only (no reporter); POST needs an API key")
PORTAL = _public(
    "the reporter's H5 pages: identified by WeChat OAuth and scoped to the reporter's own openid"
)

ROUTES: dict[str, Route] = {
    # --- public (allow-list), with the reason
    "login/": _public("the sign-in form"),
    "logout/": _public("ends the session (POST only)"),
    "wechat/callback/": _public("WeChat's server push: authenticated by the token signature, not a session"),
    "disclosure/": _public("public disclosure of approved monthly reports (Art. 13)"),
    "disclosure/<str:month>/": _public("public disclosure of approved monthly reports (Art. 13)"),
    "portal/": PORTAL,
    "portal/guide/": PORTAL,
    "portal/oauth/callback/": PORTAL,
    "portal/report/": PORTAL,
    "portal/report/done/<str:number>/": PORTAL,
    "portal/report/photo/<str:key>/": PORTAL,
    "portal/mine/": PORTAL,
    "portal/mine/<str:number>/": PORTAL,
    "portal/mine/<str:number>/rate/": PORTAL,
    "portal/mine/<str:number>/supplement/": PORTAL,
    "portal/mine/<str:number>/withdraw/": PORTAL,
    "portal/report/similar/": PORTAL,
    "portal/report/follow/": PORTAL,
    "open311/v2/": OPEN311,
    "open311/v2/openapi.json": OPEN311,
    "open311/v2/docs": OPEN311,
    "open311/v2/discovery.xml": OPEN311,
    "open311/v2/discovery.json": OPEN311,
    "open311/v2/services.xml": OPEN311,
    "open311/v2/services.json": OPEN311,
    "open311/v2/services/<service_code>.xml": OPEN311,
    "open311/v2/services/<service_code>.json": OPEN311,
    "open311/v2/requests.xml": OPEN311,
    "open311/v2/requests.json": OPEN311,
    "open311/v2/requests/<service_request_id>.xml": OPEN311,
    "open311/v2/requests/<service_request_id>.json": OPEN311,
    "open311/v2/tokens/<token>.xml": OPEN311,
    "open311/v2/tokens/<token>.json": OPEN311,
    "open311/v2/<path:rest>": _public("Open311's answer to any other format or path: an error list, no data"),
    "bench/ping/": _public("mounted only for bench/run.py (ECO_BENCH=1): answers 'pong', no data"),
    "bench/callback-reference/": _public(
        "mounted only for bench/run.py (ECO_BENCH=1): WeChat's signature as the callback, stores a nonce"
    ),
    # --- the user's own account, the audit trail
    "account/otp/setup/": Route(SELF),
    "account/otp/verify/": Route(SELF),
    "audit/": Route(AUDIT),
    "audit/export.xlsx": Route(AUDIT),
    # --- lists, search, exports and forms scoped to the user
    "": Route(LIST),
    "queues/": Route(LIST),
    "queues/<slug:key>/": Route(LIST),
    "search/": Route(LIST),
    "views/": Route(LIST),  # saves a view of the user's own list (its query checked by the list's form)
    "calendar/import/": Route(LIST),  # the holiday calendar: no case content; administrator and city only
    "notices/": Route(LIST),
    "districts.geojson": Route(LIST),
    "notifications/": Route(LIST),
    "notifications/badge/": Route(LIST),
    "notifications/read-all/": Route(LIST),
    "notifications/settings/": Route(LIST),
    "stats/": Route(LIST),
    "stats/generate/": Route(LIST),
    "oversight/supervision/": Route(LIST),
    "oversight/repeats/": Route(LIST),
    "oversight/spot-checks/": Route(LIST),
    "oversight/assessment/": Route(LIST),
    "oversight/assessment/export/": Route(LIST),
    "oversight/assessment/weights/": Route(LIST),
    "oversight/performance/": Route(LIST),
    "oversight/my-merits/": Route(LIST),
    "oversight/guidance/": Route(LIST),
    "oversight/guidance/new/": Route(LIST),
    "followup/reviews/": Route(LIST),
    "followup/reply-templates/": Route(LIST),
    "followup/reply-templates/new/": Route(LIST),
    # the hotline (issue 14): an operator's own calls and imports; walked with district B's numbers too
    "hotline/call/": Route(LIST),
    "hotline/call/attach/": Route(LIST),
    "hotline/call/candidates/": Route(LIST),
    "hotline/call/category/": Route(LIST),
    "hotline/call/done/<str:number>/": Route(LIST),
    "hotline/call/followed/<str:number>/": Route(LIST),
    "hotline/districts.geojson": Route(LIST),
    "hotline/imports/": Route(LIST),
    "hotline/imports/template.xlsx": Route(LIST),
    "hotline/imports/replies.xlsx": Route(LIST),
    "hotline/imports/<int:pk>/confirm/": Route(LIST),
    "hotline/imports/<int:pk>/": Route(LIST),
    # --- one object of district B
    "cases/<str:number>/": Route(OBJECT),
    "cases/<str:number>/preview/": Route(OBJECT),
    "views/<int:pk>/": Route(OBJECT),
    "views/<int:pk>/change/": Route(OBJECT),
    "notices/<int:pk>/retry/": Route(OBJECT),
    "cases/<str:number>/photos/<int:pk>/": Route(OBJECT),
    "cases/<str:number>/notes/": Route(OBJECT),
    "cases/<str:number>/notes/people/": Route(OBJECT),
    "notifications/<int:pk>/open/": Route(OBJECT),
    "cases/<str:number>/reporter/reveal/": Route(OBJECT),
    "cases/<str:number>/reply-draft/": Route(OBJECT),
    "cases/<str:number>/evidence/": Route(OBJECT),
    "cases/<str:number>/accept/": Route(OBJECT),
    "cases/<str:number>/answer/": Route(OBJECT),
    "cases/<str:number>/hand-over/": Route(OBJECT),
    "cases/<str:number>/escalate/": Route(OBJECT),
    "cases/<str:number>/send-back/": Route(OBJECT),
    "cases/<str:number>/reroute/": Route(OBJECT),
    "cases/<str:number>/mark-duplicate/": Route(OBJECT),
    "cases/<str:number>/assign/": Route(OBJECT),
    "cases/<str:number>/submit-reply/": Route(OBJECT),
    "cases/<str:number>/approve/": Route(OBJECT),
    "cases/<str:number>/return/": Route(OBJECT),
    "cases/<str:number>/request-extension/": Route(OBJECT),
    "cases/<str:number>/decide-extension/": Route(OBJECT),
    "cases/<str:number>/supervise/": Route(OBJECT),
    "cases/<str:number>/answer-supervision/": Route(OBJECT),
    "oversight/cases/<str:number>/duplicates/": Route(OBJECT),
    "oversight/spot-checks/<int:pk>/": Route(OBJECT),
    "oversight/spot-checks/items/<int:pk>/": Route(OBJECT),
    "oversight/guidance/<int:pk>/": Route(OBJECT),
    "oversight/performance/staff/<int:pk>/merits/new/": Route(OBJECT),
    "stats/<str:code>/<str:month>/": Route(OBJECT),
    "stats/<str:code>/<str:month>/export.xlsx": Route(OBJECT),
    "stats/<str:code>/<str:month>/export.pdf": Route(OBJECT),
    "stats/<str:code>/<str:month>/<str:action>/": Route(OBJECT),
    "followup/reviews/<int:pk>/reopen/": Route(OBJECT),
    "followup/reviews/<int:pk>/dismiss/": Route(OBJECT),
    "followup/reply-templates/<int:pk>/": Route(OBJECT),
    "followup/reply-templates/<int:pk>/delete/": Route(OBJECT),
}
EDITOR_ROUTES = {"cases/<str:number>/reply-draft/", "cases/<str:number>/evidence/"}
ADMIN_PREFIX = "admin/"
CONDITIONAL = {"bench/ping/", "bench/callback-reference/"}  # mounted only in some environments
ADMIN_LOGIN = {"admin/login/", "admin/logout/"}  # the admin site's own sign-in and sign-out
# Object routes that only answer POST (GET is 405 for everyone), so the "fills are real" control skips them.
POST_ONLY = {
    "views/<int:pk>/change/",
    "cases/<str:number>/notes/",
    "notifications/<int:pk>/open/",
    "cases/<str:number>/reporter/reveal/",
    "cases/<str:number>/reply-draft/",
    "cases/<str:number>/evidence/",
    "notices/<int:pk>/retry/",
    "oversight/spot-checks/items/<int:pk>/",
    "stats/<str:code>/<str:month>/<str:action>/",
    "followup/reviews/<int:pk>/reopen/",
    "followup/reviews/<int:pk>/dismiss/",
    "followup/reply-templates/<int:pk>/delete/",
}

# Which district-B case each workflow action is tried on: one in the state where the action is allowed.
ACTION_CASE = {
    "accept": "received",
    "answer": "received",
    "hand_over": "received",
    "escalate": "received",
    "reroute": "received",
    "mark_duplicate": "dup2",
    "assign": "accepted",
    "submit_reply": "handling",
    "approve": "in_review",
    "return": "in_review",
    "request_extension": "accepted",
    "decide_extension": "handling",
    "supervise": "handling",
    "answer_supervision": "handling",
    "send_back": "handling",
}
# Who in district B may do it (the payload is checked valid against that user's form).
ACTION_OWNER = {
    "submit_reply": "handler",
    "approve": "reviewer",
    "return": "reviewer",
    "decide_extension": "head",
    "send_back": "handler",
}
STATS_ACTIONS = ("regenerate", "edit_analysis", "send_for_approval", "return", "approve", "submit")


# ------------------------------------------------------------------------------------ the patterns
def url_patterns() -> Iterator[tuple[str, str]]:
    """(route, name) of every pattern, with the prefixes of the resolvers it is included under."""

    def walk(patterns: Any, prefix: str, ns: str) -> Iterator[tuple[str, str]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(
                    p.url_patterns, prefix + str(p.pattern), ns + (f"{p.namespace}:" if p.namespace else "")
                )
            else:
                assert isinstance(p, URLPattern)
                yield prefix + str(p.pattern), ns + (p.name or "")

    seen: set[str] = set()
    for route, name in walk(get_resolver().url_patterns, "", ""):
        if route not in seen:
            seen.add(route)
            yield route, name


def action_of(route: str) -> str | None:
    match = re.fullmatch(r"cases/<str:number>/([a-z-]+)/", route)
    action = match.group(1).replace("-", "_") if match else None
    return action if action in ACTION_CASE else None  # not e.g. preview/


def test_every_url_pattern_is_classified() -> None:
    routes = dict(url_patterns())
    unclassified = sorted(r for r in routes if r not in ROUTES and not r.startswith(ADMIN_PREFIX))
    assert not unclassified, (
        "URL patterns not classified in tests/security/test_url_walk.py ROUTES (public with a reason, or "
        f"protected with district-B fills): {unclassified}"
    )
    stale = sorted(r for r in ROUTES if r not in routes and r not in CONDITIONAL)
    assert not stale, f"ROUTES lists patterns that no longer exist: {stale}"
    # Every workflow action has a case to be tried on and a payload.
    assert all(view.action is action for action, view in ACTION_VIEWS.items())
    assert set(ACTION_VIEWS) == set(ACTION_CASE) == set(ACTION_FORMS)
    for route, rule in ROUTES.items():
        if rule.kind == PUBLIC:
            assert rule.reason, f"public route {route!r} needs a reason"


# --------------------------------------------------------------------------------------- filling
def _admin_object_id(name: str, w: World) -> str:
    """The pk of an object of the admin page's model, district B's where there is one."""
    preferred = {
        "orgs_user": w.b["operator"].pk,
        "orgs_agency": w.agency_b.pk,
        "orgs_region": w.region_b.pk,
        "orgs_department": w.ids["department_b"],
    }
    for prefix, pk in preferred.items():
        if name.startswith(prefix):
            return str(pk)
    match = re.match(r"(\w+?)_(\w+?)_(change|delete|history)$", name.removeprefix("admin:"))
    if match:
        from django.apps import apps

        try:
            model = apps.get_model(match.group(1), match.group(2))
        except LookupError:
            return "1"
        obj = model._default_manager.order_by("pk").first()
        return str(obj.pk) if obj is not None else "1"
    return "1"


def fills(route: str, name: str, w: World, side: str = "b") -> list[dict[str, str]]:
    """Concrete values for the route's parameters: district B's objects (``side="a"``: district A's case
    numbers instead, for the accounts that must not see any case)."""
    cases = w.a_cases if side == "a" else w.b_cases
    some = next(iter(cases.values()))
    if route.startswith(ADMIN_PREFIX):
        if "(?P<app_label>" in route:
            return [{"__url__": "/admin/cases/"}]
        if "(?P<url>" in route:
            return [{"__url__": "/admin/cases/case/"}]
        values: dict[str, str] = {}
        if "<path:content_type_id>" in route:
            values["content_type_id"] = str(ContentType.objects.get_for_model(Case).pk)
            values["object_id"] = str(some.pk)
        elif "<path:object_id>" in route:
            values["object_id"] = _admin_object_id(name.removeprefix("admin:"), w)
        if "<id>" in route:
            values["id"] = str(w.b["operator"].pk)
        if "<int:pk>" in route:
            values["pk"] = str(w.ids["totp"])
        return [values]
    if route in ("cases/<str:number>/", "cases/<str:number>/preview/"):
        return [{"number": c.number} for c in cases.values()]
    if route == "cases/<str:number>/photos/<int:pk>/":
        return [{"number": w.b_cases["received"].number, "pk": str(w.ids["photo"])}]
    if route == "cases/<str:number>/reporter/reveal/":
        return [{"number": cases.get("received", some).number}]
    if route in ("cases/<str:number>/notes/", "cases/<str:number>/notes/people/"):
        return [{"number": c.number} for c in cases.values()]
    if route == "notifications/<int:pk>/open/":  # district B's handler's notification
        return [{"pk": str(w.ids["notification"])}]
    if route in EDITOR_ROUTES:  # the reply editor's autosave and evidence upload: a case being handled
        return [{"number": cases.get("handling", some).number}]
    action = action_of(route)
    if action is not None:
        case = cases.get(ACTION_CASE[action], some)
        return [{"number": case.number}]
    simple: dict[str, dict[str, str]] = {
        "oversight/cases/<str:number>/duplicates/": {"number": cases.get("dup2", some).number},
        "oversight/spot-checks/<int:pk>/": {"pk": str(w.ids["spot_check"])},
        "oversight/spot-checks/items/<int:pk>/": {"pk": str(w.ids["spot_item"])},
        "oversight/guidance/<int:pk>/": {"pk": str(w.ids["guidance"])},
        "views/<int:pk>/": {"pk": str(w.ids["saved_view"])},
        "views/<int:pk>/change/": {"pk": str(w.ids["saved_view"])},
        "oversight/performance/staff/<int:pk>/merits/new/": {"pk": str(w.b["handler"].pk)},
        "stats/<str:code>/<str:month>/": {"code": w.region_b.code, "month": w.ids["month"]},
        "stats/<str:code>/<str:month>/export.xlsx": {"code": w.region_b.code, "month": w.ids["month"]},
        "stats/<str:code>/<str:month>/export.pdf": {"code": w.region_b.code, "month": w.ids["month"]},
        "disclosure/<str:month>/": {"month": w.ids["month"]},
        "portal/report/done/<str:number>/": {"number": some.number},
        "portal/mine/<str:number>/": {"number": some.number},
        "portal/mine/<str:number>/rate/": {"number": cases.get("closed", some).number},
        "portal/mine/<str:number>/supplement/": {"number": some.number},
        "portal/mine/<str:number>/withdraw/": {"number": some.number},
        "hotline/call/done/<str:number>/": {"number": some.number},
        "hotline/call/followed/<str:number>/": {"number": some.number},
        "hotline/imports/<int:pk>/confirm/": {"pk": "1"},
        "hotline/imports/<int:pk>/": {"pk": "1"},
        "followup/reviews/<int:pk>/reopen/": {"pk": str(w.ids["rating"])},
        "followup/reviews/<int:pk>/dismiss/": {"pk": str(w.ids["rating"])},
        "followup/reply-templates/<int:pk>/": {"pk": str(w.ids["template"])},
        "followup/reply-templates/<int:pk>/delete/": {"pk": str(w.ids["template"])},
        "portal/report/photo/<str:key>/": {"key": w.ids["staged_key"]},
        "open311/v2/services/<service_code>.xml": {"service_code": SERVICES[0].code},
        "open311/v2/services/<service_code>.json": {"service_code": SERVICES[0].code},
        "open311/v2/requests/<service_request_id>.xml": {"service_request_id": w.b_cases["api"].number},
        "open311/v2/requests/<service_request_id>.json": {"service_request_id": w.b_cases["api"].number},
        "open311/v2/tokens/<token>.xml": {"token": w.ids["token"]},
        "open311/v2/tokens/<token>.json": {"token": w.ids["token"]},
        "open311/v2/<path:rest>": {"rest": f"requests/{w.b_cases['api'].number}.csv"},
    }
    if route in simple:
        return [simple[route]]
    if route == "stats/<str:code>/<str:month>/<str:action>/":
        return [{"code": w.region_b.code, "month": w.ids["month"], "action": a} for a in STATS_ACTIONS]
    if route == "notices/<int:pk>/retry/":  # a notice to district B's reporter
        message = OutboxMessage.objects.filter(case=w.b_cases["received"]).order_by("id").first()
        assert message is not None
        return [{"pk": str(message.pk)}]
    if route == "queues/<slug:key>/":
        return [{"key": q.key} for q in QUEUES]
    assert "<" not in route, f"no fill for {route!r}"
    return [{}]


def build_url(route: str, values: dict[str, str]) -> str:
    if "__url__" in values:
        return values["__url__"]

    def sub(match: re.Match[str]) -> str:
        return quote(values[match.group(2)], safe="")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", sub, route)


def query_variants(route: str, w: World) -> list[str]:
    """Extra GET queries for the lists: district B's number, party, district and agency as filters."""
    b = w.b_cases["received"]
    variants: dict[str, list[dict[str, Any]]] = {
        "search/": [
            {"number": b.number},
            {"reported_party": b.reported_party},
            {"district": w.region_b.pk},
            {"state": "received", "kind": "report"},
        ],
        "queues/": [{"page": 2}],
        "oversight/supervision/": [
            {"tab": tab, "district": w.region_b.pk} for tab in ("overdue", "due_soon", "escalated", "orders")
        ],
        "oversight/performance/": [{"agency": w.agency_b.pk}],
        "oversight/spot-checks/": [{"district": w.region_b.pk}],
        "stats/": [{"month": w.ids["month"]}],
        "audit/": [{"actor": w.b["operator"].username}],
    }
    return ["?" + urlencode(v) for v in variants.get(route, [])]


def payloads(route: str, w: World, values: dict[str, str]) -> list[dict[str, Any]]:
    """POST bodies. Object routes get payloads that are valid for the owner (see the control test), so only
    the access check can stop them; everything else gets an empty body."""
    action = action_of(route)
    if route == "cases/<str:number>/reply-draft/":
        return [{f"submit_reply-{k}": v for k, v in FIVE_PARTS.items()}]
    if route == "cases/<str:number>/notes/":  # an internal note that mentions district B's handler
        return [{"body": f"@{w.b['handler'].username} 请核实企业夜间排放情况"}]
    if route == "cases/<str:number>/evidence/":
        return [
            {"file": SimpleUploadedFile("检查笔录.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")}
        ]
    if action is not None and route not in EDITOR_ROUTES:
        return [action_payload(action, w)]
    if route == "cases/<str:number>/reporter/reveal/":
        return [{"reason": "电话核实举报地点。"}]

    if route == "oversight/cases/<str:number>/duplicates/":
        return [{"action": "refresh"}]
    if route == "oversight/spot-checks/items/<int:pk>/":
        return [spot_item_payload(w)]
    if route == "oversight/performance/staff/<int:pk>/merits/new/":
        return [MERIT_PAYLOAD]
    if route == "stats/<str:code>/<str:month>/<str:action>/":
        return [{"analysis": "本月情况良好。", "note": "请修改。"}]
    if route == "followup/reviews/<int:pk>/reopen/":
        return [{"reason": "答复未回应举报人的问题，请重新办理。"}]
    if route == "followup/reviews/<int:pk>/dismiss/":
        return [{"note": "答复意见成立。"}]
    if route == "followup/reply-templates/<int:pk>/":
        return [TEMPLATE_PAYLOAD]
    if route == "views/<int:pk>/change/":  # a rename, a share and a delete of district B's shared view
        return [{"name": "改成甲区的名字"}, {"shared": "0"}, {"delete": "1"}]
    return [{}]


MERIT_PAYLOAD = {"kind": "criticism", "period": previous_month().key, "reason": "多次超期未办结。"}
TEMPLATE_PAYLOAD = {"name": "改名的模板", "kind": "", "category": "water", "active": "on", **FIVE_PARTS}


def action_payload(action: str, w: World) -> dict[str, Any]:
    due = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    payloads: dict[str, dict[str, Any]] = {
        "accept": {"note": "予以受理。"},
        "answer": {"text": "经核实，答复如下。"},
        "hand_over": {"handover_agency": w.outside.pk, "text": "已移交。"},
        "escalate": {"reason": "涉及多个区。"},
        "reroute": {"target_agency": w.a["operator"].agency_id, "reason": "属于和平区。"},
        "mark_duplicate": {"duplicate_of": w.b_cases["received"].number},
        "assign": {"department": w.ids["department_b"], "note": ""},
        "submit_reply": FIVE_PARTS,
        "approve": {"note": "同意。"},
        "return": {"note": "请补充现场照片。"},
        "request_extension": {"days": 10, "reason": "需等待监测报告。"},
        "decide_extension": {"extension": w.ids["extension"], "approved": "1", "note": ""},
        "supervise": {"instruction": "请尽快办理。", "answer_due": due},
        "answer_supervision": {"order": w.ids["order"], "answer": "已办理。"},
        "send_back": {"reason": "不属于本部门职责，请重新批转。"},
    }
    return {f"{action}-{k}": v for k, v in payloads[action].items()}


def spot_item_payload(w: World) -> dict[str, Any]:
    prefix = f"i{w.ids['spot_item']}"
    return {f"{prefix}-on_time": "0", f"{prefix}-reply_complete": "0", f"{prefix}-evidence": "0",
            f"{prefix}-reporter_informed": "", f"{prefix}-note": "复核不合格。"}  # fmt: skip


# --------------------------------------------------------------------------------------- walking
LOGIN_PATHS = ("/login/", "/admin/login/")


def is_login_redirect(response: Any) -> bool:
    return response.status_code in (301, 302, 303) and response["Location"].startswith(LOGIN_PATHS)


@dataclass
class Outcome:
    method: str
    url: str
    status: int
    final: Any
    texts: list[str]
    changed: bool


class Walker:
    def __init__(self, w: World, user: User | None, fingerprint: Callable[[], tuple[Any, ...]]) -> None:
        self.w = w
        self.user = user
        self.client = Client()
        self.fingerprint = fingerprint
        if user is not None:
            self.client.force_login(user)

    def fetch(
        self, method: str, url: str, data: dict[str, Any] | None = None, *, watch: bool = True
    ) -> Outcome:
        from .conftest import response_text

        before = self.fingerprint() if watch else ()
        response = self.client.post(url, data or {}) if method == "POST" else self.client.get(url)
        texts = [response_text(response)]
        hops = 0
        # Follow local redirects (e.g. an action's GET goes to the case page), not the login page.
        while response.status_code in (301, 302, 303) and hops < 3 and not is_login_redirect(response):
            location = response["Location"]
            if not location.startswith("/"):
                break
            response = self.client.get(location)
            texts.append(response_text(response))
            hops += 1
        changed = watch and self.fingerprint() != before
        if self.user is not None and "_auth_user_id" not in self.client.session:
            self.client.force_login(self.user)  # e.g. POST /logout/: keep walking as this user
        return Outcome(method, url, response.status_code, response, texts, changed)


def leaks(outcome: Outcome, markers: dict[str, str], sent: str) -> list[str]:
    """Markers found in any response of the outcome; a marker the request itself carried (an echoed search
    term, the number in the URL) does not count."""
    sent = unquote(sent)
    found = []
    for label, value in markers.items():
        if value in sent:
            continue
        if any(value in text for text in outcome.texts):
            found.append(label)
    return found


def refused(outcome: Outcome) -> bool:
    return outcome.status in (403, 404, 405) or is_login_redirect(outcome.final)


def walk_as(
    walker: Walker,
    label: str,
    markers: dict[str, str],
    *,
    side: str = "b",
    admin_site: str | None = "refused",
    public: bool = False,
    own_pages: bool = True,
    audit_markers: dict[str, str] | None = None,
) -> list[str]:
    """Every route as ``walker``'s user; returns the problems found (empty: all good).

    ``admin_site``: "refused" (GET must give the admin login), "allowed" (the administrator: GET, no case
    content) or None (not walked: the admin site decides by the account's administrator role alone, so
    one account of a kind walks it). ``public``: walk the public allow-list too (it does not depend on the
    staff account, so one walk suffices). ``own_pages=False``: skip the account's own pages (second
    factor, audit trail) and the empty-body POSTs to lists, which do not depend on the case role.
    ``side="a"``: only routes that name a case, filled with district A's cases."""
    w = walker.w
    problems: list[str] = []
    reporter_markers = {k: v for k, v in markers.items() if "reporter" in k}
    for route, name in url_patterns():
        is_admin = route.startswith(ADMIN_PREFIX)
        if is_admin and (admin_site is None or route in ADMIN_LOGIN):
            continue
        rule = Route("admin") if is_admin else ROUTES[route]
        if rule.kind == PUBLIC and not public:
            continue
        if side == "a" and "<str:number>" not in route:
            continue
        if not own_pages and rule.kind in (SELF, AUDIT):
            continue
        for values in fills(route, name, w, side=side):
            url = build_url(route, values)
            methods: list[tuple[str, str, dict[str, Any]]] = [("GET", url, {})]
            methods += [("GET", url + q, {}) for q in query_variants(route, w)]
            # The admin site refuses (or admits) by the account alone, whatever the method.
            if not is_admin and (own_pages or rule.kind != LIST):
                methods += [("POST", url, p) for p in payloads(route, w, values)]
            for method, target, data in methods:
                outcome = walker.fetch(method, target, data)
                sent = target + " " + " ".join(str(v) for v in data.values())
                where = f"{label} {method} {target} → {outcome.status}"
                if outcome.changed:
                    problems.append(f"{where}: the database changed")
                if rule.kind == PUBLIC:
                    found = leaks(outcome, reporter_markers, sent)
                elif rule.kind == AUDIT and audit_markers is not None:
                    found = leaks(outcome, audit_markers, sent)
                else:
                    found = leaks(outcome, markers, sent)
                if found:
                    problems.append(f"{where}: answer contains {found}")
                strict = rule.kind == OBJECT or (is_admin and admin_site == "refused")
                if strict and not refused(outcome):
                    problems.append(f"{where}: expected 403/404/405 or the login page")
    return problems


# ----------------------------------------------------------------------------------------- tests
def assert_fills_are_real(w: World, fingerprint: Callable[[], tuple[Any, ...]]) -> None:
    """Control: district B's own staff (or the city centre) reach every object route with the same fills,
    and the POST payloads are valid for them, so a refusal of district A is the access check's doing."""
    owners = [Walker(w, u, fingerprint) for u in [*w.b.values(), *w.city.values()]]
    for route, name in url_patterns():
        if ROUTES.get(route, Route("admin")).kind != OBJECT or route in POST_ONLY:
            continue
        for values in fills(route, name, w):
            url = build_url(route, values)
            statuses = []
            for owner in owners:
                statuses.append(owner.fetch("GET", url, watch=False).status)
                if statuses[-1] == 200:
                    break
            assert statuses[-1] == 200, f"no owner reaches {url}: {statuses}"
    # The payloads are what the owners' forms accept.
    for action, key in ACTION_CASE.items():
        case = w.b_cases[key]
        actor = w.city["operator"] if action == "supervise" else w.b[ACTION_OWNER.get(action, "operator")]
        form = ACTION_FORMS[Action(action)](action_payload(action, w), case=case, user=actor)
        assert form.is_valid(), (action, form.errors)
    other_forms: tuple[forms.Form, ...] = (
        SpotCheckReviewForm(spot_item_payload(w), prefix=f"i{w.ids['spot_item']}"),
        AnalysisForm({"analysis": "本月情况良好。"}),
        ReturnForm({"note": "请修改。"}),
        ReopenForm({"reason": "答复未回应举报人的问题，请重新办理。"}),
        DismissForm({"note": "答复意见成立。"}),
        ReplyTemplateForm(TEMPLATE_PAYLOAD),
    )
    for other in other_forms:
        assert other.is_valid(), (type(other).__name__, other.errors)


def test_district_a_cannot_reach_district_b_through_any_url(
    world: World, db_fingerprint: Callable[[], tuple[Any, ...]]
) -> None:
    w = world
    assert_fills_are_real(w, db_fingerprint)
    markers = w.markers_b()
    problems: list[str] = []
    for role, user in w.a.items():
        walker = Walker(w, user, db_fingerprint)
        # Control: the walk is not vacuous, A's own cases are listed for A.
        if role != "handler":
            assert w.a_cases["received"].number in walker.fetch("GET", "/search/").texts[-1], role
        first = role == ROLES[0]
        problems += walk_as(
            walker,
            f"A-{role}",
            markers,
            admin_site="refused" if first else None,
            public=first,
            own_pages=first,
        )
    assert not problems, "\n".join(problems)
    # Nothing of district B changed hands.
    assert set(Case.objects.filter(region=w.region_b).values_list("agency_id", flat=True)) == {w.agency_b.pk}


def test_administrator_and_auditor_see_no_case_at_all(
    world: World, db_fingerprint: Callable[[], tuple[Any, ...]]
) -> None:
    """Separation of duties: the administrator (whose account belongs to district A's bureau) cannot open,
    list, search or export any case, not even district A's; the auditor reads only the audit trail."""
    w = world
    markers = w.markers_all()
    # The audit trail names the objects acted on (a case number is fine there); never case content.
    audit_markers = {k: v for k, v in markers.items() if "number" not in k}
    admin = Walker(w, w.admin, db_fingerprint)
    auditor = Walker(w, w.auditor, db_fingerprint)
    assert admin.fetch("GET", "/admin/").status == 200  # the administrator does manage accounts
    assert admin.fetch("GET", f"/admin/orgs/user/{w.b['operator'].pk}/change/").status == 200
    assert auditor.fetch("GET", "/audit/").status == 200
    assert admin.fetch("GET", "/audit/").status == 403
    # Deleting district B's bureau is refused because cases refer to it: said by kind and count only.
    blocked = admin.fetch("GET", f"/admin/orgs/agency/{w.agency_b.pk}/delete/")
    assert blocked.status == 200 and f"举报件（{len(w.b_cases)}）" in blocked.texts[-1]
    problems: list[str] = []
    for side in ("b", "a"):
        problems += walk_as(admin, f"admin[{side}]", markers, side=side, admin_site="allowed")
        problems += walk_as(
            auditor, f"auditor[{side}]", markers, side=side, admin_site="refused", audit_markers=audit_markers
        )
    assert not problems, "\n".join(problems)


def test_district_a_forms_cannot_point_at_district_b_objects(
    world: World, db_fingerprint: Callable[[], tuple[Any, ...]]
) -> None:
    """On district A's own case, a form naming district B's case, extension, supervision order or
    department is refused and changes nothing (no reaching B through a foreign key in a form)."""
    w = world
    a_case = w.a_cases["handling"]
    a_new = w.a_cases["received"]
    walker = Walker(w, w.a["operator"], db_fingerprint)
    head = Walker(w, w.a["head"], db_fingerprint)
    attempts = [
        (walker, a_new, "mark-duplicate", {"mark_duplicate-duplicate_of": w.b_cases["received"].number}),
        (walker, a_case, "assign", {"assign-department": w.ids["department_b"]}),
        (
            walker,
            a_case,
            "answer-supervision",
            {"answer_supervision-order": w.ids["order"], "answer_supervision-answer": "已办理。"},
        ),
        (
            head,
            a_case,
            "decide-extension",
            {"decide_extension-extension": w.ids["extension"], "decide_extension-approved": "1"},
        ),
    ]
    for who, case, action, data in attempts:
        outcome = who.fetch("POST", f"/cases/{case.number}/{action}/", data)
        assert outcome.status in (403, 404, 409, 422), (action, outcome.status)
        assert not outcome.changed, action
        assert not leaks(outcome, w.markers_b(), " ".join(map(str, data.values()))), action
    # The one mark-duplicate form says the same of district B's case as of a number that does not exist.
    outcome = walker.fetch(
        "POST",
        f"/cases/{a_new.number}/mark-duplicate/",
        {"mark_duplicate-duplicate_of": w.b_cases["received"].number},
    )
    assert outcome.status == 422 and not outcome.changed
    assert "未找到该编号的举报件" in outcome.texts[-1]
    # District A's duplicate page does not list district B's look-alike cases (the finder paired them).
    page = walker.fetch("GET", f"/oversight/cases/{a_new.number}/duplicates/")
    assert page.status == 200
    assert not leaks(page, w.markers_b(), ""), "district B's candidates shown to district A"


@pytest.fixture(autouse=True)
def _fast_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """PDF exports of district B are refused before rendering; the owner control only needs a 200."""
    from eco12369.stats import views

    monkeypatch.setattr(views, "pdf_bytes", lambda report: b"%PDF-1.4\n%%EOF\n")
