"""The side effects of creating and closing a case are explicit (cases/hooks.py): the services call the
hooks oversight and followup register, inside their transaction. No ``post_save`` receiver does it, so
no way of writing cases skips them silently."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import transaction

from eco12369.cases import hooks
from eco12369.cases.models import Case
from eco12369.cases.workflow import TransitionError
from eco12369.followup.services import case_follow
from eco12369.notifications.models import OutboxMessage
from eco12369.oversight.models import CaseFingerprint

from .conftest import Staff, closed

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_a_case_created_by_the_service_gets_its_duplicate_fingerprint(make_case: Callable[..., Case]) -> None:
    case = make_case(
        reported_party="天津市和平区 宏达化工有限公司", description="宏达化工半夜偷排，味儿冲得很"
    )
    fingerprint = CaseFingerprint.objects.get(case=case)
    assert fingerprint.party_key == "宏达化工"


def test_followers_and_the_reporters_of_duplicates_are_told_when_the_case_closes(
    make_case: Callable[..., Case], staff: Staff
) -> None:
    case = make_case(description="XX路那个洗车店污水直接往雨水井里倒，好几天了")
    case_follow(case=case, openid="oFollower-某某", note="我家就在旁边，天天闻到")
    closed(case, staff)
    told = OutboxMessage.objects.filter(case=case, template="status").exclude(openid="").order_by("id")
    notices = [m.text for m in told if m.openid == "oFollower-某某"]
    assert any("已办结" in text and case.number in text for text in notices), notices


def test_a_failing_hook_rolls_the_intake_back(
    make_case: Callable[..., Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hooks run inside the creating transaction: what they write commits or rolls back with the case."""

    def broken(case: Case) -> None:
        raise TransitionError("查重服务故障")

    monkeypatch.setattr(hooks, "on_case_created", [*hooks.on_case_created, broken])
    before = Case.objects.count()
    with pytest.raises(TransitionError, match="查重服务故障"), transaction.atomic():
        make_case(description="<script>alert(1)</script> 工地夜间施工噪音扰民")
    assert Case.objects.count() == before
    assert not CaseFingerprint.objects.filter(case__description__contains="工地夜间施工").exists()


def _functions_calling(path: Path, call: str) -> dict[str, set[str]]:
    """For each function of ``path``: the dotted names it calls (``Case.objects.bulk_create`` …)."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef):
            names = {ast.unparse(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
            if any(name.endswith(call) for name in names):
                found[node.name] = names
    return found


def test_every_bulk_path_of_the_package_that_writes_cases_runs_the_creation_hooks() -> None:
    """``bulk_create`` skips ``save()``: a path of the package that writes cases in bulk must call
    ``case_created_hooks_run`` for them. (bench/duplicates.py, outside the package, loads a million closed
    historical cases and writes their fingerprints itself, in bulk; no duplicate finding is wanted there.)"""
    offenders = []
    for path in sorted((ROOT / "eco12369").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for function, calls in _functions_calling(path, "Case.objects.bulk_create").items():
            if not any(name.endswith("case_created_hooks_run") for name in calls):
                offenders.append(f"{path.relative_to(ROOT)}:{function}")
    assert offenders == []
    bench = _functions_calling(ROOT / "bench" / "duplicates.py", "Case.objects.bulk_create")
    assert bench and all("CaseFingerprint.objects.bulk_create" in calls for calls in bench.values())
