"""Fixed, approved texts for what the platform tells a reporter on its own (DESIGN §3, Art. 11, 16).

Only these templates, filled with case data, and replies a reviewer approved ever reach a reporter.
"""

from __future__ import annotations

from .models import Case


def _due(case: Case) -> str:
    from django.utils import timezone

    if case.close_due is None:
        return ""
    return timezone.localtime(case.close_due).strftime("%Y年%m月%d日")


def acknowledged(case: Case) -> str:
    return (
        f"您的举报已收到，编号 {case.number}，查询码 {case.query_code}（他人须凭编号和查询码才能查询，请妥善保管）。"
        f"我们将在2个工作日内确认处理，您可回复“查询 {case.number}”了解进度。感谢您对环境保护工作的支持！"
    )


def accepted(case: Case) -> str:
    return f"您的举报（编号 {case.number}）已由{case.agency.name}受理，将于{_due(case)}前办结并答复您。"


def extended(case: Case, days: int, reason: str) -> str:
    return (
        f"您的举报（编号 {case.number}）因{reason}，经负责人批准延期{days}日办理，"
        f"办结期限调整为{_due(case)}。"
    )


def duplicate(case: Case, original: Case) -> str:
    return (
        f"您的举报（编号 {case.number}）与此前举报（编号 {original.number}）反映的是同一事项，"
        f"将合并办理，办理结果请查询编号 {original.number}。"
    )


def merged_closed(case: Case, original: Case, status: str) -> str:
    """Told to the reporter of a duplicate when the case it was merged into closes (Art. 14)."""
    return (
        f"与您的举报（编号 {case.number}）合并办理的举报（编号 {original.number}）已办结（{status}）。"
        f"您可回复“查询 {original.number}”查看。"
    )


def rating_hint(case: Case) -> str:
    """The sentence that invites the reporter to rate the answer (follow-up, issue #7)."""
    from django.conf import settings

    days = int(settings.ECO.get("RATING_DAYS", 15))
    return (
        f"\n欢迎评价办理结果：{days}日内回复“评价 {case.number} 1”（1满意，2基本满意，3不满意，可附意见），"
        "或在“我的举报”中评价。"
    )


def closed(case: Case, reply_text: str) -> str:
    return f"您的举报（编号 {case.number}）已办结，办理结果如下：\n{reply_text}" + rating_hint(case)


def answered(case: Case, reply_text: str) -> str:
    return f"关于您反映的事项（编号 {case.number}），答复如下：\n{reply_text}" + rating_hint(case)


def handed_over(case: Case, reply_text: str) -> str:
    agency = case.handover_agency.name if case.handover_agency else ""
    return (
        f"您反映的事项（编号 {case.number}）不属于环境保护主管部门职责，已移交{agency}办理。\n{reply_text}"
        + rating_hint(case)
    )


def withdrawn(case: Case, reason: str) -> str:
    """Told to the reporter when they withdraw (撤回) their report (issue 14): the case is closed, kept."""
    why = f"（撤回理由：{reason}）" if reason else ""
    return (
        f"您已撤回举报（编号 {case.number}）{why}，该举报不再办理，记录予以保留。"
        "如问题仍然存在，可随时重新举报。"
    )


def reopened(case: Case) -> str:
    return (
        f"您的举报（编号 {case.number}）已由市举报受理中心交{case.agency.name}重新办理，"
        f"将于{_due(case)}前办结并答复您。"
    )
