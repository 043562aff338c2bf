"""Form fields' error messages that say what is wrong, in plain Chinese (issue 12, D12): "请填写月份。",
"每区抽查件数须在1至50之间。", "所选的承办部门无效，请重新选择。", not Django's "这个字段是必填项。",
"确保该值小于或等于50。" or "选择一个有效的选项。". Every form of the staff pages goes through
``plain_messages``; a message a field sets itself is kept. ``bounded`` gives a number field its allowed
range (checked, shown to the browser, and named in the message).

The dates a user may type or a link may carry are those of ``FIRST_YEAR`` to ``LAST_YEAR`` (``day_allowed``):
``date_field`` is a form's date field with that range, and the workbench's list cursors and the oversight
periods check the same rule. A date far outside it (0001-01-01, 9999-12-31) would overflow a day's
arithmetic or its conversion to UTC in the database: it is refused with a message instead."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext as _

# The years a date of the platform may fall in (a holiday calendar's year, a statistics month, a search's
# dates, a list's cursor, an oversight period).
FIRST_YEAR, LAST_YEAR = 2000, 2100
FIRST_DAY, LAST_DAY = dt.date(FIRST_YEAR, 1, 1), dt.date(LAST_YEAR, 12, 31)


def day_allowed(day: dt.date) -> bool:
    """Whether ``day`` (a date, or a datetime's date) is within ``FIRST_DAY`` to ``LAST_DAY``."""
    if isinstance(day, dt.datetime):
        day = day.date()
    return FIRST_DAY <= day <= LAST_DAY


def day_label(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def dates_message(label: str) -> str:
    """The message of a date outside the platform's years: "接收日期至须在2000年1月1日至2100年12月31日之间。"."""
    return _range_message(label, day_label(FIRST_DAY), day_label(LAST_DAY))


def _defaults(field: forms.Field) -> dict[str, Any]:
    """The messages Django gives ``field`` when none is set (as ``Field.__init__`` gathers them)."""
    messages: dict[str, Any] = {}
    for cls in reversed(type(field).__mro__):
        messages.update(getattr(cls, "default_error_messages", {}))
    return messages


def _range_message(label: str, low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return _("%(label)s须在%(low)s至%(high)s之间。") % {"label": label, "low": low, "high": high}
    if low is not None:
        return _("%(label)s不能小于%(low)s。") % {"label": label, "low": low}
    return _("%(label)s不能大于%(high)s。") % {"label": label, "high": high}


def field_messages(field: forms.Field) -> None:
    """Give ``field`` messages that name it and say what is allowed, where it has Django's own."""
    # Django formats some messages with their parameters (%(limit_value)s): a label's % stays text.
    label = str(field.label or _("此项")).replace("%", "％")
    choosing = isinstance(field, forms.ChoiceField)  # a ModelChoiceField is one too
    messages: dict[str, str] = {
        "required": (_("请选择%(label)s。") if choosing else _("请填写%(label)s。")) % {"label": label},
        "invalid_choice": _("所选的%(label)s无效，请重新选择。") % {"label": label},
        "invalid_list": _("请选择%(label)s。") % {"label": label},
        "invalid": (
            _("%(label)s须填写整数。")
            if isinstance(field, forms.IntegerField)
            else _("%(label)s的格式不正确。")
        )
        % {"label": label},
    }
    max_length = getattr(field, "max_length", None)
    if max_length is not None:
        messages["max_length"] = _("%(label)s最多%(limit)d个字，请删减后再提交。") % {
            "label": label,
            "limit": max_length,
        }
    low, high = getattr(field, "min_value", None), getattr(field, "max_value", None)
    if low is not None or high is not None:
        messages["min_value"] = messages["max_value"] = _range_message(label, low, high)
    defaults = _defaults(field)
    for key, message in messages.items():
        current = field.error_messages.get(key)
        if current is not None and current is not defaults.get(key):
            continue  # the field's own message
        field.error_messages[key] = message


def plain_messages(form: forms.BaseForm) -> None:
    """``field_messages`` for every field of ``form`` (call it at the end of the form's ``__init__``)."""
    for field in form.fields.values():
        field_messages(field)


def bounded(field: forms.Field, low: int | None, high: int | None) -> None:
    """Set a number field's allowed range: validated, given to the browser, and named by its message."""
    assert isinstance(field, forms.IntegerField)
    field.min_value, field.max_value = low, high
    field.validators = [
        v for v in field.validators if not isinstance(v, MinValueValidator | MaxValueValidator)
    ]
    for key, limit, validator in (("min", low, MinValueValidator), ("max", high, MaxValueValidator)):
        if limit is not None:
            field.validators.append(validator(limit))
            field.widget.attrs[key] = limit
        else:
            field.widget.attrs.pop(key, None)
    for key in ("min_value", "max_value"):
        field.error_messages.pop(key, None)
    field_messages(field)  # the message names the new range


def date_field(label: str, *, required: bool = False) -> forms.DateField:
    """A date field (the browser's date picker) that accepts only ``FIRST_DAY`` to ``LAST_DAY``, with
    messages that name it: "接收日期至须在2000年1月1日至2100年12月31日之间。"."""
    field = forms.DateField(
        label=label,
        required=required,
        widget=forms.DateInput(
            attrs={"type": "date", "min": FIRST_DAY.isoformat(), "max": LAST_DAY.isoformat()}
        ),
    )
    field.validators.append(MinValueValidator(FIRST_DAY, message=dates_message(label)))
    field.validators.append(MaxValueValidator(LAST_DAY, message=dates_message(label)))
    field_messages(field)
    return field


class PlainMessagesForm(forms.Form):
    """A form whose fields say what is wrong in plain Chinese (``plain_messages``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain_messages(self)
