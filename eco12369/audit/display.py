"""The audit trail as people read it (issue 12, D4): Chinese names of the events, objects named by their
number or the person's name (not "user 20"), and the details as labelled text instead of Python dicts.

The apps above register the names of their own events and codes (``register_action_labels``,
``register_value_labels``) from their ``AppConfig.ready``, so the audit app never imports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from eco12369.orgs.models import User

from .models import AuditAction, AuditEntry

ACTION_LABELS: dict[str, Any] = {
    **dict(AuditAction.choices),
    "case.receive": _("接收举报"),  # the cases app registers the other ``case.<action>`` names
}

OBJECT_LABELS: dict[str, Any] = {
    "case": _("举报件"),
    "user": _("账号"),
    "monthly_report": _("月报"),
    "assessment": _("考核"),
    "assessment_scheme": _("考核方案"),
    "spot_check": _("抽查"),
    "spot_check_item": _("抽查件"),
    "guidance_notice": _("业务指导"),
    "staff_merit": _("表彰与惩处"),
    "outbox": _("告知消息"),
    "api_key": _("接口密钥"),
    "wechat": _("微信对话"),
    "reply_template": _("答复模板"),
}

DETAIL_LABELS: dict[str, Any] = {
    "reason": _("理由"),
    "fields": _("字段"),
    "from": _("原状态"),
    "to": _("新状态"),
    "format": _("格式"),
    "title": _("标题"),
    "filters": _("筛选条件"),
    "summary": _("摘要"),
    "edited": _("已修改"),
    "channel": _("渠道"),
    "prefix": _("前缀"),
    "case": _("举报件"),
    "roles": _("角色"),
    "added": _("增加"),
    "removed": _("去除"),
    "action": _("操作"),
    "count": _("数量"),
    "note": _("备注"),
    "rows": _("行数"),
    "name": _("名称"),
    "previous_name": _("原名称"),
    "changed": _("修改的项目"),
    "rating": _("评价"),
    "review": _("复核结果"),
    "note_chars": _("说明字数"),
}
FIELD_LABELS: dict[str, Any] = {"reporter_name": _("举报人姓名"), "reporter_phone": _("举报人电话")}
VALUE_LABELS: dict[tuple[str, str], Mapping[str, Any]] = {}
BOOLEAN = {True: _("是"), False: _("否")}


def register_action_labels(labels: Mapping[str, Any]) -> None:
    """Names of an app's events (``{"case.accept": "受理"}``)."""
    ACTION_LABELS.update(labels)


def register_value_labels(object_type: str, key: str, labels: Mapping[str, Any]) -> None:
    """Names of the codes in one detail of one kind of object (the case's states for ``case``/``to``)."""
    VALUE_LABELS[(object_type, key)] = labels


def action_label(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))


def action_choices() -> list[tuple[str, str]]:
    """The filter's choices: every known event by its name."""
    return sorted(((code, str(label)) for code, label in ACTION_LABELS.items()), key=lambda c: c[1])


def _value(object_type: str, key: str, value: Any) -> str:
    labels = VALUE_LABELS.get((object_type, key))
    if isinstance(value, bool):
        return str(BOOLEAN[value])
    if value in (None, ""):
        return "—"
    if isinstance(value, list):
        return "、".join(_value(object_type, key, v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{DETAIL_LABELS.get(k, k)}：{_value(object_type, k, v)}" for k, v in value.items())
    if key == "fields":
        return str(FIELD_LABELS.get(str(value), value))
    if labels is not None:
        return str(labels.get(str(value), value))
    return str(value)


def detail_lines(entry: AuditEntry) -> list[str]:
    detail = entry.detail if isinstance(entry.detail, dict) else {"": entry.detail}
    return [
        f"{DETAIL_LABELS.get(key, key)}：{_value(entry.object_type, key, value)}" if key else str(value)
        for key, value in detail.items()
    ]


@dataclass(frozen=True)
class Row:
    entry: AuditEntry
    action: str
    object_kind: str
    object_name: str
    details: list[str]


def _user_names(entries: Iterable[AuditEntry]) -> dict[str, str]:
    ids = {e.object_id for e in entries if e.object_type == "user" and e.object_id.isdigit()}
    users = User.objects.filter(pk__in=ids).only("username", "display_name")
    return {str(u.pk): f"{u.display_name or u.username}（{u.username}）" for u in users}


def rows(entries: Iterable[AuditEntry]) -> list[Row]:
    """One query for the people the entries name, whatever their number."""
    entries = list(entries)
    names = _user_names(entries)
    return [
        Row(
            entry=e,
            action=action_label(e.action),
            object_kind=str(OBJECT_LABELS.get(e.object_type, e.object_type)),
            object_name=names.get(e.object_id, e.object_id) if e.object_type == "user" else e.object_id,
            details=detail_lines(e),
        )
        for e in entries
    ]
