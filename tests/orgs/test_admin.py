"""The system administrator's Django admin: organisations, staff and roles; access by role; no case content
anywhere in the admin (separation of duties)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib import admin
from django.db import models
from django.test import Client
from django.urls import reverse

from eco12369.cases.models import Case
from eco12369.orgs.models import Agency, Department, Role, RoleGrant, User

pytestmark = pytest.mark.django_db

MakeUser = Callable[..., User]


@pytest.fixture
def admin_client_for(make_user: MakeUser) -> Client:
    client = Client()
    client.force_login(make_user("admin", district_name=None))
    return client


def roles_formset(*roles: str, prefix: str = "roles", initial: int = 0) -> dict[str, str]:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(roles)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, role in enumerate(roles):
        data[f"{prefix}-{i}-role"] = role
    return data


def test_no_model_holding_case_content_is_registered() -> None:
    """Neither the case nor anything that points to a case (timeline, replies, outbox, ...) is in the admin."""
    for model in admin.site._registry:
        assert model is not Case, "the Case model must not be in the admin"
        for field in model._meta.get_fields():
            related = getattr(field, "related_model", None)
            assert not (isinstance(field, models.ForeignKey | models.OneToOneField) and related is Case), (
                f"{model.__name__}.{field.name} exposes cases in the admin"
            )


def test_the_administrator_manages_organisations_and_the_calendar(admin_client_for: Client) -> None:
    page = admin_client_for.get(reverse("admin:index"))
    assert page.status_code == 200
    html = page.content.decode()
    for label in ("工作人员", "机构", "行政区", "承办部门", "工作日调整", "已录入节假日安排的年份"):
        assert label in html
    assert "/admin/cases/case/" not in html and "办理记录" not in html and "答复意见" not in html
    for name in ("orgs_user", "orgs_agency", "orgs_region", "orgs_department"):
        assert admin_client_for.get(reverse(f"admin:{name}_changelist")).status_code == 200
    agency = Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)
    page = admin_client_for.get(reverse("admin:orgs_agency_change", args=[agency.pk]))
    assert page.status_code == 200 and "举报受理科" in page.content.decode()  # departments inline


@pytest.mark.parametrize("roles", [("operator",), ("reviewer", "head"), ("auditor",)])
def test_other_staff_cannot_use_the_admin(make_user: MakeUser, roles: tuple[str, ...]) -> None:
    user = make_user(*roles)
    client = Client()
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    # Even marked as staff by mistake, the role decides: no module, no page.
    User.objects.filter(pk=user.pk).update(is_staff=True)
    assert "工作人员" not in client.get(reverse("admin:index")).content.decode()
    assert client.get(reverse("admin:orgs_user_changelist")).status_code == 403
    assert client.get(reverse("admin:cases_workdayoverride_changelist")).status_code == 403


def test_creating_a_staff_account_with_roles(admin_client_for: Client, tianjin: None) -> None:
    bureau = Agency.objects.get(region__name="南开区", kind=Agency.Kind.DISTRICT_BUREAU)
    department = bureau.departments.order_by("id").first()
    assert department is not None
    response = admin_client_for.post(
        reverse("admin:orgs_user_add"),
        {
            "username": "nk_handler",
            "display_name": "李四",
            "agency": bureau.pk,
            "department": department.pk,
            "password1": "Nankai-12369-handler",
            "password2": "Nankai-12369-handler",
            **roles_formset("handler"),
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="nk_handler")
    assert (user.agency, user.department, user.display_name) == (bureau, department, "李四")
    assert user.check_password("Nankai-12369-handler")
    assert user.role_set == {Role.HANDLER}
    assert not user.is_staff and not user.is_superuser

    # Granting the administrator role opens the admin to the account.
    response = admin_client_for.post(
        reverse("admin:orgs_user_add"),
        {
            "username": "city_admin2",
            "agency": Agency.objects.get(kind=Agency.Kind.CITY_CENTRE).pk,
            "password1": "Tj-Secure-Pass-7731",
            "password2": "Tj-Secure-Pass-7731",
            **roles_formset("admin"),
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(username="city_admin2").is_staff


def test_the_administrator_cannot_make_superusers_or_grant_django_permissions(
    admin_client_for: Client, make_user: MakeUser
) -> None:
    target = make_user("operator")
    html = admin_client_for.get(reverse("admin:orgs_user_change", args=[target.pk])).content.decode()
    assert 'name="is_superuser"' not in html
    assert 'name="user_permissions"' not in html and 'name="groups"' not in html
    assert 'name="roles-0-role"' in html


def test_administrator_and_business_roles_are_not_combined(admin_client_for: Client, tianjin: None) -> None:
    bureau = Agency.objects.get(region__name="南开区", kind=Agency.Kind.DISTRICT_BUREAU)
    response = admin_client_for.post(
        reverse("admin:orgs_user_add"),
        {
            "username": "both",
            "agency": bureau.pk,
            "password1": "Nankai-12369-both!",
            "password2": "Nankai-12369-both!",
            **roles_formset("admin", "operator"),
        },
    )
    assert response.status_code == 200
    assert "三员分立" in response.content.decode()
    assert not User.objects.filter(username="both").exists()
    assert not RoleGrant.objects.filter(user__username="both").exists()


def test_a_department_must_belong_to_the_agency(admin_client_for: Client, tianjin: None) -> None:
    bureau = Agency.objects.get(region__name="南开区", kind=Agency.Kind.DISTRICT_BUREAU)
    foreign = Department.objects.exclude(agency=bureau).order_by("id").first()
    assert foreign is not None
    response = admin_client_for.post(
        reverse("admin:orgs_user_add"),
        {
            "username": "wrongdept",
            "agency": bureau.pk,
            "department": foreign.pk,
            "password1": "Nankai-12369-wrong!",
            "password2": "Nankai-12369-wrong!",
            **roles_formset("handler"),
        },
    )
    assert response.status_code == 200
    assert "承办部门必须属于所选机构" in response.content.decode()
    assert not User.objects.filter(username="wrongdept").exists()
