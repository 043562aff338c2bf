"""Each role's menu lists every page that role may open, and nothing it may not (issue 12, D2).

The pages are the parameter-free routes of the URL permission table (``test_url_walk.ROUTES``): each is
opened as each kind of staff member; a page that answers 200 must be in that person's menu, or be a page
reached from one that is (``REACHED_FROM``), and every menu item must answer 200.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from eco12369.orgs.models import User

from .test_url_walk import AUDIT, LIST, ROUTES, SELF, url_patterns

pytestmark = pytest.mark.django_db

# Pages opened from another page rather than from the menu: route -> the menu page that links to it.
REACHED_FROM = {
    "": "queues/",  # the home page redirects to the queues
    "stats/generate/": "stats/",
    "oversight/repeats/": "oversight/supervision/",
    "oversight/assessment/export/": "oversight/assessment/",
    "oversight/assessment/weights/": "oversight/assessment/",
    "oversight/guidance/new/": "oversight/guidance/",
    "followup/reply-templates/new/": "followup/reply-templates/",
    "audit/export.xlsx": "audit/",
    "hotline/imports/template.xlsx": "hotline/imports/",
    "notifications/settings/": "notifications/",
}
# Not pages of a menu: the second factor's own set-up and check (reached from the sign-in).
# The second-factor steps, and data the pages load (the district outlines for the maps), are not pages.
# Nor are the parts htmx loads into a page (the call form's live candidates and category guess, the
# header's unread count).
NOT_MENU = {
    "account/otp/setup/",
    "account/otp/verify/",
    "districts.geojson",
    "hotline/districts.geojson",
    "hotline/call/candidates/",
    "hotline/call/category/",
    "notifications/badge/",
}


def menu_urls(client: Client) -> list[str]:
    text = client.get("/search/", follow=True).content.decode()
    nav = re.search(r'<nav class="sidenav"[^>]*>(.*?)</nav>', text, re.S)
    links = re.findall(r'href="([^"]+)"', nav.group(1)) if nav else []
    # The header's 通知 link (the notification centre, with its unread count) is part of every staff menu.
    return links + re.findall(r'<a class="notif-link" href="([^"]+)"', text)


def staff(make_user: Callable[..., User]) -> dict[str, User]:
    people = {}
    for role in ("operator", "handler", "reviewer", "head"):
        people[f"district {role}"] = make_user(role, district_name="和平区")
        people[f"city {role}"] = make_user(role, district_name=None)
    people["administrator"] = make_user("admin", district_name=None)
    people["auditor"] = make_user("auditor", district_name=None)
    return people


def test_every_role_menu_matches_the_pages_it_may_open(make_user: Callable[..., User]) -> None:
    routes = dict(url_patterns())
    pages = [
        r for r, rule in ROUTES.items() if rule.kind in (LIST, AUDIT, SELF) and "<" not in r and r in routes
    ]
    assert "audit/" in pages and "oversight/supervision/" in pages
    problems: list[str] = []
    for who, user in staff(make_user).items():
        client = Client()
        client.force_login(user)
        menu = set(menu_urls(client))
        opens = set()
        for route in pages:
            response = client.get("/" + route)
            # The landing page of one without cases (the brand's link), whose text points at the menu.
            landing = route in ("", "queues/") and "请从左侧导航进入" in response.content.decode()
            if response.status_code == 200 and not landing:
                opens.add(route)
        if user.is_system_admin:
            opens.add("admin/")
        for route in sorted(opens - NOT_MENU):
            target = "/" + REACHED_FROM.get(route, route)
            if target not in menu:
                problems.append(f"{who}: may open /{route} but the menu has no {target}")
        for url in sorted(menu):
            if client.get(url).status_code != 200:
                problems.append(f"{who}: the menu links {url}, which does not open")
            route = url.lstrip("/")
            if route in ROUTES and route not in opens and not url.startswith("/disclosure/"):
                problems.append(f"{who}: the menu links {url}, outside the permission table's pages")
    assert not problems, "\n".join(problems)


def test_the_auditor_menu_links_the_audit_log(client: Client, make_user: Callable[..., User]) -> None:
    auditor = make_user("auditor", district_name=None)
    client.force_login(auditor)
    home = client.get("/").content.decode()
    assert re.search(r'<a href="/audit/" class="sidenav-item[^"]*"[^>]*>审计日志</a>', home)
    assert client.get("/audit/").status_code == 200
    other = make_user("admin", district_name=None)
    client.force_login(other)
    assert "/audit/" not in menu_urls(client)
