"""Forms of the monthly report pages."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from eco12369.formfields import PlainMessagesForm

from .figures import Month


def ended_months(count: int = 24) -> list[Month]:
    """The ``count`` most recent months that have ended, newest first."""
    month = Month.of(timezone.now()).previous()
    out = []
    for _ in range(count):
        out.append(month)
        month = month.previous()
    return out


class MonthField(forms.ChoiceField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(choices=self.month_choices, **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def month_choices() -> list[tuple[str, str]]:
        return [(m.key, m.label) for m in ended_months()]

    def to_python(self, value: object) -> Month | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            return Month.parse(text)
        except ValueError as exc:
            raise forms.ValidationError("月份格式不正确。") from exc

    def validate(self, value: object) -> None:
        if value is None and self.required:
            raise forms.ValidationError("请选择月份。")
        if isinstance(value, Month) and value.key not in {key for key, _ in self.month_choices()}:
            raise forms.ValidationError("只能选择已经结束的月份（最近24个月）。")


class GenerateForm(PlainMessagesForm):
    month = MonthField(label="月份")


class AnalysisForm(PlainMessagesForm):
    analysis = forms.CharField(
        label="分析说明",
        widget=forms.Textarea(
            attrs={"rows": 8, "placeholder": "本月举报办理情况的汇总与分析、存在的问题、下一步工作……"}
        ),
        max_length=10000,
        required=False,
    )


class ReturnForm(PlainMessagesForm):
    note = forms.CharField(label="退回意见", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class ApproveForm(PlainMessagesForm):
    note = forms.CharField(
        label="批示（可选）", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False
    )
