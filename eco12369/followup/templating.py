"""Reply templates (答复模板): placeholders, filling, and the outbound content rules a template must pass.

A template's five parts may contain placeholders in braces, e.g. ``{被举报对象}`` or ``{受理日期}``
(full-width braces are accepted and stored as ASCII ones). Unknown placeholders and unpaired braces are
refused on save with the list of known ones. Values the case does not know yet (the inspection date, a
department not assigned) are filled with a visible ``【请填写：…】`` marker for the handler to replace.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.utils import timezone

from eco12369.cases.models import Case
from eco12369.cases.unfilled import MISSING
from eco12369.compliance.content import content_check
from eco12369.orgs.models import User

from .selectors import reply_template_for_case_get


def _date(value: object) -> str:
    import datetime as dt

    if not isinstance(value, dt.datetime):
        return ""
    local = timezone.localtime(value)
    return f"{local.year}年{local.month}月{local.day}日"


# name → (what it is, how to get it from the case; "" means the handler fills it in)
PLACEHOLDERS: dict[str, tuple[str, Callable[[Case], str]]] = {
    "被举报对象": ("被举报单位或个人（举报人填写的名称）", lambda c: c.reported_party.strip()),
    "编号": ("举报件编号", lambda c: c.number),
    "机构": ("负责办理的环境保护主管部门", lambda c: c.agency.name),
    "承办部门": ("批转的承办部门", lambda c: c.department.name if c.department_id else ""),  # type: ignore[union-attr]
    "受理日期": ("受理日期，如2026年3月2日", lambda c: _date(c.accepted_at)),
    "接收日期": ("收到举报的日期", lambda c: _date(c.received_at)),
    "检查日期": ("现场检查日期（由承办人员填写）", lambda c: ""),
    "所在区": ("举报件所属区", lambda c: c.region.name),
    "地址": ("举报的地址", lambda c: c.address.strip()),
    "污染类别": ("大气、水、噪声、危险废物等", lambda c: c.get_category_display()),
}

_TOKEN = re.compile(r"\{([^{}]*)\}")
_FULLWIDTH = str.maketrans({"｛": "{", "｝": "}"})


def normalise(text: str) -> str:
    return (text or "").translate(_FULLWIDTH).replace("\r\n", "\n").strip()


def placeholder_errors(text: str) -> list[str]:
    """What is wrong with the placeholders of ``text`` (empty: nothing)."""
    text = normalise(text)
    errors: list[str] = []
    unknown = [name for name in _TOKEN.findall(text) if name.strip() not in PLACEHOLDERS]
    if unknown:
        names = "、".join(dict.fromkeys("{" + name + "}" for name in unknown))
        known = "、".join("{" + name + "}" for name in PLACEHOLDERS)
        errors.append(f"未知的占位符：{names}。可用的占位符：{known}。")
    rest = _TOKEN.sub("", text)
    if "{" in rest or "}" in rest:
        errors.append("花括号不成对：占位符应写成 {被举报对象} 这样的形式。")
    return errors


_PERSONAL = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{17}[\dXx])(?!\d)")


def template_check(text: str) -> list[str]:
    """The outbound content rules a reply template must pass, like any reply (empty list: it passes).

    Art. 16: no sensitive word of the editable list (``compliance.content``), as for any reply. Art. 17: a
    template is reused for many reporters, so it must not carry personal data (anything shaped like a
    mobile or landline number or an ID card number). Every template save goes through this function."""
    problems: list[str] = []
    words = content_check(normalise(text))
    if words:
        listed = "、".join(f"“{w}”" for w in words)
        problems.append(f"模板含有不得发送给举报人的内容（第十六条）：{listed}。")
    if _PERSONAL.search(normalise(text)):
        problems.append("模板中不能包含电话号码、身份证号码等个人信息（第十七条）。")
    return problems


def placeholder_values(case: Case) -> dict[str, str]:
    return {name: getter(case) for name, (_label, getter) in PLACEHOLDERS.items()}


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with its placeholders replaced; an unknown value becomes a visible 【请填写】 marker."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name not in values:
            return match.group(0)
        return values[name] or MISSING.format(name=name)

    return _TOKEN.sub(one, normalise(text))


def reply_template_prefill(*, user: object, case: Case, template_id: str | None) -> dict[str, str] | None:
    """The submit-reply form's initial five parts from a template the user may use on ``case``, filled
    with the case's values (None: no template chosen, or not one of the user's)."""
    if not template_id or not str(template_id).isdigit() or not isinstance(user, User):
        return None
    template = reply_template_for_case_get(user=user, case=case, pk=int(template_id))
    if template is None:
        return None
    values = placeholder_values(case)
    return {part: fill(getattr(template, part), values) for part in template.FIVE_PARTS}


def reply_template_merge(*, typed: dict[str, str], filled: dict[str, str]) -> dict[str, str]:
    """The parts of a reply after choosing a template: what the handler already typed is kept, the
    template fills only the parts still empty (choosing a template never loses typed text)."""
    merged = dict(typed)
    for part, text in filled.items():
        if not (typed.get(part) or "").strip():
            merged[part] = text
    return merged
