"""Forms of the follow-up pages. They check the shape of the input; the rules are the services'."""

from __future__ import annotations

from typing import Any

from django import forms

from eco12369.cases.models import Category, Kind
from eco12369.formfields import PlainMessagesForm

from .models import Rating, ReplyTemplate
from .services import (
    COMMENT_MAX,
    DISMISS_NOTE_MISSING,
    DISMISS_NOTE_TOO_LONG,
    REOPEN_REASON_MISSING,
    REOPEN_REASON_TOO_LONG,
    REVIEW_TEXT_MAX,
)
from .templating import PLACEHOLDERS


def _textarea(rows: int = 3, placeholder: str = "") -> forms.Textarea:
    attrs: dict[str, Any] = {"rows": rows}
    if placeholder:
        attrs["placeholder"] = placeholder
    return forms.Textarea(attrs=attrs)


class RatingForm(PlainMessagesForm):
    level = forms.ChoiceField(
        label="您对办理结果是否满意",
        choices=Rating.Level.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择评价：满意、基本满意或不满意。", "invalid_choice": "请选择评价。"},
    )
    comment = forms.CharField(
        label="意见（选填）",
        required=False,
        max_length=COMMENT_MAX,
        widget=_textarea(3, "可以说明您满意或不满意的原因"),
        error_messages={"max_length": f"意见最多{COMMENT_MAX}个字。"},
    )


class ReopenForm(PlainMessagesForm):
    reason = forms.CharField(
        label="重新交办理由",
        max_length=REVIEW_TEXT_MAX,
        widget=_textarea(2, "说明需要重新办理的问题，将写入办理记录"),
        error_messages={"required": REOPEN_REASON_MISSING, "max_length": REOPEN_REASON_TOO_LONG},
    )


class DismissForm(PlainMessagesForm):
    note = forms.CharField(
        label="不予重办说明",
        max_length=REVIEW_TEXT_MAX,
        widget=_textarea(2, "说明答复意见成立、无需重新办理的理由"),
        error_messages={"required": DISMISS_NOTE_MISSING, "max_length": DISMISS_NOTE_TOO_LONG},
    )


HELP = "可用占位符：" + "、".join("{" + name + "}" for name in PLACEHOLDERS)


class ReplyTemplateForm(PlainMessagesForm):
    name = forms.CharField(label="模板名称", max_length=100)
    kind = forms.ChoiceField(label="适用类型", choices=[("", "全部类型"), *Kind.choices], required=False)
    category = forms.ChoiceField(
        label="适用污染类别", choices=[("", "全部类别"), *Category.choices], required=False
    )
    party_facts = forms.CharField(label="被举报对象基本情况", required=False, widget=_textarea(3))
    inspection = forms.CharField(label="现场检查及核实情况", required=False, widget=_textarea(3))
    violations = forms.CharField(label="存在的环境违法问题", required=False, widget=_textarea(3))
    decision = forms.CharField(label="环保部门处理意见", required=False, widget=_textarea(3))
    communication = forms.CharField(label="与举报人沟通答复情况", required=False, widget=_textarea(3))
    active = forms.BooleanField(label="启用", required=False, initial=True)

    @staticmethod
    def initial_for(template: ReplyTemplate) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(template, name) for name in ReplyTemplate.FIVE_PARTS}
        data.update(
            name=template.name, kind=template.kind, category=template.category, active=template.active
        )
        return data

    def parts(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in ReplyTemplate.FIVE_PARTS}
