"""Random sequences of workflow actions (DESIGN §3), by staff of every role and agency, many of them
refused, with the case's invariants checked after every step. Everything goes through the services.

Each example runs in a savepoint that is rolled back at the end, inside pytest-django's test transaction,
so examples do not see each other's cases and the suite stays database-safe on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from eco12369.cases import deadlines, services
from eco12369.cases.models import (
    CONFIRMATION_STATES,
    Action,
    Case,
    Extension,
    Outcome,
    Reply,
    State,
    SupervisionOrder,
)
from eco12369.cases.selectors import cases_visible_to
from eco12369.cases.services import Intake, case_create
from eco12369.cases.workflow import RULES, Scope, TransitionError, refusal, reporter_refusal
from eco12369.orgs.models import Agency, Region, Role, User

from .conftest import FIVE_PARTS, Staff, snapshot

TZ = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=TZ)  # deadlines stay within years the calendar knows
CASE_TEMPLATES = {
    "acknowledged",
    "accepted",
    "extended",
    "duplicate",
    "closed",
    "answered",
    "handed_over",
    "withdrawn",  # the reporter's own withdrawal, confirmed to them (issue 14)
}
REPLY_TEMPLATES = {
    "closed": Reply.Kind.HANDLING,
    "answered": Reply.Kind.ANSWER,
    "handed_over": Reply.Kind.HANDOVER,
}
MAX_EXTENSION = 30
REPORTER = "reporter (the case's own openid)"


class CaseMachine(RuleBasedStateMachine):
    staff: Staff  # set by the test before the run
    # Over the whole run: how often each action succeeded, and how many refusals there were.
    run_successes: dict[Action, int] = {}
    run_refusals = 0

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._clock = time_machine.travel(START, tick=False)
        self._now = self._clock.start()
        self.cases: list[Case] = []
        self.expected_events: dict[int, int] = {}
        self.succeeded: set[Action] = set()  # the actions that succeeded in this example
        self.actors: dict[str, User] = {
            name: getattr(self.staff, name)
            for name in (
                "op",
                "handler",
                "handler2",
                "reviewer",
                "head",
                "op_hd",
                "handler_hd",
                "reviewer_hd",
                "head_hd",
                "city_op",
                "city_head",
                "city_reviewer",
                "admin",
            )
        }

    def teardown(self) -> None:
        self._clock.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # ------------------------------------------------------------------------------------------ rules
    @initialize(district=st.sampled_from(["和平区", "河东区", None]), wechat=st.booleans())
    def first_case(self, district: str | None, wechat: bool) -> None:
        self.create_case(district, wechat)

    def create_case(self, district: str | None, wechat: bool) -> None:
        region = Region.objects.get(name=district) if district else None
        case = case_create(
            intake=Intake(
                channel="wechat_chat" if wechat else "phone",
                description="某厂夜间排放刺鼻废气。",
                category="air",
                district=region,
                reporter_openid=f"o-{len(self.cases)}" if wechat else "",
            )
        )
        self.cases.append(case)
        self.expected_events[case.pk] = 1

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        """Mostly a workflow action; sometimes a new report comes in, or time passes."""
        what = data.draw(st.sampled_from(["act"] * 8 + ["new case", "time passes"]), label="step")
        if what == "new case" and len(self.cases) < 4:
            district = data.draw(st.sampled_from(["和平区", "和平区", "河东区", None]), label="district")
            self.create_case(district, data.draw(st.booleans(), label="wechat"))
        elif what == "time passes":
            self._now.shift(dt.timedelta(hours=data.draw(st.integers(1, 24 * 4), label="hours")))
        else:
            self.act(data)

    def act(self, data: st.DataObject) -> None:
        pick = data.draw(st.sampled_from(self.cases), label="case")
        case = Case.objects.select_related("agency").get(pk=pick.pk)
        permitted = [
            (action, name)
            for action, rule in sorted(RULES.items())
            for name, user in self.actors.items()
            if user.role_set & set(rule.roles) and refusal(case, user, action) is None
        ]
        # Issue 14: now and then the reporter acts on their own case (withdraws it before acceptance); then
        # it is the reporter's move, not the staff's, so only the reporter's actions are on offer.
        if case.reporter_openid and data.draw(st.sampled_from([False] * 4 + [True]), label="reporter acts?"):
            by_reporter = [
                (action, REPORTER)
                for action, rule in sorted(RULES.items())
                if rule.scope is Scope.REPORTER
                and reporter_refusal(case, case.reporter_openid, action) is None
            ]
            permitted = by_reporter or permitted
        # Mostly a permitted action (so cases get deep into the workflow), sometimes anything at all.
        if permitted and data.draw(st.sampled_from([True] * 7 + [False]), label="permitted?"):
            offered = sorted({a for a, _ in permitted})
            # Half the time prefer an action that has not succeeded yet in this example, so every rule of
            # the machine gets explored however many rules it has (the coverage check at the end). Only
            # the example's own state decides, so the draws stay reproducible.
            unseen = [a for a in offered if a not in self.succeeded]
            if unseen:
                prefer_unseen = data.draw(st.booleans(), label="prefer unexplored?")
                offered = unseen if prefer_unseen else offered
            action = data.draw(st.sampled_from(offered), label="action")
            actor_name = data.draw(st.sampled_from([n for a, n in permitted if a == action]), label="actor")
        else:
            action = data.draw(st.sampled_from(sorted(RULES)), label="action")
            actor_name = data.draw(st.sampled_from(sorted(self.actors)), label="actor")
        actor = self.actors.get(actor_name, self.actors["admin"])
        call = self._call(case, action, actor, data, by_reporter=actor_name == REPORTER)

        before = snapshot(case)
        try:
            call()
        except TransitionError as exc:
            assert exc.message, "a refusal must say why"
            assert snapshot(case) == before, f"refused {action} by {actor_name} changed the case"
            CaseMachine.run_refusals += 1
        else:
            self.expected_events[case.pk] += 1
            if action == "request_extension" and not actor.has_role(Role.OPERATOR):
                # DESIGN §3, §4: only the handling department the case is assigned to requests.
                assert case.department_id is not None and actor.department_id == case.department_id
            CaseMachine.run_successes[action] = CaseMachine.run_successes.get(action, 0) + 1
            self.succeeded.add(action)

    def _call(self, case: Case, action: str, actor: User, data: st.DataObject, *, by_reporter: bool) -> Any:
        s = self.staff

        def text(label: str, valid: str) -> str:
            return data.draw(st.sampled_from([valid, valid, valid, "", "  "]), label=label)

        if action == "accept":
            kind = data.draw(st.sampled_from([None, None, "report", "consultation"]), label="kind")
            return lambda: services.case_accept(case=case, actor=actor, kind=kind)
        if action == "answer":
            answer = text("text", "经核实，不属于环境保护主管部门职责。")
            return lambda: services.case_answer(case=case, actor=actor, text=answer)
        if action == "hand_over":
            agency = data.draw(st.sampled_from([s.outside, s.outside, s.hd, None]), label="handover_agency")
            note = text("text", "已移交城市管理部门。")
            return lambda: services.case_hand_over(case=case, actor=actor, handover_agency=agency, text=note)
        if action == "escalate":
            reason = text("reason", "跨区污染，需市级协调。")
            return lambda: services.case_escalate(case=case, actor=actor, reason=reason)
        if action == "reroute":
            target = data.draw(
                st.sampled_from([s.hp, s.hd, s.city, s.hp, s.hd, s.city, s.outside, None]), label="target"
            )
            reason = text("reason", "属地管理。")
            return lambda: services.case_reroute(case=case, actor=actor, target_agency=target, reason=reason)
        if action == "mark_duplicate":
            # Mostly an earlier case the actor can see (the only kind that can be the original), sometimes
            # anything.
            visible = set(cases_visible_to(user=actor).values_list("pk", flat=True))
            earlier = [c for c in self.cases if c.pk < case.pk and c.pk in visible]
            original = data.draw(
                st.sampled_from([*earlier, *earlier, *self.cases, None]), label="duplicate_of"
            )
            return lambda: services.case_mark_duplicate(case=case, actor=actor, duplicate_of=original)
        if action == "assign":
            other = s.hd.departments.first()
            department = data.draw(st.sampled_from([s.dept, s.dept2, other, None]), label="department")
            return lambda: services.case_assign(case=case, actor=actor, department=department)
        if action == "submit_reply":
            parts = dict(FIVE_PARTS)
            missing = data.draw(st.sampled_from([None, None, None, *Reply.FIVE_PARTS]), label="missing part")
            if missing:
                parts[missing] = ""
            return lambda: services.case_submit_reply(case=case, actor=actor, **parts)
        if action == "approve":
            return lambda: services.case_approve(case=case, actor=actor, note="同意")
        if action == "return":
            note = text("note", "请补充现场检查情况。")
            return lambda: services.case_return(case=case, actor=actor, note=note)
        if action == "request_extension":
            days = data.draw(st.sampled_from([5, 10, 20, 30, 0, 31, None]), label="days")
            reason = text("reason", "需等待监测报告。")
            return lambda: services.case_request_extension(case=case, actor=actor, days=days, reason=reason)
        if action == "decide_extension":
            pending = case.extensions.filter(status=Extension.Status.PENDING).first()
            extension = data.draw(st.sampled_from([pending, pending, None]), label="extension")
            approved = data.draw(st.booleans(), label="approved")
            return lambda: services.case_decide_extension(
                case=case, actor=actor, extension=extension, approved=approved
            )
        if action == "supervise":
            due = data.draw(st.sampled_from([3, 3, -1, None]), label="answer_due")
            answer_due = None if due is None else timezone.localdate() + dt.timedelta(days=due)
            instruction = text("instruction", "请加快办理并报告结果。")
            return lambda: services.case_supervise(
                case=case, actor=actor, instruction=instruction, answer_due=answer_due
            )
        if action == "answer_supervision":
            order = SupervisionOrder.objects.filter(case=case, answered_at__isnull=True).first()
            chosen = data.draw(st.sampled_from([order, order, None]), label="order")
            answer = text("answer", "已现场检查并责令整改。")
            return lambda: services.case_answer_supervision(
                case=case, actor=actor, order=chosen, answer=answer
            )
        if action == "reopen":  # follow-up (issue #7): the city centre sends a closed case back
            reason = text("reason", "举报人对办理结果不满意。")
            return lambda: services.case_reopen(case=case, actor=actor, reason=reason)
        if action == "send_back":  # issue 15: the handling department returns a wrongly assigned case
            reason = text("reason", "不属本部门职责，请重新批转。")
            return lambda: services.case_send_back(case=case, actor=actor, reason=reason)
        if action == "withdraw":  # issue 14: the reporter (or a stranger) withdraws before acceptance
            openid = case.reporter_openid if by_reporter else "o-stranger"
            reason = text("reason", "问题已经解决了，撤回。")
            return lambda: services.case_withdraw(case=case, openid=openid, reason=reason)
        raise AssertionError(f"no call for {action}")

    # ------------------------------------------------------------------------------------- invariants
    @invariant()
    def every_case_stays_consistent(self) -> None:  # not ``invariants``: the machine's own attribute
        cases = self.fresh()
        self.states_and_timeline(cases)
        self.only_approved_replies_and_fixed_templates_reach_the_reporter(cases)
        self.replies_follow_the_state(cases)
        self.extensions_stay_within_thirty_days(cases)
        self.closed_cases_are_complete(cases)
        self.ownership_is_consistent(cases)
        self.due_at_matches_the_state(cases)

    def states_and_timeline(self, cases: list[Case]) -> None:
        for case in cases:
            assert case.state in State.values
            timeline = sorted(case.events.all(), key=lambda e: (e.at, e.pk))
            actions = [event.action for event in timeline]
            # Exactly one event per successful transition, plus the receive event; refusals add none.
            assert len(actions) == self.expected_events[case.pk]
            assert actions[0] == "receive" and actions.count("receive") == 1
            assert set(actions[1:]) <= set(RULES)
            assert timeline[-1].to_state == case.state
            for event in timeline[1:]:
                # every staff action names its actor; the reporter's own (withdraw) names none (issue 14)
                assert (event.actor_id is None) == (event.action == "withdraw")
                assert event.from_state in State.values

    def only_approved_replies_and_fixed_templates_reach_the_reporter(self, cases: list[Case]) -> None:
        for case in cases:
            replies = {reply.pk: reply for reply in case.replies.all()}
            messages = list(case.outbox_messages.all())
            if not case.reporter_openid:
                assert messages == []
            for message in messages:
                assert message.template in CASE_TEMPLATES
                assert message.openid == case.reporter_openid
                if message.template in REPLY_TEMPLATES:
                    reply = replies.get(message.reply_id)  # type: ignore[arg-type]
                    assert reply is not None, "a reply message must carry its (own case's) reply"
                    assert reply.status == Reply.Status.APPROVED
                    assert reply.kind == REPLY_TEMPLATES[message.template]
                else:
                    assert message.reply_id is None
            if case.reporter_openid:
                assert messages and messages[0].template == "acknowledged"

    def replies_follow_the_state(self, cases: list[Case]) -> None:
        for case in cases:
            replies = list(case.replies.all())
            submitted = [r for r in replies if r.status == Reply.Status.SUBMITTED]
            approved = [r for r in replies if r.status == Reply.Status.APPROVED]
            assert len(submitted) == (1 if case.state == State.IN_REVIEW else 0)
            # Each approval approved exactly one reply; a case closed by a reply was closed by its latest.
            approvals = [e for e in case.events.all() if e.action == "approve"]
            assert len(approved) == len(approvals)
            outcome_kind = {
                Outcome.HANDLED: Reply.Kind.HANDLING,
                Outcome.ANSWERED: Reply.Kind.ANSWER,
                Outcome.HANDED_OVER: Reply.Kind.HANDOVER,
            }
            if case.state == State.CLOSED and case.outcome in outcome_kind:
                latest = max(replies, key=lambda r: (r.submitted_at, r.pk))
                assert latest.status == Reply.Status.APPROVED
                assert latest.kind == outcome_kind[Outcome(case.outcome)]
            for reply in replies:
                if reply.kind == Reply.Kind.HANDLING:
                    assert all(getattr(reply, part).strip() for part in Reply.FIVE_PARTS)
                else:
                    assert reply.text.strip()

    def extensions_stay_within_thirty_days(self, cases: list[Case]) -> None:
        for case in cases:
            extensions = list(case.extensions.all())
            approved = sum(e.days for e in extensions if e.status == Extension.Status.APPROVED)
            pending = [e for e in extensions if e.status == Extension.Status.PENDING]
            assert 0 <= case.extension_days <= MAX_EXTENSION
            assert approved == case.extension_days
            assert len(pending) <= 1
            assert approved + sum(e.days for e in pending) <= MAX_EXTENSION
            if extensions:
                assert case.accepted_at is not None
                assert all(e.reason.strip() and e.days >= 1 for e in extensions)

    def closed_cases_are_complete(self, cases: list[Case]) -> None:
        for case in cases:
            if case.state == State.CLOSED:
                assert case.closed_at is not None and case.outcome
                assert (case.outcome == Outcome.DUPLICATE) == (case.duplicate_of_id is not None)
                assert (case.outcome == Outcome.HANDED_OVER) == (case.handover_agency_id is not None)
                if case.outcome == Outcome.HANDLED:
                    assert case.accepted_at is not None
            else:
                assert case.closed_at is None and case.outcome == ""
            if case.state not in CONFIRMATION_STATES:
                assert case.confirmed_at is not None

    def ownership_is_consistent(self, cases: list[Case]) -> None:
        for case in cases:
            assert case.agency.kind in (Agency.Kind.CITY_CENTRE, Agency.Kind.DISTRICT_BUREAU)
            if case.agency.kind == Agency.Kind.DISTRICT_BUREAU:
                assert case.region_id == case.agency.region_id
            if case.department_id is not None:
                assert case.department is not None and case.department.agency_id == case.agency_id
            if case.state == State.HANDLING:
                assert case.department_id is not None

    def due_at_matches_the_state(self, cases: list[Case]) -> None:
        for case in cases:
            assert case.confirm_due == self.confirmation_deadline(case.confirm_from)
            if case.state == State.CLOSED:
                assert case.due_at is None and case.warn_at is None
                continue
            if case.state in (State.ACCEPTED, State.HANDLING) or case.accepted_at is not None:
                assert case.accepted_at is not None and case.close_due is not None
                assert case.close_due == self.closing_deadline(case.accepted_at, case.extension_days)
                assert case.due_at == case.close_due
                assert case.warn_at == deadlines.warn_moment(case.accepted_at, case.close_due)
            else:
                assert case.close_due is None
                assert case.due_at == case.confirm_due
                assert case.warn_at == deadlines.warn_moment(case.confirm_from, case.confirm_due)
            assert case.warn_at is not None and case.warn_at <= case.due_at

    # The calendar does not change during a run: remember computed deadlines (fewer queries per step).
    _deadlines: dict[tuple[Any, ...], dt.datetime] = {}

    def confirmation_deadline(self, start: dt.datetime) -> dt.datetime:
        key = ("confirm", start)
        if key not in self._deadlines:
            self._deadlines[key] = deadlines.confirmation_deadline(start).at
        return self._deadlines[key]

    def closing_deadline(self, accepted_at: dt.datetime, extension_days: int) -> dt.datetime:
        key = ("close", accepted_at, extension_days)
        if key not in self._deadlines:
            self._deadlines[key] = deadlines.closing_deadline(accepted_at, extension_days).at
        return self._deadlines[key]

    def fresh(self) -> list[Case]:
        return list(
            Case.objects.filter(pk__in=[c.pk for c in self.cases])
            .select_related("agency", "department")
            .prefetch_related("events", "replies", "extensions", "outbox_messages")
        )


@pytest.mark.django_db
@pytest.mark.slow
def test_random_action_sequences_keep_the_invariants(staff: Staff) -> None:
    CaseMachine.staff = staff
    CaseMachine.run_successes = {}
    CaseMachine.run_refusals = 0
    run_state_machine_as_test(
        CaseMachine,
        settings=settings(
            max_examples=50,
            stateful_step_count=20,
            deadline=None,
            database=None,
            derandomize=True,  # the same sequences on every run: no flaky CI, and the coverage check holds
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(
        "successes:", dict(sorted(CaseMachine.run_successes.items())), "refusals:", CaseMachine.run_refusals
    )
    # The run explored the whole machine: every action succeeded somewhere, and many were refused.
    assert set(CaseMachine.run_successes) == set(RULES), sorted(set(RULES) - set(CaseMachine.run_successes))
    assert CaseMachine.run_refusals > 50
    print(
        "successes:", dict(sorted(CaseMachine.run_successes.items())), "refusals:", CaseMachine.run_refusals
    )
