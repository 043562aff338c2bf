"""Reads are scoped to the user: the city centre sees every case, a district bureau its district, the
administrator and the auditor none (separation of duties)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AnonymousUser
from pytest_django import DjangoAssertNumQueries

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.cases.selectors import case_get_for, cases_visible_to, reroute_targets_for
from eco12369.orgs.models import Agency, User
from eco12369.orgs.services import staff_create

from .conftest import Staff

pytestmark = pytest.mark.django_db

MakeCase = Callable[..., Case]


@pytest.fixture
def three(make_case: MakeCase) -> dict[str, Case]:
    return {"hp": make_case("和平区"), "hd": make_case("河东区"), "city": make_case(None)}


def visible(user: User | AnonymousUser) -> set[int]:
    return set(cases_visible_to(user=user).values_list("pk", flat=True))


def test_city_centre_staff_see_every_case(staff: Staff, three: dict[str, Case]) -> None:
    everything = {c.pk for c in three.values()}
    for user in (staff.city_op, staff.city_head, staff.city_reviewer):
        assert visible(user) == everything


def test_district_staff_see_their_district_only(staff: Staff, three: dict[str, Case]) -> None:
    for user in (staff.op, staff.handler, staff.handler2, staff.reviewer, staff.head):
        assert visible(user) == {three["hp"].pk}
    for user in (staff.op_hd, staff.handler_hd, staff.reviewer_hd, staff.head_hd):
        assert visible(user) == {three["hd"].pk}


def test_administrators_and_auditors_see_no_case(
    staff: Staff, three: dict[str, Case], make_user: Callable[..., User]
) -> None:
    assert visible(staff.admin) == set()
    assert visible(staff.auditor) == set()
    assert visible(make_user("admin", "auditor", district_name=None)) == set()  # even at the city centre
    assert case_get_for(user=staff.admin, number=three["hp"].number) is None


def test_nobody_else_sees_cases(staff: Staff, three: dict[str, Case]) -> None:
    assert visible(AnonymousUser()) == set()
    no_agency = staff_create(username="noagency", password=None, agency=None, roles=["operator"])
    assert visible(no_agency) == set()
    outside = staff_create(username="outsider", password=None, agency=staff.outside, roles=["operator"])
    assert visible(outside) == set()
    no_role = staff_create(username="norole", password=None, agency=staff.hp, roles=[])
    assert visible(no_role) == set()
    staff.op.is_active = False
    staff.op.save()
    assert visible(User.objects.get(pk=staff.op.pk)) == set()


def test_case_get_for_checks_access_in_the_same_query(
    staff: Staff, three: dict[str, Case], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    hp = three["hp"]
    user = User.objects.select_related("agency").get(pk=staff.op.pk)
    user.role_set
    with django_assert_num_queries(1):
        found = case_get_for(user=user, number=hp.number)
    assert found == hp
    assert case_get_for(user=staff.op, number=hp.number.lower()) == hp
    assert case_get_for(user=staff.op, number=three["hd"].number) is None
    assert case_get_for(user=staff.city_op, number=three["hd"].number) == three["hd"]
    assert case_get_for(user=staff.op, number="TJ00000000000000") is None


def test_visibility_follows_a_reroute(staff: Staff, three: dict[str, Case]) -> None:
    case = services.case_reroute(
        case=three["hp"], actor=staff.op, target_agency=staff.hd, reason="位于河东区"
    )
    assert case.pk not in visible(staff.op)
    assert case.pk in visible(staff.op_hd)
    assert case.pk in visible(staff.city_op)


def test_reroute_targets(staff: Staff, three: dict[str, Case]) -> None:
    targets = set(reroute_targets_for(case=three["hp"]))
    assert staff.hp not in targets and staff.hd in targets and staff.city in targets
    assert all(a.kind != Agency.Kind.OUTSIDE for a in targets)
    assert len(targets) == 16  # the city centre and the 15 other district bureaus
