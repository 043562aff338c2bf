"""Demo staff: predictable usernames, one shared password, realistic Chinese names.

The city centre, 和平区 and 滨海新区 have every role (and a handler in each handling department); every
other district has an operator, a handler, a reviewer and a head, so that its cases can move through the
real workflow too. ``sysadmin`` (system administrator) and ``auditor`` (security auditor) see no cases.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from eco12369.orgs.models import Agency, Department, Role, RoleGrant, User
from eco12369.orgs.services import staff_create
from eco12369.orgs.tianjin import BUREAU_DEPARTMENTS, DISTRICTS

from .places import SLUGS
from .texts import GIVEN_NAMES, SURNAMES

DEMO_PASSWORD = "Demo12369!tj"
MAIN_DISTRICTS = ("和平区", "滨海新区")
ENFORCEMENT = BUREAU_DEPARTMENTS[0]  # 环境执法支队: the default handling department
DEPARTMENT_SLUGS = {
    "环境执法支队": "handler",
    "大气环境管理科": "air",
    "水环境管理科": "water",
    "固体废物与化学品管理科": "waste",
}


@dataclass(frozen=True)
class StaffSpec:
    username: str
    district: str | None  # None: the city centre
    roles: tuple[str, ...]
    department: str = ""


def staff_specs() -> list[StaffSpec]:
    """Every demo account, in the order the logins table lists them."""
    specs = [
        StaffSpec("city_operator", None, (Role.OPERATOR,), "举报受理科"),
        StaffSpec("city_handler", None, (Role.HANDLER,), "督查督办科"),
        StaffSpec("city_reviewer", None, (Role.REVIEWER,)),
        StaffSpec("city_head", None, (Role.HEAD,)),
    ]
    others = [name for _, name in DISTRICTS if name not in MAIN_DISTRICTS]
    for district in (*MAIN_DISTRICTS, None, *others):
        if district is None:
            specs.append(StaffSpec("sysadmin", None, (Role.ADMIN,)))
            specs.append(StaffSpec("auditor", None, (Role.AUDITOR,)))
            continue
        slug = SLUGS[district]
        specs.append(StaffSpec(f"{slug}_operator", district, (Role.OPERATOR,)))
        departments = BUREAU_DEPARTMENTS if district in MAIN_DISTRICTS else [ENFORCEMENT]
        for department in departments:
            specs.append(
                StaffSpec(f"{slug}_{DEPARTMENT_SLUGS[department]}", district, (Role.HANDLER,), department)
            )
        specs.append(StaffSpec(f"{slug}_reviewer", district, (Role.REVIEWER,)))
        specs.append(StaffSpec(f"{slug}_head", district, (Role.HEAD,)))
    return specs


def demo_usernames() -> list[str]:
    return [spec.username for spec in staff_specs()]


def demo_staff_exists() -> bool:
    return User.objects.filter(username__in=demo_usernames()).exists()


def _agency_for(district: str | None) -> Agency:
    if district is None:
        return Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)
    return Agency.objects.get(kind=Agency.Kind.DISTRICT_BUREAU, region__name=district)


def _names(seed: int, count: int) -> list[str]:
    rng = random.Random(f"staff-{seed}")
    names: list[str] = []
    while len(names) < count:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
        if name not in names:
            names.append(name)
    return names


@transaction.atomic
def demo_staff_ensure(*, seed: int) -> list[User]:
    """Create the missing demo accounts through ``staff_create`` and bring existing ones back to their
    demo state (password, active, agency, department, roles). Existing accounts are kept, not deleted:
    the append-only audit trail refers to them.

    The password is hashed once and shared: hashing is deliberately slow, and seventy hashes would take
    most of the demo's loading time."""
    specs = staff_specs()
    hashed = make_password(DEMO_PASSWORD)
    agencies = {district: _agency_for(district) for district in {spec.district for spec in specs}}
    existing = {u.username: u for u in User.objects.filter(username__in=[spec.username for spec in specs])}
    users = []
    for spec, name in zip(specs, _names(seed, len(specs)), strict=True):
        agency = agencies[spec.district]
        department = Department.objects.get(agency=agency, name=spec.department) if spec.department else None
        user = existing.get(spec.username)
        if user is None:
            user = staff_create(
                username=spec.username,
                password=None,
                agency=agency,
                department=department,
                roles=spec.roles,
                display_name=name,
            )
        else:
            user.agency, user.department, user.is_active = agency, department, True
            user.is_staff = Role.ADMIN in spec.roles
            RoleGrant.objects.filter(user=user).exclude(role__in=spec.roles).delete()
            for role in spec.roles:
                RoleGrant.objects.get_or_create(user=user, role=role)
        validate_password(DEMO_PASSWORD, user)
        user.password = hashed
        user.save()
        users.append(user)
    return users


# ------------------------------------------------------------------------------------- logins table
@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    name: str
    agency: str
    roles: str


def demo_logins() -> list[DemoLogin]:
    order = {name: i for i, name in enumerate(demo_usernames())}
    users = (
        User.objects.filter(username__in=order)
        .select_related("agency", "department")
        .prefetch_related("roles")
    )
    logins = []
    for user in sorted(users, key=lambda u: order[u.username]):
        agency = user.agency.short_name or user.agency.name if user.agency else ""
        if user.department is not None:
            agency = f"{agency}·{user.department.name}"
        roles = "、".join(str(Role(grant.role).label) for grant in user.roles.all())
        logins.append(DemoLogin(user.username, DEMO_PASSWORD, user.display_name, agency, roles))
    return logins


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def logins_table(logins: list[DemoLogin]) -> str:
    """A plain-text table whose columns line up in a terminal (CJK characters are two columns wide)."""
    header = ("账号", "密码", "姓名", "机构", "角色")
    rows = [header] + [(x.username, x.password, x.name, x.agency, x.roles) for x in logins]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(header))]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [rule]
    for i, row in enumerate(rows):
        lines.append("| " + " | ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)) + " |")
        if i == 0:
            lines.append(rule)
    lines.append(rule)
    return "\n".join(lines)
