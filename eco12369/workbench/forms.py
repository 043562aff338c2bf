"""Forms of the workbench: login, search, and one form per workflow action (DESIGN §3).

Forms only check the shape of the input; the rules (who, when, which state) are the state machine's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator, MaxValueValidator
from django.db.models import QuerySet
from django.forms import BoundField
from django.utils import timezone
from django.utils.translation import gettext as _

from eco12369.cases.deadlines import setting as deadline_setting
from eco12369.cases.models import (
    TEXT_MAX,
    Action,
    Case,
    Category,
    Channel,
    Extension,
    Kind,
    Source,
    State,
    SupervisionOrder,
)
from eco12369.cases.public import PUBLIC_SUMMARY_MAX_LENGTH
from eco12369.cases.selectors import case_get_for
from eco12369.cases.workflow import extension_days_used, pending_reply
from eco12369.followup.models import Rating
from eco12369.formfields import date_field, plain_messages
from eco12369.orgs.models import Agency, Department, Region, User

from .queues import CASE_ROLES

EMPTY_CHOICE = [("", "—— 不变 ——")]
PUBLIC_SUMMARY_HELP = (
    f"选填，{PUBLIC_SUMMARY_MAX_LENGTH}字以内：在每月举报办理情况中向社会公开的一句话概要"
    "（反映的问题、核查结果和处理情况）。不得包含举报人姓名、电话等个人信息；未填写的，公开“反映××环境问题”。"
)
ANY_CHOICE = [("", "全部")]
SUPERVISION_ANSWER_DAYS = dt.timedelta(days=7)  # the answer date a supervision order proposes


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label="用户名",
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label="密码", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    error_messages = {
        "invalid_login": "用户名或密码不正确。",
        "inactive": "该账号已停用。",
    }


def _textarea(rows: int = 3, placeholder: str = "") -> forms.Textarea:
    attrs: dict[str, Any] = {"rows": rows}
    if placeholder:
        attrs["placeholder"] = placeholder
    return forms.Textarea(attrs=attrs)


# ------------------------------------------------------------------------------- action forms
class ActionForm(forms.Form):
    """Base of the action forms: knows the case and the user, for choices that depend on them."""

    def __init__(self, *args: Any, case: Case, user: User, **kwargs: Any) -> None:
        self.case = case
        self.user = user
        kwargs.setdefault("prefix", self.prefix_name)
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # every staff text has the one length limit (issue 11, L7)
            if isinstance(field, forms.CharField) and field.max_length is None:
                field.max_length = TEXT_MAX
                field.validators.append(MaxLengthValidator(TEXT_MAX))
                field.widget.attrs["maxlength"] = str(TEXT_MAX)
        self.setup()
        plain_messages(self)  # messages that name the field (issue 12, D12)

    prefix_name = ""
    title = ""  # the action's name on the page when it differs from the rule's (改派 for a re-assignment)

    def setup(self) -> None:
        """Fill choices that depend on the case or the user."""


class AcceptForm(ActionForm):
    prefix_name = "accept"
    kind = forms.ChoiceField(label="类型", choices=EMPTY_CHOICE + list(Kind.choices), required=False)
    category = forms.ChoiceField(
        label="污染类别", choices=EMPTY_CHOICE + list(Category.choices), required=False
    )
    note = forms.CharField(label="受理说明", required=False, widget=_textarea(2))
    scope_confirmed = forms.BooleanField(
        label="确认属于受理范围",
        required=False,
        help_text="污染类别为“其他”的举报，经核实属于环境保护主管部门职责范围的，勾选后受理（第六条、第七条）。",
    )


class AnswerForm(ActionForm):
    prefix_name = "answer"
    kind = forms.ChoiceField(label="类型", choices=EMPTY_CHOICE + list(Kind.choices), required=False)
    category = forms.ChoiceField(
        label="污染类别", choices=EMPTY_CHOICE + list(Category.choices), required=False
    )
    text = forms.CharField(
        label="答复意见",
        widget=_textarea(4, "不属于受理范围的举报、咨询、建议等事项的答复内容，经审核后发送给举报人"),
    )


class HandOverForm(ActionForm):
    prefix_name = "hand_over"
    handover_agency = forms.ModelChoiceField(label="移交机构", queryset=Agency.objects.none())
    text = forms.CharField(
        label="告知举报人的内容", widget=_textarea(3, "说明移交原因及承办机构，经审核后告知举报人")
    )

    def setup(self) -> None:
        field = self.fields["handover_agency"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Agency.objects.filter(kind=Agency.Kind.OUTSIDE).order_by("name")


class EscalateForm(ActionForm):
    prefix_name = "escalate"
    reason = forms.CharField(label="申请理由", widget=_textarea(3, "说明超出本级管理权限的原因"))


class SendBackForm(ActionForm):
    prefix_name = "send_back"
    reason = forms.CharField(
        label="退单理由",
        max_length=500,
        widget=_textarea(3, "说明为什么不属于本部门办理，如：地点属河西区、应由执法支队办理"),
    )


class RerouteForm(ActionForm):
    prefix_name = "reroute"
    target_agency = forms.ModelChoiceField(label="改派至", queryset=Agency.objects.none())
    reason = forms.CharField(label="改派理由", widget=_textarea(2))

    def setup(self) -> None:
        field = self.fields["target_agency"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            Agency.objects.filter(kind__in=(Agency.Kind.CITY_CENTRE, Agency.Kind.DISTRICT_BUREAU))
            .exclude(pk=self.case.agency_id)
            .order_by("region__code", "kind")
        )


class MarkDuplicateForm(ActionForm):
    """The one form of marking a duplicate (Art. 14): the oversight duplicates page links here."""

    prefix_name = "mark_duplicate"
    duplicate_of = forms.CharField(
        label="原举报件编号", max_length=32, help_text="标记后本件办结，系统告知举报人原举报件编号。"
    )

    def clean_duplicate_of(self) -> Case:
        number = self.cleaned_data["duplicate_of"].strip().upper()
        original = case_get_for(user=self.user, number=number)
        if original is None:
            raise forms.ValidationError("未找到该编号的举报件。")
        return original


class AssignForm(ActionForm):
    prefix_name = "assign"
    department = forms.ModelChoiceField(label="承办部门", queryset=Department.objects.none())
    note = forms.CharField(label="批转意见", required=False, widget=_textarea(2))

    def setup(self) -> None:
        field = self.fields["department"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Department.objects.filter(agency_id=self.case.agency_id).order_by("id")
        field.label_from_instance = lambda obj: str(obj.name)  # type: ignore[method-assign]
        field.empty_label = _("请选择承办部门")
        if self.case.department_id:
            # Already with a department: this is 改派 (issue 12, D17): another department, with a reason.
            self.title = str(_("改派承办部门"))
            field.queryset = field.queryset.exclude(pk=self.case.department_id)
            field.label = _("改派至")
            field.empty_label = _("请选择新的承办部门")
            note = self.fields["note"]
            note.label, note.required = _("改派理由"), True


class SubmitReplyForm(ActionForm):
    """Art. 10: the five required parts of a handling reply."""

    prefix_name = "submit_reply"
    party_facts = forms.CharField(label="被举报对象基本情况", widget=_textarea(5))
    inspection = forms.CharField(label="现场检查及核实情况", widget=_textarea(7))
    violations = forms.CharField(
        label="存在的环境违法问题", widget=_textarea(5, "未发现违法问题的，请写明“未发现”")
    )
    decision = forms.CharField(label="环保部门处理意见", widget=_textarea(5))
    communication = forms.CharField(
        label="与举报人沟通答复情况",
        widget=_textarea(4),
        help_text="本部分供审核和抽查，不发送给举报人（第十条、第十七条）。",
    )
    public_summary = forms.CharField(
        label="公开摘要",
        required=False,
        max_length=PUBLIC_SUMMARY_MAX_LENGTH,
        widget=_textarea(3, "如：反映某化工企业夜间排放废水，经查属实，已责令改正并立案处罚。"),
        help_text=PUBLIC_SUMMARY_HELP,
    )


class ApproveForm(ActionForm):
    prefix_name = "approve"
    public_summary = forms.CharField(
        label="公开摘要",
        required=False,
        max_length=PUBLIC_SUMMARY_MAX_LENGTH,
        widget=_textarea(2),
        help_text=PUBLIC_SUMMARY_HELP + "审核同意后以此处内容为准。",
    )
    note = forms.CharField(label="审核意见", required=False, widget=_textarea(2, "同意"))

    def setup(self) -> None:
        # The drafter's proposal (or the case's current summary, e.g. of a case handled again).
        reply = pending_reply(self.case)
        drafted = reply.public_summary if reply is not None else ""
        self.fields["public_summary"].initial = drafted or self.case.public_summary


class ReturnForm(ActionForm):
    prefix_name = "return"
    note = forms.CharField(label="退回意见", widget=_textarea(2, "说明需要修改的内容"))


class RequestExtensionForm(ActionForm):
    prefix_name = "request_extension"
    days = forms.IntegerField(label="延长天数", min_value=1)
    reason = forms.CharField(label="延期理由", widget=_textarea(2, "情况复杂或有特殊情况的具体说明"))

    def setup(self) -> None:
        """The days left of the 30 (Art. 12) are the limit, and the message says how many (issue 12, D12)."""
        cap = int(deadline_setting("MAX_EXTENSION_DAYS"))
        used = extension_days_used(self.case)
        left = max(cap - used, 0)
        field = self.fields["days"]
        assert isinstance(field, forms.IntegerField)
        field.max_value = left
        field.validators = [v for v in field.validators if not isinstance(v, MaxValueValidator)]
        field.validators.append(MaxValueValidator(left))
        field.widget.attrs["max"] = left
        field.help_text = _("延期总计不超过%(cap)d日，已延期%(used)d日，还可申请%(left)d日。") % {
            "cap": cap,
            "used": used,
            "left": left,
        }
        field.error_messages["max_value"] = _(
            "延期总计不得超过%(cap)d日，已延期%(used)d日，最多还可申请%(left)d日。"
        ) % {"cap": cap, "used": used, "left": left}
        field.error_messages["min_value"] = _("延长天数至少为1天。")


class DecideExtensionForm(ActionForm):
    prefix_name = "decide_extension"
    extension = forms.ModelChoiceField(label="延期申请", queryset=Extension.objects.none(), empty_label=None)
    approved = forms.TypedChoiceField(
        label="审批结果",
        choices=[("1", "批准延期"), ("0", "不予批准")],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
        initial="1",
    )
    note = forms.CharField(label="批示", required=False, widget=_textarea(2))

    def setup(self) -> None:
        field = self.fields["extension"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Extension.objects.filter(case=self.case, status=Extension.Status.PENDING)
        field.label_from_instance = lambda obj: f"延长{obj.days}日：{obj.reason}"  # type: ignore[method-assign]


class SuperviseForm(ActionForm):
    """The one form of a supervision order (Art. 14): the oversight lists link here."""

    prefix_name = "supervise"
    instruction = forms.CharField(label="督办意见", max_length=2000, widget=_textarea(4, "督办事项和要求"))
    # ISO, as <input type="date"> takes it (the zh-hans default is 2026/12/14, which it would show empty).
    answer_due = forms.DateField(
        label="回复期限", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )

    def setup(self) -> None:
        if not self.is_bound:
            self.initial.setdefault("answer_due", timezone.localdate() + SUPERVISION_ANSWER_DAYS)


class AnswerSupervisionForm(ActionForm):
    """The one form of answering a supervision order: the oversight order list links here."""

    prefix_name = "answer_supervision"
    order = forms.ModelChoiceField(label="督办单", queryset=SupervisionOrder.objects.none(), empty_label=None)
    answer = forms.CharField(label="办理情况回复", max_length=4000, widget=_textarea(4, "督办事项的办理情况"))

    def setup(self) -> None:
        field = self.fields["order"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = SupervisionOrder.objects.filter(case=self.case, answered_at__isnull=True)
        field.label_from_instance = lambda obj: (  # type: ignore[method-assign]
            f"{obj.issued_at:%Y-%m-%d} 督办（{obj.answer_due:%m月%d日}前回复）"
        )


ACTION_FORMS: dict[Action, type[ActionForm]] = {
    Action.ACCEPT: AcceptForm,
    Action.ANSWER: AnswerForm,
    Action.HAND_OVER: HandOverForm,
    Action.ESCALATE: EscalateForm,
    Action.REROUTE: RerouteForm,
    Action.MARK_DUPLICATE: MarkDuplicateForm,
    Action.ASSIGN: AssignForm,
    Action.SEND_BACK: SendBackForm,
    Action.SUBMIT_REPLY: SubmitReplyForm,
    Action.APPROVE: ApproveForm,
    Action.RETURN: ReturnForm,
    Action.REQUEST_EXTENSION: RequestExtensionForm,
    Action.DECIDE_EXTENSION: DecideExtensionForm,
    Action.SUPERVISE: SuperviseForm,
    Action.ANSWER_SUPERVISION: AnswerSupervisionForm,
}


# ------------------------------------------------------------------------------------- search
YES_NO = [("", "全部"), ("yes", "是"), ("no", "否")]


# The search form's drop-downs, in the order of the page (``SearchForm.selects``).
SELECT_FIELDS = (
    "district",
    "state",
    "kind",
    "category",
    "agency",
    "department",
    "person",
    "channel",
    "source",
    "timing",
    "supervised",
    "duplicate",
    "satisfaction",
)


@dataclass(frozen=True)
class SearchSelect:
    """One drop-down of the search form: its field and its options (value, label, selected)."""

    field: BoundField
    options: list[tuple[str, str, bool]]


class SearchForm(forms.Form):
    q = forms.CharField(
        label="关键词",
        required=False,
        max_length=100,
        help_text="在举报内容、公开摘要、被举报对象和地址中查找",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "如：异味、某化工厂、解放南路"}),
    )
    number = forms.CharField(label="编号", required=False, max_length=32)
    district = forms.ModelChoiceField(
        label="所属区", queryset=Region.objects.none(), required=False, empty_label="全部"
    )
    kind = forms.ChoiceField(label="类型", choices=ANY_CHOICE + list(Kind.choices), required=False)
    category = forms.ChoiceField(
        label="污染类别", choices=ANY_CHOICE + list(Category.choices), required=False
    )
    state = forms.ChoiceField(label="状态", choices=ANY_CHOICE + list(State.choices), required=False)
    # Dates of the platform's years only (``formfields.date_field``): a day's arithmetic and the database's
    # conversion to UTC overflow far outside them.
    received_from = date_field("接收日期自")
    received_to = date_field("接收日期至")
    reported_party = forms.CharField(label="被举报对象", required=False, max_length=100)
    agency = forms.ModelChoiceField(
        label="责任机构", queryset=Agency.objects.none(), required=False, empty_label="全部"
    )
    department = forms.ModelChoiceField(
        label="承办部门", queryset=Department.objects.none(), required=False, empty_label="全部"
    )
    person = forms.ModelChoiceField(
        label="经办人",
        queryset=User.objects.none(),
        required=False,
        empty_label="全部",
        help_text="本机构在办理记录中经手过该件的人员（受理、批转、办理、审核等）",
    )
    channel = forms.ChoiceField(label="渠道", choices=ANY_CHOICE + list(Channel.choices), required=False)
    source = forms.ChoiceField(label="转办来源", choices=ANY_CHOICE + list(Source.choices), required=False)
    due_from = date_field("期限自")
    due_to = date_field("期限至")
    timing = forms.ChoiceField(
        label="期限状态",
        choices=[("", "全部"), ("due_soon", "即将超期"), ("overdue", "已超期")],
        required=False,
    )
    supervised = forms.ChoiceField(label="督办件", choices=YES_NO, required=False)
    duplicate = forms.ChoiceField(label="重复举报", choices=YES_NO, required=False)
    satisfaction = forms.ChoiceField(
        label="回访评价",
        choices=[("", "全部"), *Rating.Level.choices, ("none", "未评价")],
        required=False,
    )
    # The column the list is sorted by (workbench/lists.py checks it against the columns' whitelist).
    sort = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scoped: dict[str, QuerySet[Any]] = {
            "district": districts_visible_to(user),
            "agency": agencies_visible_to(user),
            "department": Department.objects.filter(agency__in=agencies_visible_to(user))
            .select_related("agency")
            .order_by("agency__name", "name"),
            "person": people_of_agency(user),
        }
        for name, queryset in scoped.items():
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = queryset
        person = self.fields["person"]
        assert isinstance(person, forms.ModelChoiceField)
        person.label_from_instance = lambda obj: (  # type: ignore[method-assign]
            f"{obj.display_name}（{obj.username}）" if obj.display_name else str(obj.username)
        )

    def selects(self) -> list[SearchSelect]:
        """The drop-downs of the filter form as plain lists, which the search template loops over.

        Django's ``Select`` widget renders every option through its own template (with its attributes'
        template): the form's 13 lists, a city's districts, agencies, departments and staff among them,
        took about 50 ms of the page's 130 ms at the bench. The page's loop writes the same HTML (the tests
        compare it with the widgets'): the choices are read once, each field's query runs once."""
        out = []
        for name in SELECT_FIELDS:
            bound = self[name]
            value = bound.value()
            current = "" if value is None else str(value)
            options: list[tuple[str, str, bool]] = []
            taken = False  # one selected option, as the widget does
            for choice, label in _choices(bound.field):
                option = str(choice)
                chosen = not taken and option == current
                taken = taken or chosen
                options.append((option, str(label), chosen))
            out.append(SearchSelect(bound, options))
        return out

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("received", "due"):
            start: dt.date | None = data.get(f"{name}_from")
            end: dt.date | None = data.get(f"{name}_to")
            if start and end and start > end:
                raise forms.ValidationError("开始日期不能晚于结束日期。")
        return data


def _choices(field: forms.Field) -> list[tuple[Any, Any]]:
    """The choices of a drop-down, as its widget lists them. A model's are read in one plain query, not
    through ``ModelChoiceIterator``'s server-side cursor (three round trips to the database)."""
    if isinstance(field, forms.ModelChoiceField):
        empty = [] if field.empty_label is None else [("", field.empty_label)]
        rows = list(field.queryset) if field.queryset is not None else []
        return empty + [(field.prepare_value(obj), field.label_from_instance(obj)) for obj in rows]
    assert isinstance(field, forms.ChoiceField)
    choices: list[tuple[Any, Any]] = list(field.choices)  # type: ignore[arg-type]  # flat, not grouped
    return choices


def people_of_agency(user: User) -> QuerySet[User]:
    """The people the 经办人 filter offers: the active case workers of the user's own agency only."""
    if user.agency_id is None:
        return User.objects.none()
    return (
        User.objects.filter(agency_id=user.agency_id, is_active=True, roles__role__in=CASE_ROLES)
        .distinct()
        .order_by("username")
    )


def agencies_visible_to(user: User) -> QuerySet[Agency]:
    """The agencies whose cases ``user`` may see (the search's 责任机构 choices)."""
    agencies = Agency.objects.filter(
        kind__in=(Agency.Kind.CITY_CENTRE, Agency.Kind.DISTRICT_BUREAU)
    ).order_by("region__code", "kind")
    agency = user.agency
    if agency is None:
        return agencies.none()
    if agency.kind == Agency.Kind.CITY_CENTRE:
        return agencies
    return agencies.filter(region_id=agency.region_id)


def districts_visible_to(user: User) -> QuerySet[Region]:
    districts = Region.objects.filter(level=Region.Level.DISTRICT).order_by("code")
    agency = user.agency
    if agency is None:
        return districts.none()
    if agency.kind == Agency.Kind.CITY_CENTRE:
        return districts
    return districts.filter(pk=agency.region_id)
