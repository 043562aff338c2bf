"""Reporter confidentiality (Art. 17): who may read a reporter's name and phone, and how they are masked
for everyone else. Reusable by any page or export that shows reporter data.
"""

from __future__ import annotations

from eco12369.orgs.models import User

from .models import Case

ANONYMOUS_LABEL = "匿名"


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***; empty stays empty."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str) -> str:
    """13812341234 → 138****1234; short numbers keep only their last two digits."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    if len(phone) >= 8:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * max(len(phone) - 2, 1) + phone[-2:]


def reporter_visible_to(*, user: User, case: Case) -> bool:
    """For now: staff of the agency that owns the case read the reporter's data in clear."""
    return bool(user.is_authenticated and user.agency_id is not None and user.agency_id == case.agency_id)


def reporter_display(*, user: User, case: Case) -> dict[str, str | bool]:
    """The reporter's name and phone as ``user`` may see them, and whether they are masked."""
    if case.anonymous:
        return {"name": ANONYMOUS_LABEL, "phone": "", "masked": False}
    if reporter_visible_to(user=user, case=case):
        return {"name": case.reporter_name, "phone": case.reporter_phone, "masked": False}
    return {"name": mask_name(case.reporter_name), "phone": mask_phone(case.reporter_phone), "masked": True}
