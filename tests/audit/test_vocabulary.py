"""The audit trail's events are one vocabulary (issue 10, item 3): the audit app's ``AuditAction`` and the
cases app's ``Action`` (as ``case.<action>``), each with its Chinese name on the audit page's filter."""

from __future__ import annotations

from eco12369.audit.display import action_choices, action_label
from eco12369.audit.models import AuditAction
from eco12369.cases.models import Action


def test_every_audit_event_has_a_chinese_name() -> None:
    codes = [str(a) for a in AuditAction] + [f"case.{a}" for a in Action]
    unnamed = [code for code in codes if action_label(code) == code]
    assert unnamed == []
    assert action_label(f"case.{Action.WITHDRAW}") == "撤回举报"
    assert action_label("case.receive") == "接收举报"
    assert action_label("no.such.event") == "no.such.event"  # unknown codes are shown as they are


def test_the_filter_offers_every_event_once() -> None:
    codes = [code for code, _label in action_choices()]
    assert len(codes) == len(set(codes))
    assert {str(a) for a in AuditAction} <= set(codes)
    assert f"case.{Action.MARK_DUPLICATE}" in codes
