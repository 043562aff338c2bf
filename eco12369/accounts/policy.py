"""Who must use a second factor (MLPS 2.0 level 3 identification): reviewers, heads, administrators,
auditors and every member of the city centre."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from eco12369.orgs.models import Role, User

OTP_ROLES = frozenset({Role.REVIEWER, Role.HEAD, Role.ADMIN, Role.AUDITOR})


def otp_enforced() -> bool:
    return bool(getattr(settings, "ECO_OTP_ENFORCE", True))


def otp_required_for(user: Any) -> bool:
    if not otp_enforced() or not isinstance(user, User) or not user.is_authenticated:
        return False
    return bool(user.role_set & OTP_ROLES) or user.is_city_centre or user.is_superuser
