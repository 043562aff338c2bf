"""Forms of the oversight pages: they check the shape of the input; the rules are the services'."""

from __future__ import annotations

from typing import Any

from django import forms

from eco12369.cases.models import OPEN_STATES, State
from eco12369.formfields import PlainMessagesForm, bounded, plain_messages
from eco12369.orgs.models import Agency, Region

from .models import AssessmentScheme, SpotCheckItem, StaffMerit
from .periods import recent_months

ANY = [("", "全部")]


def _district_choices() -> list[tuple[str, str]]:
    return ANY + [
        (str(pk), name)
        for pk, name in Region.objects.filter(level=Region.Level.DISTRICT)
        .order_by("code")
        .values_list("pk", "name")
    ]


class SupervisionFilterForm(PlainMessagesForm):
    district = forms.TypedChoiceField(label="所属区", required=False, coerce=int, empty_value=None)
    state = forms.ChoiceField(
        label="状态",
        required=False,
        choices=ANY + [(s.value, s.label) for s in State if s in OPEN_STATES],
    )

    def __init__(self, *args: Any, city: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if city:
            self.fields["district"].choices = _district_choices()  # type: ignore[attr-defined]
        else:
            del self.fields["district"]


class SpotCheckDrawForm(PlainMessagesForm):
    month = forms.ChoiceField(label="抽查月份")
    per_district = forms.IntegerField(label="每区抽查件数", min_value=1, max_value=50, initial=5)
    seed = forms.IntegerField(
        label="抽样号",
        required=False,
        min_value=0,
        max_value=2**62,
        help_text="留空则自动生成；用同一抽样号再抽，得到相同的样本，便于核对。",
        error_messages={"max_value": "抽样号过大：请留空自动生成，或填写以前用过的抽样号。"},
    )
    note = forms.CharField(label="说明", required=False, max_length=500)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Newest first (this month, then the twelve before it); the last ended month is the default.
        months = recent_months(13)
        self.fields["month"].choices = [(p.key, p.label) for p in months]  # type: ignore[attr-defined]
        if not self.is_bound:
            self.initial.setdefault("month", months[1].key)


TRI_STATE = [("", "不适用"), ("1", "是"), ("0", "否")]


class SpotCheckReviewForm(PlainMessagesForm):
    on_time = forms.ChoiceField(label="按期办结", choices=TRI_STATE, required=False)
    reply_complete = forms.ChoiceField(label="答复意见要素齐全", choices=TRI_STATE, required=False)
    evidence = forms.ChoiceField(label="有调查取证材料", choices=TRI_STATE, required=False)
    reporter_informed = forms.ChoiceField(label="已告知举报人", choices=TRI_STATE, required=False)
    note = forms.CharField(
        label="抽查意见", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    @staticmethod
    def initial_for(item: SpotCheckItem) -> dict[str, str]:
        def tri(value: bool | None) -> str:
            return "" if value is None else ("1" if value else "0")

        data = {name: tri(getattr(item, name)) for name in SpotCheckItem.CHECKS}
        data["note"] = item.note
        return data

    def values(self) -> dict[str, bool | None]:
        return {
            name: None if self.cleaned_data[name] == "" else self.cleaned_data[name] == "1"
            for name in SpotCheckItem.CHECKS
        }


class AssessmentWeightsForm(forms.ModelForm):
    class Meta:
        model = AssessmentScheme
        fields = [*AssessmentScheme.WEIGHT_FIELDS, "repeat_threshold"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The ranges the service allows (oversight.services.assessment_scheme_update), said by the form.
        for name in AssessmentScheme.WEIGHT_FIELDS:
            bounded(self.fields[name], 0, 100)
        bounded(self.fields["repeat_threshold"], 2, None)
        plain_messages(self)


class GuidanceNoticeForm(PlainMessagesForm):
    title = forms.CharField(label="标题", max_length=200, error_messages={"required": "请填写通知标题。"})
    body = forms.CharField(
        label="正文",
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 10}),
        error_messages={"required": "请填写通知正文。"},
    )
    recipients = forms.ModelMultipleChoiceField(
        label="接收单位",
        required=False,
        queryset=Agency.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="不选择即发送全部区环境保护主管部门。",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipients"].queryset = Agency.objects.filter(  # type: ignore[attr-defined]
            kind=Agency.Kind.DISTRICT_BUREAU
        ).order_by("region__code", "name")


class StaffMeritForm(PlainMessagesForm):
    kind = forms.ChoiceField(
        label="类别", choices=StaffMerit.Kind.choices, error_messages={"required": "请选择类别。"}
    )
    period = forms.ChoiceField(label="所涉期间", error_messages={"required": "请选择所涉期间。"})
    reason = forms.CharField(
        label="事由",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "表彰或惩处的事由、依据"}),
        error_messages={"required": "请填写表彰或惩处的事由。"},
    )

    def __init__(self, *args: Any, periods: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = periods  # type: ignore[attr-defined]
