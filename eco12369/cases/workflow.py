"""The case state machine (DESIGN §3): one table says which action may run in which state, by which role
of which agency, with which required fields. ``transition`` is the only code that changes a case's state:
it locks the case, re-checks the rule after the lock, applies the change and writes the timeline event in
one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from django.db import transaction
from django.utils import timezone

from eco12369.orgs.models import Role, User

from . import deadlines
from .models import CONFIRMATION_STATES, OPEN_STATES, Case, CaseEvent, State


class TransitionError(Exception):
    """A refused action. ``message`` is shown to the user as is (Chinese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Scope(Enum):
    OWNER = "owner"  # staff of the agency that owns the case now
    DEPARTMENT = "department"  # staff of the handling department the case is assigned to
    CITY = "city"  # staff of the city centre, whatever district the case is in


@dataclass(frozen=True)
class Rule:
    action: str
    label: str
    sources: tuple[State, ...]
    target: State | None  # None: the state does not change, or the effect decides it
    roles: tuple[Role, ...]
    scope: Scope
    required: tuple[str, ...] = ()


RULES: dict[str, Rule] = {
    rule.action: rule
    for rule in (
        Rule("accept", "受理", CONFIRMATION_STATES, State.ACCEPTED, (Role.OPERATOR,), Scope.OWNER),
        Rule("answer", "直接答复", CONFIRMATION_STATES, State.IN_REVIEW, (Role.OPERATOR,), Scope.OWNER, ("text",)),
        Rule(
            "hand_over",
            "移交其他部门",
            CONFIRMATION_STATES,
            State.IN_REVIEW,
            (Role.OPERATOR,),
            Scope.OWNER,
            ("handover_agency", "text"),
        ),
        Rule("escalate", "申请上级协调", (State.RECEIVED,), State.ESCALATED, (Role.OPERATOR,), Scope.OWNER, ("reason",)),
        Rule(
            "reroute",
            "改派",
            CONFIRMATION_STATES,
            State.RECEIVED,
            (Role.OPERATOR,),
            Scope.OWNER,
            ("target_agency", "reason"),
        ),
        Rule(
            "mark_duplicate",
            "标记重复举报",
            CONFIRMATION_STATES,
            State.CLOSED,
            (Role.OPERATOR,),
            Scope.OWNER,
            ("duplicate_of",),
        ),
        Rule(
            "assign",
            "批转承办部门",
            (State.ACCEPTED, State.HANDLING),
            State.HANDLING,
            (Role.OPERATOR,),
            Scope.OWNER,
            ("department",),
        ),
        Rule(
            "submit_reply",
            "提交答复意见",
            (State.HANDLING,),
            State.IN_REVIEW,
            (Role.HANDLER,),
            Scope.DEPARTMENT,
            ("party_facts", "inspection", "violations", "decision", "communication"),
        ),
        Rule("approve", "审核同意并办结", (State.IN_REVIEW,), State.CLOSED, (Role.REVIEWER,), Scope.OWNER),
        Rule("return", "退回修改", (State.IN_REVIEW,), None, (Role.REVIEWER,), Scope.OWNER, ("note",)),
        Rule(
            "request_extension",
            "申请延期",
            (State.ACCEPTED, State.HANDLING, State.IN_REVIEW),
            None,
            (Role.OPERATOR, Role.HANDLER),
            Scope.OWNER,
            ("days", "reason"),
        ),
        Rule(
            "decide_extension",
            "审批延期",
            (State.ACCEPTED, State.HANDLING, State.IN_REVIEW),
            None,
            (Role.HEAD,),
            Scope.OWNER,
            ("extension", "approved"),
        ),
        Rule(
            "supervise",
            "督办",
            OPEN_STATES,
            None,
            (Role.OPERATOR, Role.HEAD),
            Scope.CITY,
            ("instruction", "answer_due"),
        ),
        Rule(
            "answer_supervision",
            "回复督办",
            OPEN_STATES,
            None,
            (Role.OPERATOR, Role.HEAD),
            Scope.OWNER,
            ("order", "answer"),
        ),
    )
}

ROLE_LABEL_MISSING = "您没有“{role}”权限，不能执行“{action}”。"


def _in_scope(case: Case, user: User, scope: Scope) -> bool:
    if user.agency_id is None:
        return False
    if scope is Scope.CITY:
        return user.is_city_centre
    if user.agency_id != case.agency_id:
        return False
    if scope is Scope.DEPARTMENT:
        return case.department_id is not None and user.department_id == case.department_id
    return True


def refusal(case: Case, user: User, action: str) -> str | None:
    """Why ``user`` may not run ``action`` on ``case`` now (None: allowed). Fields are not checked here."""
    rule = RULES.get(action)
    if rule is None:
        return f"未知的操作“{action}”。"
    if not user.is_active:
        return "账号已停用。"
    if not any(user.has_role(role) for role in rule.roles):
        roles = "或".join(str(Role(role).label) for role in rule.roles)
        return ROLE_LABEL_MISSING.format(role=roles, action=rule.label)
    if not _in_scope(case, user, rule.scope):
        if rule.scope is Scope.DEPARTMENT:
            return f"该举报件未批转给您所在的承办部门，不能{rule.label}。"
        if rule.scope is Scope.CITY:
            return f"只有市举报受理中心可以{rule.label}。"
        return f"该举报件当前由{case.agency.name}负责，您不能{rule.label}。"
    if case.state not in rule.sources:
        return f"举报件处于“{case.get_state_display()}”状态，不能{rule.label}。"
    return None


def allowed_actions(case: Case, user: User) -> list[Rule]:
    return [rule for action, rule in RULES.items() if refusal(case, user, action) is None]


def _missing(rule: Rule, fields: dict[str, Any]) -> list[str]:
    missing = []
    for name in rule.required:
        value = fields.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(name)
    return missing


FIELD_LABELS = {
    "text": "答复意见",
    "handover_agency": "移交机构",
    "reason": "理由",
    "target_agency": "改派机构",
    "duplicate_of": "原举报件编号",
    "department": "承办部门",
    "party_facts": "被举报对象基本情况",
    "inspection": "现场检查及核实情况",
    "violations": "存在的环境违法问题",
    "decision": "环保部门处理意见",
    "communication": "与举报人沟通答复情况",
    "note": "审核意见",
    "days": "延长天数",
    "extension": "延期申请",
    "approved": "审批结果",
    "instruction": "督办意见",
    "answer_due": "回复期限",
    "order": "督办单",
    "answer": "办理情况回复",
}


def refresh_deadline_fields(case: Case) -> None:
    """Keep ``due_at``/``warn_at`` on the deadline that applies in the case's current state."""
    if case.state in CONFIRMATION_STATES:
        case.due_at = case.confirm_due
        case.warn_at = deadlines.warn_moment(case.received_at, case.confirm_due)
    elif case.state == State.CLOSED:
        case.due_at = None
        case.warn_at = None
    elif case.close_due is not None and case.accepted_at is not None:
        case.due_at = case.close_due
        case.warn_at = deadlines.warn_moment(case.accepted_at, case.close_due)


Effect = Callable[[Case], dict[str, Any] | None]


def transition(
    *,
    case: Case,
    actor: User,
    action: str,
    fields: dict[str, Any],
    effect: Effect,
    note: str = "",
) -> Case:
    """Run ``action`` on ``case`` as ``actor``: lock, re-check, apply ``effect``, write the event.

    ``effect`` receives the locked case (still in its source state), changes it (and may write related rows and outbox messages) and
    returns extra data for the timeline event. Raising ``TransitionError`` inside it rolls everything back.
    """
    rule = RULES[action]
    with transaction.atomic():
        locked = Case.objects.select_for_update().select_related("agency", "region").get(pk=case.pk)
        reason = refusal(locked, actor, action)
        if reason is not None:
            raise TransitionError(reason)
        missing = _missing(rule, fields)
        if missing:
            labels = "、".join(FIELD_LABELS.get(name, name) for name in missing)
            raise TransitionError(f"请填写：{labels}。")
        from_state = locked.state
        data = effect(locked) or {}  # sees the case still in its source state
        if rule.target is not None:
            locked.state = rule.target
        if locked.state != from_state and locked.state not in (State.RECEIVED, State.ESCALATED):
            locked.confirmed_at = locked.confirmed_at or timezone.now()
        refresh_deadline_fields(locked)
        locked.save()
        CaseEvent.objects.create(
            case=locked,
            action=action,
            actor=actor,
            actor_agency_id=actor.agency_id,
            at=timezone.now(),
            from_state=from_state,
            to_state=locked.state,
            note=note,
            data=_jsonable(data),
        )
    return locked


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str | int | float | bool) or value is None:
            out[key] = value
        elif isinstance(value, Iterable) and not isinstance(value, dict):
            out[key] = [str(v) for v in value]
        else:
            out[key] = str(value)
    return out
