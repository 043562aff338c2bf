"""Who may read the audit trail: the security auditor only (separation of duties, DESIGN §1)."""

from __future__ import annotations

from eco12369.orgs.models import Role, User


def can_view_audit_log(user: User) -> bool:
    return user.has_role(Role.AUDITOR)
