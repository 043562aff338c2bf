"""The rules every text for the reporter or the public passes before a case action writes it: Art. 16
(no sensitive word, ``compliance.content``), no unfilled template marker (``cases.unfilled``), and for
the public summary Art. 13, 17 (no personal data)."""

from __future__ import annotations

from eco12369.compliance.content import ContentBlocked, content_require_clean

from ..models import (
    Case,
)
from ..public import PUBLIC_SUMMARY_MAX_LENGTH, reporter_secrets, scrub
from ..unfilled import unfilled_refusal
from ..workflow import (
    FIELD_LABELS,
    TransitionError,
)


def outbound_check(
    texts: dict[str, str], *, subject: str = "答复意见", approving: bool = False, ending: str | None = None
) -> None:
    """Art. 16: refuse a text meant for the reporter that contains sensitive words (the message lists
    them and where). Called inside the transition's effect, after the role, scope and state checks."""
    try:
        content_require_clean(
            {FIELD_LABELS.get(name, name): text for name, text in texts.items()},
            subject=subject,
            approving=approving,
            ending=ending,
        )
    except ContentBlocked as exc:
        raise TransitionError(exc.message) from exc


def require_finished(texts: dict[str, str], *, ending: str = "请补充实际情况后再提交。") -> None:
    """A reply template's 【请填写：…】 marker left in a text for the reporter: the text is not finished and
    would reach the reporter as is. Refused, naming the part and the marker."""
    problem = unfilled_refusal(
        {FIELD_LABELS.get(name, name): text for name, text in texts.items()}, ending=ending
    )
    if problem is not None:
        raise TransitionError(problem)


def public_summary_checked(case: Case, text: str) -> str:
    """Art. 13, 17: the case's public summary as staff wrote it, refused (not silently scrubbed) when it
    is too long, carries personal data (the reporter's name or phone, anything shaped like a phone or ID
    number: what ``scrub`` would remove), sensitive words or an unfilled template marker."""
    summary = (text or "").strip()
    if len(summary) > PUBLIC_SUMMARY_MAX_LENGTH:
        raise TransitionError(f"公开摘要不能超过{PUBLIC_SUMMARY_MAX_LENGTH}字（现为{len(summary)}字）。")
    if scrub(summary, secrets=reporter_secrets(case)) != summary:
        raise TransitionError(
            "公开摘要将在月度举报办理情况中向社会公开，不能包含举报人的姓名、电话，"
            "也不能包含电话号码、身份证号码等长串数字（日期请写作“3月4日”）。请修改后再提交。"
        )
    outbound_check({"公开摘要": summary}, subject="公开摘要")
    require_finished({"公开摘要": summary})
    return summary
