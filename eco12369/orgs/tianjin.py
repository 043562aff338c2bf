"""Tianjin's reference data: the city, its 16 districts, the city centre, one environmental bureau per
district with its handling departments, and the outside agencies cases are handed over to (Art. 5, 8).

``tianjin_load()`` is idempotent: it creates what is missing and leaves the rest alone.
"""

from __future__ import annotations

from django.db import transaction

from .models import Agency, Department, Region
from .places import CITY as CITY
from .places import DISTRICTS as DISTRICTS

CITY_CENTRE = "天津市环境保护举报受理中心"
CITY_CENTRE_DEPARTMENTS = ["举报受理科", "督查督办科"]
BUREAU_DEPARTMENTS = ["环境执法支队", "大气环境管理科", "水环境管理科", "固体废物与化学品管理科"]
OUTSIDE_AGENCIES = [
    "天津市城市管理委员会",
    "天津市水务局",
    "天津市公安局",
    "天津市住房和城乡建设委员会",
    "天津市市场监督管理委员会",
    "天津市交通运输委员会",
]


def bureau_name(district: str) -> str:
    return f"天津市{district}生态环境局"


@transaction.atomic
def tianjin_load() -> None:
    city, _ = Region.objects.get_or_create(
        code=CITY[0], defaults={"name": CITY[1], "level": Region.Level.CITY}
    )
    centre, _ = Agency.objects.get_or_create(
        name=CITY_CENTRE,
        defaults={
            "short_name": "市举报中心",
            "kind": Agency.Kind.CITY_CENTRE,
            "region": city,
            "phone": "12369",
        },
    )
    for name in CITY_CENTRE_DEPARTMENTS:
        Department.objects.get_or_create(agency=centre, name=name)
    for code, name in DISTRICTS:
        district, _ = Region.objects.get_or_create(
            code=code, defaults={"name": name, "level": Region.Level.DISTRICT, "parent": city}
        )
        bureau, _ = Agency.objects.get_or_create(
            name=bureau_name(name),
            defaults={
                "short_name": f"{name}生态环境局",
                "kind": Agency.Kind.DISTRICT_BUREAU,
                "region": district,
            },
        )
        for dept in BUREAU_DEPARTMENTS:
            Department.objects.get_or_create(agency=bureau, name=dept)
    for name in OUTSIDE_AGENCIES:
        Agency.objects.get_or_create(
            name=name,
            defaults={"short_name": name.removeprefix("天津市"), "kind": Agency.Kind.OUTSIDE, "region": city},
        )
