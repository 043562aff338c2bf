"""Writes to organisations and staff."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from .models import Agency, Department, Role, RoleGrant, User


@transaction.atomic
def staff_create(
    *,
    username: str,
    password: str | None,
    agency: Agency | None,
    roles: Iterable[str],
    department: Department | None = None,
    display_name: str = "",
) -> User:
    if department is not None and agency is not None and department.agency_id != agency.pk:
        raise ValueError("department must belong to the agency")
    user = User(username=username, agency=agency, department=department, display_name=display_name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.is_staff = Role.ADMIN in set(roles)
    user.save()
    for role in roles:
        RoleGrant.objects.create(user=user, role=Role(role))
    return User.objects.get(pk=user.pk)
