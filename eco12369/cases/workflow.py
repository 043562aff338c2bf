"""The case state machine (DESIGN §3): one table says which action may run in which state, by which role
of which agency, with which required fields. ``transition`` is the only code that changes a case's state:
it locks the case, re-checks the rule after the lock, applies the change and writes the timeline event in
one transaction.

A rule is checked in this order, and the first failure is the message the user sees: the role, the
agency (scope), the state, the rule's guard (conditions on the case that need no input, such as "there is
a reply waiting for review"), then the required fields.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from django.db import transaction
from django.utils import timezone

from eco12369.audit.services import audit_record
from eco12369.compliance.content import content_check_all, refusal_message
from eco12369.crypto import blind_index
from eco12369.errors import Refused
from eco12369.orgs.models import Agency, Role, User

from . import deadlines
from .events import case_event_record
from .hooks import case_changed_hooks_run, case_closed_hooks_run
from .models import (
    CONFIRMATION_STATES,
    OPEN_STATES,
    TEXT_MAX,
    Action,
    Case,
    Extension,
    Outcome,
    Reply,
    State,
    SupervisionOrder,
)
from .unfilled import unfilled_refusal


class TransitionError(Refused):
    """A refused action on a case (409: the case's state, the rule or the input does not allow it)."""


class Scope(Enum):
    OWNER = "owner"  # staff of the agency that owns the case now
    DEPARTMENT = "department"  # staff of the handling department the case is assigned to
    CITY = "city"  # staff of the city centre, whatever district the case is in
    # Operators of the owning agency, and handlers only of the department the case is assigned to
    # (an extension is requested by the handling department, or entered by the platform operator).
    HANDLING = "handling"
    # The case's own reporter (identified by their openid, not a staff account): ``transition(reporter=...)``.
    REPORTER = "reporter"


Guard = Callable[[Case, User], "str | None"]


# A rule's ``targets`` for an action that leaves the state as it is (any of its source states).
UNCHANGED: tuple[State, ...] = ()


@dataclass(frozen=True)
class Rule:
    action: Action
    label: str
    sources: tuple[State, ...]
    # The states the action may leave the case in; ``transition`` refuses any other result. One target: the
    # action moves the case there. Several: the effect decides among them. ``UNCHANGED``: the case stays in
    # its source state.
    targets: tuple[State, ...]
    roles: tuple[Role, ...]
    scope: Scope
    required: tuple[str, ...] = ()
    # A condition on the case (and user) that needs no input; returns the refusal message or None.
    guard: Guard | None = None

    def allows_result(self, from_state: State | str, to_state: State | str) -> bool:
        """Whether the action may leave a case that was in ``from_state`` in ``to_state``."""
        return to_state == from_state if self.targets == UNCHANGED else to_state in self.targets


# ------------------------------------------------------------------------------------------ guards
def _not_city_centre_owned(message: str) -> Guard:
    def guard(case: Case, user: User) -> str | None:
        return message if case.agency.kind == Agency.Kind.CITY_CENTRE else None

    return guard


def pending_reply(case: Case) -> Reply | None:
    """The reply waiting for review, if any (there is at most one: the case is in review)."""
    return case.replies.filter(status=Reply.Status.SUBMITTED).order_by("-submitted_at", "-id").first()


def reply_blocked(reply: Reply) -> str | None:
    """Why ``reply`` cannot be sent to the reporter, or None: Art. 16 (sensitive words, with where), or a
    reply template's 【请填写：…】 marker still in a part (the text is not finished)."""
    parts = Reply.FIVE_PARTS if reply.kind == Reply.Kind.HANDLING else ("text",)
    texts = {FIELD_LABELS[name]: getattr(reply, name) for name in parts}
    findings = content_check_all(texts)
    if findings:
        return refusal_message(findings, approving=True)
    return unfilled_refusal(texts, ending="不能审核同意，请退回修改。")


def _review_guard(*, approving: bool) -> Guard:
    def guard(case: Case, user: User) -> str | None:
        reply = pending_reply(case)
        if reply is None:
            return "没有待审核的答复意见。"
        if approving and reply.drafted_by_id == user.pk:
            return "不能审核同意本人起草的答复意见，请由其他分管领导审核。"
        if approving:
            return reply_blocked(reply)  # blocked text cannot be approved, only returned
        return None

    return guard


def extension_days_used(case: Case) -> int:
    """Days approved or waiting for approval (the 30-day cap of Art. 12 counts both)."""
    from django.db.models import Sum

    statuses = (Extension.Status.APPROVED, Extension.Status.PENDING)
    total = case.extensions.filter(status__in=statuses).aggregate(total=Sum("days"))["total"]
    return int(total or 0)


def _request_extension_guard(case: Case, user: User) -> str | None:
    if case.accepted_at is None or case.close_due is None:
        return "尚未受理的事项没有办结期限，不能申请延期。"
    if case.extensions.filter(status=Extension.Status.PENDING).exists():
        return "已有待批准的延期申请。"
    max_days = int(deadlines.setting("MAX_EXTENSION_DAYS"))
    if extension_days_used(case) >= max_days:
        return f"延期总计不得超过{max_days}日，本件已无可延长的天数。"
    return None


def _decide_extension_guard(case: Case, user: User) -> str | None:
    if not case.extensions.filter(status=Extension.Status.PENDING).exists():
        return "没有待批准的延期申请。"
    return None


def _answer_supervision_guard(case: Case, user: User) -> str | None:
    if not SupervisionOrder.objects.filter(case=case, answered_at__isnull=True).exists():
        return "没有待回复的督办单。"
    return None


def _reopen_guard(case: Case, user: User) -> str | None:
    if case.outcome == Outcome.DUPLICATE:
        return "重复举报已并入原举报件办理，不能重新交办。"
    if case.outcome == Outcome.WITHDRAWN:
        return "举报人已撤回的举报不能重新交办。"
    return None


ALL_STATES: tuple[State, ...] = tuple(State)

RULES: dict[Action, Rule] = {
    rule.action: rule
    for rule in (
        # Art. 7: confirm within 2 working days: accept, answer, hand over (Art. 8), escalate (Art. 8),
        # send to the responsible bureau (属地管理, Art. 4), or close as a duplicate (Art. 14).
        Rule(Action.ACCEPT, "受理", CONFIRMATION_STATES, (State.ACCEPTED,), (Role.OPERATOR,), Scope.OWNER),
        Rule(
            Action.ANSWER,
            "直接答复",
            CONFIRMATION_STATES,
            (State.IN_REVIEW,),
            (Role.OPERATOR,),
            Scope.OWNER,
            ("text",),
        ),
        Rule(
            Action.HAND_OVER,
            "移交其他部门",
            CONFIRMATION_STATES,
            (State.IN_REVIEW,),
            (Role.OPERATOR,),
            Scope.OWNER,
            ("handover_agency", "text"),
        ),
        Rule(
            Action.ESCALATE,
            "申请上级协调",
            (State.RECEIVED,),
            (State.ESCALATED,),
            (Role.OPERATOR,),
            Scope.OWNER,
            ("reason",),
            _not_city_centre_owned("市举报受理中心已是最高协调层级，无需申请上级协调。"),
        ),
        Rule(
            Action.REROUTE,
            "改派",
            CONFIRMATION_STATES,
            (State.RECEIVED,),
            (Role.OPERATOR,),
            Scope.OWNER,
            ("target_agency", "reason"),
        ),
        Rule(
            Action.MARK_DUPLICATE,
            "标记重复举报",
            CONFIRMATION_STATES,
            (State.CLOSED,),
            (Role.OPERATOR,),
            Scope.OWNER,
            ("duplicate_of",),
        ),
        # Art. 7-9: 批转 to a handling department, which investigates and drafts the reply (Art. 10).
        Rule(
            Action.ASSIGN,
            "批转承办部门",
            (State.ACCEPTED, State.HANDLING),
            (State.HANDLING,),
            (Role.OPERATOR,),
            Scope.OWNER,
            ("department",),
        ),
        # Issue 15: 退单 — the handling department returns a case that was assigned to it by mistake to the
        # bureau's operators, with a reason; they assign it again (accepted, no department).
        Rule(
            Action.SEND_BACK,
            "退单",
            (State.HANDLING,),
            (State.ACCEPTED,),
            (Role.HANDLER,),
            Scope.DEPARTMENT,
            ("reason",),
        ),
        Rule(
            Action.SUBMIT_REPLY,
            "提交答复意见",
            (State.HANDLING,),
            (State.IN_REVIEW,),
            (Role.HANDLER,),
            Scope.DEPARTMENT,
            Reply.FIVE_PARTS,
        ),
        # Art. 5, 11, 16: the reviewer approves (the case closes, the reporter is told) or returns it.
        Rule(
            Action.APPROVE,
            "审核同意并办结",
            (State.IN_REVIEW,),
            (State.CLOSED,),
            (Role.REVIEWER,),
            Scope.OWNER,
            (),
            _review_guard(approving=True),
        ),
        Rule(
            Action.RETURN,
            "退回修改",
            (State.IN_REVIEW,),
            (State.RECEIVED, State.ESCALATED, State.HANDLING),  # back to where the reply was drafted
            (Role.REVIEWER,),
            Scope.OWNER,
            ("note",),
            _review_guard(approving=False),
        ),
        # Art. 12: extensions, at most 30 days in total, with a reason, approved by the head; requested by
        # the handling department the case is assigned to (or entered by the owning bureau's operator).
        Rule(
            Action.REQUEST_EXTENSION,
            "申请延期",
            (State.ACCEPTED, State.HANDLING, State.IN_REVIEW),
            UNCHANGED,
            (Role.OPERATOR, Role.HANDLER),
            Scope.HANDLING,
            ("days", "reason"),
            _request_extension_guard,
        ),
        Rule(
            Action.DECIDE_EXTENSION,
            "审批延期",
            (State.ACCEPTED, State.HANDLING, State.IN_REVIEW),
            UNCHANGED,
            (Role.HEAD,),
            Scope.OWNER,
            ("extension", "approved"),
            _decide_extension_guard,
        ),
        # Art. 14: the city centre supervises a district's open case; the district answers (also after
        # the case has closed: the order stays open until answered).
        Rule(
            Action.SUPERVISE,
            "督办",
            OPEN_STATES,
            UNCHANGED,
            (Role.OPERATOR, Role.HEAD),
            Scope.CITY,
            ("instruction", "answer_due"),
            _not_city_centre_owned("该举报件由市举报受理中心直接办理，无需督办。"),
        ),
        Rule(
            Action.ANSWER_SUPERVISION,
            "回复督办",
            ALL_STATES,
            UNCHANGED,
            (Role.OPERATOR, Role.HEAD),
            Scope.OWNER,
            ("order", "answer"),
            _answer_supervision_guard,
        ),
        # Issue 14: the reporter withdraws (撤回) their own report before it is accepted, with a reason. The
        # case closes with the outcome "withdrawn": kept, on the timeline, counted in the monthly report.
        Rule(
            Action.WITHDRAW, "撤回举报", CONFIRMATION_STATES, (State.CLOSED,), (), Scope.REPORTER, ("reason",)
        ),
        # Follow-up (issue #7): the city centre sends a closed case back to its bureau to be handled again
        # (an unsatisfied rating on its review list); the effect decides the state (handling, or accepted
        # when no department was assigned).
        Rule(
            Action.REOPEN,
            "重新交办",
            (State.CLOSED,),
            (State.HANDLING, State.ACCEPTED),
            (Role.OPERATOR, Role.HEAD),
            Scope.CITY,
            ("reason",),
            _reopen_guard,
        ),
    )
}


def rule_for(action: str) -> Rule | None:
    """The rule of ``action`` (an ``Action`` or its string), or None for a name outside the state machine."""
    try:
        return RULES.get(Action(action))
    except ValueError:
        return None


ROLE_LABEL_MISSING = "您没有“{role}”权限，不能执行“{action}”。"


def _in_scope(case: Case, user: User, scope: Scope) -> bool:
    if user.agency_id is None:
        return False
    if scope is Scope.CITY:
        return user.is_city_centre
    if user.agency_id != case.agency_id:
        return False
    if scope is Scope.DEPARTMENT or (scope is Scope.HANDLING and not user.has_role(Role.OPERATOR)):
        return case.department_id is not None and user.department_id == case.department_id
    return True


def reporter_refusal(case: Case, openid: str, action: str) -> str | None:
    """Why the reporter ``openid`` may not run ``action`` on ``case`` now (None: allowed): only a rule of the
    reporter's scope, only on their own case (compared by the openid's blind index), in a source state."""
    rule = rule_for(action)
    if rule is None or rule.scope is not Scope.REPORTER:
        return f"未知的操作“{action}”。"
    if not openid or blind_index(openid) != case.reporter_openid_digest:
        return "只能操作本人提交的举报。"
    if case.state not in rule.sources:
        if case.state == State.CLOSED:
            return f"举报件已办结，不能{rule.label}。"
        return f"举报件已受理，不能{rule.label}。"
    return None


def refusal(case: Case, user: User, action: str) -> str | None:
    """Why ``user`` may not run ``action`` on ``case`` now (None: allowed). Fields are not checked here."""
    rule = rule_for(action)
    if rule is None:
        return f"未知的操作“{action}”。"
    if rule.scope is Scope.REPORTER:
        return f"“{rule.label}”只能由举报人本人操作。"
    if not user.is_authenticated or not user.is_active:
        return "账号已停用。"
    if not any(user.has_role(role) for role in rule.roles):
        roles = "或".join(str(Role(role).label) for role in rule.roles)
        return ROLE_LABEL_MISSING.format(role=roles, action=rule.label)
    if not _in_scope(case, user, rule.scope):
        if rule.scope is Scope.DEPARTMENT or (
            rule.scope is Scope.HANDLING and user.agency_id == case.agency_id
        ):
            return f"该举报件未批转给您所在的承办部门，不能{rule.label}。"
        if rule.scope is Scope.CITY:
            return f"只有市举报受理中心可以{rule.label}。"
        return f"该举报件当前由{case.agency.name}负责，您不能{rule.label}。"
    if case.state not in rule.sources:
        return f"举报件处于“{case.get_state_display()}”状态，不能{rule.label}。"
    if rule.guard is not None:
        return rule.guard(case, user)
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
    """Keep ``due_at``/``warn_at`` on the deadline that applies in the case's current state.

    Before acceptance the confirmation deadline applies (Art. 7; also while an answer or a hand-over
    waits for review), after it the closing deadline (Art. 12); a closed case has none.
    """
    if case.state == State.CLOSED:
        case.due_at = None
        case.warn_at = None
    elif case.accepted_at is not None and case.close_due is not None:
        case.due_at = case.close_due
        case.warn_at = deadlines.warn_moment(case.accepted_at, case.close_due)
    else:
        case.due_at = case.confirm_due
        case.warn_at = deadlines.warn_moment(case.confirm_from, case.confirm_due)


Effect = Callable[[Case], dict[str, Any] | None]


def transition(
    *,
    case: Case,
    actor: User | None,
    action: Action,
    fields: dict[str, Any],
    effect: Effect,
    note: str = "",
    reporter: str = "",
) -> Case:
    """Run ``action`` on ``case`` as ``actor``: lock, re-check, apply ``effect``, write the event.

    A rule of the reporter's scope (``withdraw``) runs with ``actor=None`` and ``reporter`` the openid of
    the case's reporter; the event and the audit entry then name the reporter's channel, never the person.

    ``effect`` receives the locked case (still in its source state), changes it (and may write related
    rows and outbox messages) and returns extra data for the timeline event. Raising ``TransitionError``
    inside it rolls everything back. The ``case`` passed in is never modified; use the returned one.
    """
    rule = RULES[action]
    with transaction.atomic():
        # ``of=("self",)``: lock the case row only, not the joined agency (PostgreSQL would lock both).
        locked = Case.objects.select_for_update(of=("self",)).select_related("agency").get(pk=case.pk)
        if rule.scope is Scope.REPORTER:
            reason = (
                reporter_refusal(locked, reporter, action)
                if actor is None
                else refusal(locked, actor, action)
            )
        else:
            reason = refusal(locked, actor, action) if actor is not None else "请先登录。"
        if reason is not None:
            raise TransitionError(reason)
        missing = _missing(rule, fields)
        if missing:
            labels = "、".join(FIELD_LABELS.get(name, name) for name in missing)
            raise TransitionError(f"请填写：{labels}。")
        too_long = [
            k for k, v in {**fields, "note": note}.items() if isinstance(v, str) and len(v) > TEXT_MAX
        ]
        if too_long:
            labels = "、".join(FIELD_LABELS.get(name, "说明") for name in too_long)
            raise TransitionError(f"{labels}不能超过{TEXT_MAX}字。")
        from_state = locked.state
        before = copy.copy(locked)  # what the rollups held for the case (on_case_changed)
        data = effect(locked) or {}  # sees the case still in its source state
        if len(rule.targets) == 1:
            locked.state = rule.targets[0]
        if not rule.allows_result(from_state, locked.state):
            # A broken effect, never the user's input: refuse, and the transaction rolls everything back.
            raise TransitionError(
                f"系统错误：“{rule.label}”不能使举报件进入“{State(locked.state).label}”状态，已撤销本次操作。",
                status=500,
            )
        if locked.state not in CONFIRMATION_STATES:
            locked.confirmed_at = locked.confirmed_at or timezone.now()
        refresh_deadline_fields(locked)
        locked.save()
        case_event_record(
            case=locked,
            action=rule.action,
            actor=actor,
            from_state=from_state,
            to_state=locked.state,
            note=note,
            data=_jsonable(data),
        )
        if locked.state == State.CLOSED and from_state != State.CLOSED:
            # Explicit side effects of a closing (cases/hooks.py): followup tells the case's followers and
            # the reporters of its duplicates (Art. 14), in this transaction.
            case_closed_hooks_run(locked)
        case_changed_hooks_run(before, locked)  # the dashboard's rollups (stats), in this transaction
        # The security audit trail (Art. 15, 17): every state change, in the same transaction as the change.
        audit_record(
            action=f"case.{rule.action}",
            actor=actor,
            actor_label="举报人本人" if actor is None else "",
            object_type="case",
            object_id=locked.number,
            detail={"from": from_state, "to": locked.state},
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
