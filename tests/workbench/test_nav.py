"""The navigation: built in Python, filtered by role, and only with links that resolve."""

from __future__ import annotations

import re

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from eco12369.workbench import context_processors
from eco12369.workbench.context_processors import NavItem, nav_for

pytestmark = pytest.mark.django_db


def nav_labels(client: Client) -> list[str]:
    text = client.get(reverse("workbench:search")).content.decode()
    return re.findall(r'class="sidenav-item[^"]*"[^>]*>([^<]+)</a>', text)


def test_operator_nav(client: Client, heping) -> None:
    client.force_login(heping.operator)
    labels = nav_labels(client)
    assert labels[:3] == ["首页", "待办队列", "举报件查询"]
    assert "系统管理" not in labels


def test_admin_sees_system_admin_only(client: Client, make_user) -> None:
    admin = make_user("admin", district_name=None)
    client.force_login(admin)
    text = client.get(reverse("workbench:home")).content.decode()
    labels = re.findall(r'class="sidenav-item[^"]*"[^>]*>([^<]+)</a>', text)
    assert "系统管理" in labels
    assert "待办队列" not in labels and "举报件查询" not in labels


def test_items_whose_urls_do_not_exist_are_left_out(heping, monkeypatch) -> None:
    monkeypatch.setattr(
        context_processors,
        "NAV",
        [
            NavItem("workbench:queue", "待办队列", None),
            NavItem("nowhere:index", "尚未上线", None),
        ],
    )
    request = RequestFactory().get("/queues/")
    request.user = heping.operator
    items = nav_for(request)
    assert [i["label"] for i in items] == ["待办队列"]
    assert items[0]["active"] is True


def test_active_item(client: Client, heping) -> None:
    client.force_login(heping.operator)
    text = client.get(reverse("workbench:search")).content.decode()
    assert re.search(r'class="sidenav-item is-active"[^>]*>举报件查询<', text)


def test_monthly_reports_in_the_menu_of_whoever_may_read_them(heping) -> None:
    """A handler reads the district's monthly reports (stats.selectors.can_read_reports), so the menu
    links them (issue 12, D2: it used to hide a page the handler may open)."""
    request = RequestFactory().get("/")
    request.user = heping.handler
    keys = {i["key"] for i in nav_for(request)}
    assert "stats:monthly_list" in keys
    assert "admin:index" not in keys
    request.user = heping.head
    keys = {i["key"] for i in nav_for(request)}
    assert "stats:monthly_list" in keys
