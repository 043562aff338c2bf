"""Tianjin's reference data and staff accounts."""

from __future__ import annotations

import pytest

from eco12369.orgs.models import Agency, Department, Region, Role, User
from eco12369.orgs.services import staff_create
from eco12369.orgs.tianjin import BUREAU_DEPARTMENTS, DISTRICTS, OUTSIDE_AGENCIES, tianjin_load

pytestmark = pytest.mark.django_db


def test_tianjin_has_a_city_centre_and_one_bureau_with_departments_per_district() -> None:
    tianjin_load()
    assert Region.objects.filter(level=Region.Level.DISTRICT).count() == len(DISTRICTS) == 16
    centre = Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)
    assert centre.name == "天津市环境保护举报受理中心" and centre.region.level == Region.Level.CITY
    for code, name in DISTRICTS:
        bureau = Agency.objects.get(kind=Agency.Kind.DISTRICT_BUREAU, region__code=code)
        assert bureau.region.name == name and bureau.region.parent == centre.region
        assert sorted(bureau.departments.values_list("name", flat=True)) == sorted(BUREAU_DEPARTMENTS)
    assert Agency.objects.filter(kind=Agency.Kind.OUTSIDE).count() == len(OUTSIDE_AGENCIES)
    assert all(a.handles_cases for a in Agency.objects.exclude(kind=Agency.Kind.OUTSIDE))
    assert not any(a.handles_cases for a in Agency.objects.filter(kind=Agency.Kind.OUTSIDE))


def test_loading_twice_changes_nothing() -> None:
    tianjin_load()
    counts = (Region.objects.count(), Agency.objects.count(), Department.objects.count())
    tianjin_load()
    assert (Region.objects.count(), Agency.objects.count(), Department.objects.count()) == counts


def test_staff_create(tianjin: None) -> None:
    bureau = Agency.objects.get(region__name="河西区", kind=Agency.Kind.DISTRICT_BUREAU)
    department = bureau.departments.order_by("id").first()
    user = staff_create(
        username="hx_handler",
        password="Hexi-12369-handler",
        agency=bureau,
        department=department,
        roles=["handler", "operator"],
        display_name="王五",
    )
    assert isinstance(user, User)
    assert user.role_set == {Role.HANDLER, Role.OPERATOR}
    assert user.has_role(Role.OPERATOR) and not user.has_role(Role.REVIEWER)
    assert user.check_password("Hexi-12369-handler") and not user.is_staff
    assert not user.is_city_centre and str(user) == "王五"
    assert user.role_labels == ["平台操作人员", "承办人员"]

    admin = staff_create(username="sysadmin", password=None, agency=None, roles=["admin"])
    assert admin.is_staff and not admin.has_usable_password()

    other = Agency.objects.get(region__name="河东区", kind=Agency.Kind.DISTRICT_BUREAU)
    with pytest.raises(ValueError):
        staff_create(username="x", password=None, agency=other, department=department, roles=["handler"])
    assert not User.objects.filter(username="x").exists()
