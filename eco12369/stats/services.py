"""Writes to monthly reports (Art. 13). Every status change is one function here; each checks the actor's
role and agency, locks the report, re-checks its status and writes the history line in one transaction.

Who may do what:
- a district bureau's operator (平台操作人员) generates, regenerates and edits the analysis of its own
  district's report and sends it for approval; the city centre's operator does the same for the city;
- the head (负责人) of the same bureau approves (the report is then public) or returns it;
- the operator or the head of a district bureau submits the approved report to the city centre;
- the city centre reads every report (selectors), but changes none of a district's.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from eco12369.audit.services import audit_record
from eco12369.cases.workflow import TransitionError
from eco12369.orgs.models import Agency, Region, Role, User

from .cache import monthly_figures_cached
from .figures import Month
from .models import MonthlyReport, MonthlyReportEvent

Status = MonthlyReport.Status


class ReportError(TransitionError):
    """A refused action on a monthly report; ``message`` is shown to the user as is (Chinese)."""


def owner_kind(region: Region) -> str:
    """The kind of agency that reports ``region``: the city centre for the city, a bureau for a district."""
    return Agency.Kind.CITY_CENTRE if region.level == Region.Level.CITY else Agency.Kind.DISTRICT_BUREAU


def reports_for(user: User) -> Region | None:
    """The region whose monthly report ``user``'s agency writes (None: none)."""
    agency = user.agency
    if agency is None or not agency.handles_cases:
        return None
    return agency.region


def _check(actor: User, region: Region, roles: tuple[Role, ...], action: str) -> None:
    if not actor.is_active:
        raise ReportError("账号已停用。")
    if not any(actor.has_role(role) for role in roles):
        names = "或".join(str(role.label) for role in roles)
        raise ReportError(f"您没有“{names}”权限，不能{action}。")
    agency = actor.agency
    if agency is None or agency.kind != owner_kind(region) or agency.region_id != region.pk:
        mine = agency.name if agency is not None else "未归属任何机构"
        raise ReportError(f"您只能{action}本机构所辖区域的月报（{mine}），不能{action}{region.name}的月报。")


def _lock(report: MonthlyReport) -> MonthlyReport:
    return MonthlyReport.objects.select_for_update().select_related("region").get(pk=report.pk)


def _log(report: MonthlyReport, actor: User, action: str, from_status: str, note: str = "") -> None:
    """The report's history line and the audit trail's entry (``monthly_report.<action>``), both in the
    caller's transaction: a refused or rolled-back change leaves neither."""
    MonthlyReportEvent.objects.create(
        report=report,
        action=action,
        actor=actor,
        at=timezone.now(),
        from_status=from_status,
        to_status=report.status,
        note=note,
    )
    audit_record(
        action=f"monthly_report.{action}",
        actor=actor,
        object_type="monthly_report",
        object_id=f"{report.region.code}/{report.month_obj.key}",
        detail={"from": from_status, "to": report.status},
    )


def _require_status(report: MonthlyReport, allowed: tuple[str, ...], action: str) -> None:
    if report.status not in allowed:
        raise ReportError(f"月报处于“{report.get_status_display()}”状态，不能{action}。")


def monthly_report_generate(
    *, actor: User, region: Region, month: Month, as_of: dt.datetime | None = None
) -> MonthlyReport:
    """Compute the month's figures and store them as the report's snapshot (new report, or a draft again)."""
    _check(actor, region, (Role.OPERATOR,), "生成")
    now = timezone.now()
    if month.end > now:
        raise ReportError(f"{month.label}尚未结束，月报须在月末之后生成。")
    figures = monthly_figures_cached(region=region, month=month, now=as_of or now).to_json()
    with transaction.atomic():
        report = (
            MonthlyReport.objects.select_for_update().filter(region=region, month=month.first_day).first()
        )
        if report is None:
            report = MonthlyReport.objects.create(
                region=region, month=month.first_day, figures=figures, generated_at=now, generated_by=actor
            )
            _log(report, actor, "generate", "")
            return report
        _require_status(report, (Status.DRAFT,), "重新生成")
        report.figures = figures
        report.generated_at = now
        report.generated_by = actor
        report.save()
        _log(report, actor, "regenerate", Status.DRAFT)
    return report


