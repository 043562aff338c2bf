"""The audit log's filters: events by their names, the account, the object (a case number…) and dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .display import action_choices


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("事件"), required=False)
    actor = forms.CharField(label=_("账号"), required=False, max_length=150)
    object = forms.CharField(
        label=_("对象"), required=False, max_length=64, help_text=_("举报件编号、账号编号等，完整填写")
    )
    start = forms.DateField(
        label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("全部事件")), *action_choices()]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start: dt.date | None = data.get("start")
        end: dt.date | None = data.get("end")
        if start and end and start > end:
            raise forms.ValidationError(_("起始日期不能晚于截止日期。"))
        return data
