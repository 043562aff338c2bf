"""The workbench navigation, built in Python and filtered by role.

Each item is resolved with ``reverse()``; an area whose URLs do not exist yet is simply left out, so links
to areas built later appear by themselves once their URLs are included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from eco12369.audit.access import can_view_audit_log
from eco12369.hotline import access as hotline_access
from eco12369.orgs.models import Role, User
from eco12369.oversight import access as oversight_access
from eco12369.stats.selectors import can_read_reports

from .holidays import can_import_calendar
from .outbox import can_view_notices
from .queues import works_on_cases

Predicate = Callable[[User], bool]


def _roles(*roles: str) -> Predicate:
    wanted = frozenset(roles)
    return lambda user: bool(user.agency_id is not None and user.role_set & wanted)


def _city_centre(*roles: str) -> Predicate:
    wanted = frozenset(roles)
    return lambda user: bool(user.is_city_centre and user.role_set & wanted)


def _admin(user: User) -> bool:
    return user.is_system_admin


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str
    allowed: Predicate | None  # None: public, shown to everyone


NAV: list[NavItem] = [
    NavItem("workbench:home", "首页", works_on_cases),
    NavItem("workbench:queue", "待办队列", works_on_cases),
    NavItem("workbench:search", "举报件查询", works_on_cases),
    NavItem("workbench:notices", "告知异常", can_view_notices),
    NavItem("hotline:call", "电话代录", hotline_access.can_record_calls),
    NavItem("hotline:imports", "转办导入", hotline_access.can_import_forwarded),
    # The oversight pages' own access rules decide their menu items (one source of truth).
    NavItem("oversight:supervision", "督办", oversight_access.can_view_supervision),
    NavItem("oversight:spot_checks", "抽查", oversight_access.can_view_spot_checks),
    NavItem("oversight:assessment", "考核", oversight_access.can_view_assessment),
    NavItem("oversight:performance", "人员绩效", oversight_access.can_view_performance),
    NavItem("oversight:guidance", "业务指导", oversight_access.can_view_guidance),
    NavItem("oversight:my_merits", "我的表彰与惩处", oversight_access.can_view_own_merits),
    NavItem("stats:monthly_list", "月报", can_read_reports),
    NavItem("followup:reviews", "回访复核", _city_centre(Role.OPERATOR, Role.HEAD, Role.REVIEWER)),
    NavItem("followup:templates", "答复模板", _roles(Role.OPERATOR, Role.HEAD, Role.REVIEWER)),
    NavItem("audit:list", "审计日志", can_view_audit_log),
    NavItem("disclosure:index", "信息公开", None),
    NavItem("workbench:calendar_import", "节假日导入", can_import_calendar),
    NavItem("admin:index", "系统管理", _admin),
]


def nav_for(request: HttpRequest) -> list[dict[str, Any]]:
    user = getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)
    items: list[dict[str, Any]] = []
    for item in NAV:
        if item.allowed is not None and not (authenticated and item.allowed(user)):  # type: ignore[arg-type]
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"key": item.url_name, "label": item.label, "url": url, "active": False})
    # The longest matching prefix is the active item ("/" would match everything).
    best = max(
        (i for i in items if i["url"] != "/" and request.path.startswith(i["url"])),
        key=lambda i: len(i["url"]),
        default=None,
    )
    if best is None:  # the home page's own item ("/")
        best = next((i for i in items if i["url"] == "/" == request.path), None)
    if best is not None:
        best["active"] = True
    return items


def workbench(request: HttpRequest) -> dict[str, Any]:
    """``workbench_nav`` is computed only when a template uses it (pages outside the workbench pay nothing)."""
    cache: list[list[dict[str, Any]]] = []

    def nav() -> list[dict[str, Any]]:
        if not cache:
            cache.append(nav_for(request))
        return cache[0]

    return {"workbench_nav": nav}