def monthly_report_edit_analysis(*, actor: User, report: MonthlyReport, analysis: str) -> MonthlyReport:
    """The operator writes the summary and analysis (汇总、分析) that goes with the figures."""
    _check(actor, report.region, (Role.OPERATOR,), "编辑")
    with transaction.atomic():
        locked = _lock(report)
        _require_status(locked, (Status.DRAFT,), "修改分析说明")
        locked.analysis = analysis.strip()
        locked.save()
        _log(locked, actor, "edit_analysis", locked.status)
    return locked


def monthly_report_send_for_approval(*, actor: User, report: MonthlyReport) -> MonthlyReport:
    _check(actor, report.region, (Role.OPERATOR,), "提交审批")
    with transaction.atomic():
        locked = _lock(report)
        _require_status(locked, (Status.DRAFT,), "提交审批")
        if not locked.analysis.strip():
            raise ReportError("请先填写分析说明，再提交负责人审批。")
        locked.status = Status.PENDING
        locked.return_note = ""
        locked.save()
        _log(locked, actor, "send_for_approval", Status.DRAFT)
    return locked


def monthly_report_return(*, actor: User, report: MonthlyReport, note: str) -> MonthlyReport:
    """The head sends the report back to the operator, with what to change."""
    _check(actor, report.region, (Role.HEAD,), "退回")
    if not note.strip():
        raise ReportError("请填写退回意见。")
    with transaction.atomic():
        locked = _lock(report)
        _require_status(locked, (Status.PENDING,), "退回")
        locked.status = Status.DRAFT
        locked.return_note = note.strip()
        locked.save()
        _log(locked, actor, "return", Status.PENDING, note.strip())
    return locked


def monthly_report_approve(*, actor: User, report: MonthlyReport, note: str = "") -> MonthlyReport:
    """The head approves: the report is final and published on the public disclosure page (Art. 13)."""
    _check(actor, report.region, (Role.HEAD,), "批准")
    with transaction.atomic():
        locked = _lock(report)
        _require_status(locked, (Status.PENDING,), "批准")
        locked.status = Status.APPROVED
        locked.approved_at = timezone.now()
        locked.approved_by = actor
        locked.save()
        _log(locked, actor, "approve", Status.PENDING, note.strip())
    return locked


def monthly_report_submit(*, actor: User, report: MonthlyReport) -> MonthlyReport:
    """A district reports its approved monthly report to the city centre (市级“平台”, Art. 13)."""
    _check(actor, report.region, (Role.OPERATOR, Role.HEAD), "报送")
    if report.region.level == Region.Level.CITY:
        raise ReportError("市级月报由市举报受理中心汇总，无需报送。")
    with transaction.atomic():
        locked = _lock(report)
        _require_status(locked, (Status.APPROVED,), "报送")
        locked.status = Status.SUBMITTED
        locked.submitted_at = timezone.now()
        locked.save()
        _log(locked, actor, "submit", Status.APPROVED)
    return locked


def allowed_actions(*, user: User, report: MonthlyReport) -> set[str]:
    """Which of the report actions ``user`` may run now (for showing buttons; the services re-check)."""
    out: set[str] = set()
    region = report.region
    candidates: list[tuple[str, tuple[Role, ...], tuple[str, ...]]] = [
        ("regenerate", (Role.OPERATOR,), (Status.DRAFT,)),
        ("edit_analysis", (Role.OPERATOR,), (Status.DRAFT,)),
        ("send_for_approval", (Role.OPERATOR,), (Status.DRAFT,)),
        ("return", (Role.HEAD,), (Status.PENDING,)),
        ("approve", (Role.HEAD,), (Status.PENDING,)),
    ]
    if region.level != Region.Level.CITY:
        candidates.append(("submit", (Role.OPERATOR, Role.HEAD), (Status.APPROVED,)))
    for action, roles, statuses in candidates:
        if report.status not in statuses:
            continue
        try:
            _check(user, region, roles, action)
        except ReportError:
            continue
        out.add(action)
    return out
