"""Every kind of event issue #5 puts in the audit trail is there, attributed, without personal data, and
the chain stays verifiable: intake, every workflow action, reveals (test_reveal.py), exports, account
creation, role grants and revocations, admin changes, and a demo-like run end to end."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from eco12369.audit.models import AuditEntry
from eco12369.audit.services import audit_verify
from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.cases.workflow import TransitionError
from eco12369.orgs.models import Region, Role, RoleGrant, User
from eco12369.orgs.services import staff_create
from eco12369.stats import exports
from eco12369.stats import services as stats_services
from eco12369.stats.figures import Month

from .conftest import Staff

FIVE = {
    "party_facts": "该公司主要生产涂料。",
    "inspection": "执法人员赴现场检查。",
    "violations": "超标排放废水。",
    "decision": "责令改正。",
    "communication": "已电话告知举报人。",
}


def test_intake_and_every_transition_are_audited_with_from_and_to(
    staff: Staff, make_case: Callable[..., Case]
) -> None:
    case = make_case(reporter_name="张伟", reporter_phone="13812341234", reporter_openid="oAUDIT")
    receive = AuditEntry.objects.get(action="case.receive", object_id=case.number)
    assert receive.actor is None and receive.actor_label == "举报人·微信对话"
    assert receive.detail["to"] == "received"
    case = services.case_accept(case=case, actor=staff.operator)
    case = services.case_assign(case=case, actor=staff.operator, department=staff.handler.department)
    case = services.case_submit_reply(case=case, actor=staff.handler, **FIVE)
    case = services.case_approve(case=case, actor=staff.reviewer)
    entries = list(AuditEntry.objects.filter(object_type="case", object_id=case.number).order_by("id"))
    assert [(e.action, e.detail.get("from"), e.detail["to"]) for e in entries] == [
        ("case.receive", None, "received"),
        ("case.accept", "received", "accepted"),
        ("case.assign", "accepted", "handling"),
        ("case.submit_reply", "handling", "in_review"),
        ("case.approve", "in_review", "closed"),
    ]
    assert [e.actor_id for e in entries[1:]] == [
        staff.operator.pk,
        staff.operator.pk,
        staff.handler.pk,
        staff.reviewer.pk,
    ]
    for entry in entries:  # the trail says what happened to which case, never who reported it
        assert "张伟" not in str(entry.detail) and "13812341234" not in str(entry.detail)
        assert "oAUDIT" not in str(entry.detail)
    assert audit_verify().ok


def test_a_refused_transition_leaves_no_entry(staff: Staff, make_case: Callable[..., Case]) -> None:
    case = make_case()
    before = AuditEntry.objects.count()
    with pytest.raises(TransitionError):
        services.case_approve(case=case, actor=staff.reviewer)  # nothing to approve
    with pytest.raises(TransitionError):
        services.case_accept(case=case, actor=staff.hexi_operator)  # another district
    assert AuditEntry.objects.count() == before


def test_exports_are_audited(
    staff: Staff, make_case: Callable[..., Case], login: Callable[[User], Client]
) -> None:
    assert exports.pdf_problem() is None, exports.pdf_problem()
    heping = Region.objects.get(name="和平区")
    month = Month.of(timezone.now()).previous()
    stats_services.monthly_report_generate(actor=staff.operator, region=heping, month=month)
    client = login(staff.operator)
    base = f"/stats/{heping.code}/{month.key}"
    assert client.get(f"{base}/export.xlsx").status_code == 200
    assert client.get(f"{base}/export.pdf").status_code == 200
    entries = list(AuditEntry.objects.filter(action="export").order_by("id"))
    assert [(e.object_type, e.object_id, e.detail["format"], e.actor_id) for e in entries] == [
        ("monthly_report", f"{heping.code}/{month.key}", "xlsx", staff.operator.pk),
        ("monthly_report", f"{heping.code}/{month.key}", "pdf", staff.operator.pk),
    ]
    response = login(staff.city_head).get("/oversight/assessment/export/")
    assert response.status_code == 200
    last = AuditEntry.objects.filter(action="export").latest("id")
    assert (last.object_type, last.actor_id, last.detail["format"]) == (
        "assessment",
        staff.city_head.pk,
        "xlsx",
    )
    # A refused export (another district's report) is not an export.
    assert login(staff.hexi_operator).get(f"{base}/export.xlsx").status_code == 404
    assert AuditEntry.objects.filter(action="export").count() == 3
    assert audit_verify().ok


@pytest.mark.django_db
def test_accounts_and_roles_made_by_services_are_audited(tianjin: None) -> None:
    user = staff_create(username="newbie", password=None, agency=None, roles=["auditor"])
    assert AuditEntry.objects.filter(action="user_create", object_id=str(user.pk)).exists()
    grant = AuditEntry.objects.get(action="role_change", object_id=str(user.pk))
    assert grant.detail == {"change": "grant", "role": "auditor", "user": "newbie"}
    assert grant.actor_label == "system"  # not made by a logged-in user
    RoleGrant.objects.filter(user=user).delete()
    revoke = AuditEntry.objects.filter(action="role_change").latest("id")
    assert revoke.detail == {"change": "revoke", "role": "auditor"}
    assert audit_verify().ok


def test_admin_changes_of_accounts_and_roles_are_audited_with_the_administrator(
    staff: Staff, login: Callable[[User], Client]
) -> None:
    target = staff.hexi_operator
    admin = login(staff.admin)
    url = f"/admin/orgs/user/{target.pk}/change/"
    assert admin.get(url).status_code == 200
    grant = RoleGrant.objects.get(user=target)
    data = {
        "username": target.username,
        "display_name": "改名后的操作员",
        "phone": "",
        "email": "",
        "agency": str(target.agency_id),
        "department": "",
        "is_active": "on",
        "roles-TOTAL_FORMS": "2",
        "roles-INITIAL_FORMS": "1",
        "roles-MIN_NUM_FORMS": "0",
        "roles-MAX_NUM_FORMS": "1000",
        "roles-0-id": str(grant.pk),
        "roles-0-user": str(target.pk),
        "roles-0-role": "operator",
        "roles-0-DELETE": "on",
        "roles-1-user": str(target.pk),
        "roles-1-role": "handler",
        "_save": "保存",
    }
    response = admin.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    target.refresh_from_db()
    assert target.display_name == "改名后的操作员"
    assert set(target.roles.values_list("role", flat=True)) == {Role.HANDLER}
    changes = AuditEntry.objects.filter(action="role_change", object_id=str(target.pk)).order_by("id")
    assert {(e.detail["change"], e.detail["role"], e.actor_id) for e in changes if e.actor_id} == {
        ("revoke", "operator", staff.admin.pk),
        ("grant", "handler", staff.admin.pk),
    }
    admin_entry = AuditEntry.objects.get(action="admin_change", object_id=str(target.pk))
    assert admin_entry.actor_id == staff.admin.pk and admin_entry.detail["change"] == "change"
    assert admin_entry.ip == "127.0.0.1"
    assert audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_a_demo_run_leaves_a_verifiable_trail_of_every_kind() -> None:
    call_command("load_demo", cases=30, stdout=io.StringIO())
    kinds = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"user_create", "role_change", "case.receive", "case.accept", "case.approve"} <= kinds, kinds
    assert AuditEntry.objects.filter(action="case.receive").count() == Case.objects.count()
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "哈希链校验通过" in out.getvalue()
