from __future__ import annotations

from typing import Any

from django import template

from eco12369.cases.models import Case
from eco12369.orgs.models import User

from ..selectors import reply_templates_for_case

register = template.Library()


@register.simple_tag(takes_context=True)
def reply_template_choices(context: Any, case: Case) -> list[Any]:
    """The reply templates the signed-in user may use on ``case`` (own bureau's and the city's)."""
    user = context.get("user")
    if not isinstance(user, User):
        return []
    return list(reply_templates_for_case(user=user, case=case))
