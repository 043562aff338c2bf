"""Shared fixtures. Test data is made through the real services (DESIGN §10)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache

from eco12369.cases.models import Case
from eco12369.cases.services import Intake, case_create
from eco12369.orgs.models import Agency, Region, User
from eco12369.orgs.services import staff_create
from eco12369.orgs.tianjin import tianjin_load
from tests.constants import PASSWORD

pytest_plugins = ["tests.browser", "tests.wechat_fixtures"]

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache: the cached figures of ended months (stats.cache) are keyed by
    the latest event id, which a rolled-back test database hands out again; counters kept there (Open311's
    per-client rate limit) do not carry over from one test to the next."""
    cache.clear()


@pytest.fixture
def tianjin(db: None) -> None:
    tianjin_load()


def district(name: str) -> Region:
    return Region.objects.get(name=name)


def bureau(district_name: str) -> Agency:
    return Agency.objects.get(region__name=district_name, kind=Agency.Kind.DISTRICT_BUREAU)


def city_centre() -> Agency:
    return Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)


@pytest.fixture
def make_user(tianjin: None) -> Callable[..., User]:
    """make_user("operator", "和平区") or make_user("reviewer", None) for the city centre.

    A handler gets the bureau's first department unless ``department`` is given."""

    def make(*roles: str, district_name: str | None = "和平区", department: Any = None, **kw: Any) -> User:
        agency = bureau(district_name) if district_name else city_centre()
        if "handler" in roles and department is None:
            department = agency.departments.order_by("id").first()
        return staff_create(
            username=kw.pop("username", f"u{next(_counter)}_{'_'.join(roles)}"),
            password=kw.pop("password", PASSWORD),
            agency=agency,
            department=department,
            roles=roles,
            **kw,
        )

    return make


@pytest.fixture
def make_case(tianjin: None) -> Callable[..., Case]:
    def make(district_name: str | None = "和平区", **kw: Any) -> Case:
        kw.setdefault("channel", "wechat_chat")
        kw.setdefault("description", "某化工厂夜间排放黑水，河道发臭。")
        kw.setdefault("category", "water")
        kw.setdefault("reporter_openid", f"openid-{next(_counter)}")
        return case_create(intake=Intake(district=district(district_name) if district_name else None, **kw))

    return make


@dataclass
class Bureau:
    """A district bureau's case staff, one of each role (``make_bureau``)."""

    district: str
    operator: User
    handler: User
    reviewer: User
    head: User

    @property
    def department(self) -> Any:
        return self.handler.department


@pytest.fixture
def make_bureau(make_user: Callable[..., User]) -> Callable[[str], Bureau]:
    def make(district: str) -> Bureau:
        return Bureau(
            district=district,
            operator=make_user("operator", district_name=district, display_name=f"{district}操作员"),
            handler=make_user("handler", district_name=district, display_name=f"{district}承办人"),
            reviewer=make_user("reviewer", district_name=district, display_name=f"{district}分管领导"),
            head=make_user("head", district_name=district, display_name=f"{district}负责人"),
        )

    return make


@pytest.fixture
def heping(make_bureau: Callable[[str], Bureau]) -> Bureau:
    return make_bureau("和平区")
