"""Fixtures for the compliance tests: the staff of 和平区's bureau, another district's operator, the city
centre, and a client logged in as any of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from eco12369.audit.models import AuditEntry
from eco12369.orgs.models import User


@dataclass
class Staff:
    operator: User
    handler: User
    other_handler: User  # a handler of another department of the same bureau
    reviewer: User
    head: User
    hexi_operator: User  # another district
    city_operator: User
    city_head: User
    admin: User
    auditor: User


@pytest.fixture
def staff(make_user: Callable[..., User]) -> Staff:
    from eco12369.orgs.models import Agency

    bureau = Agency.objects.get(region__name="和平区", kind=Agency.Kind.DISTRICT_BUREAU)
    departments = list(bureau.departments.order_by("id")[:2])
    return Staff(
        operator=make_user("operator"),
        handler=make_user("handler", department=departments[0]),
        other_handler=make_user("handler", department=departments[1]),
        reviewer=make_user("reviewer"),
        head=make_user("head"),
        hexi_operator=make_user("operator", district_name="河西区"),
        city_operator=make_user("operator", district_name=None),
        city_head=make_user("head", district_name=None),
        admin=make_user("admin", district_name=None),
        auditor=make_user("auditor", district_name=None),
    )


@pytest.fixture
def login() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


def audit_actions(prefix: str = "") -> list[str]:
    return list(
        AuditEntry.objects.filter(action__startswith=prefix).order_by("id").values_list("action", flat=True)
    )


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "uploads"
    return Path(settings.MEDIA_ROOT)
