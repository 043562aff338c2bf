"""Rating in the WeChat chat: ``评价 <编号> <1/2/3> [意见]`` (1 满意, 2 基本满意, 3 不满意).

``rating_reply`` is called by the chat's text handler (``handlers.on_text``) for every text; it returns None when the
text is not a rating command (so a report that happens to start with “评价” is still a report), else the
passive reply. ``评价`` alone lists the cases that can be rated; a level without a number rates the only
rateable case, or asks for the number when there are several.
"""

from __future__ import annotations

import re

from eco12369.cases.models import Case
from eco12369.followup import texts
from eco12369.followup.models import Rating
from eco12369.followup.selectors import rateable_cases_of, rating_days
from eco12369.followup.services import FollowupError, rating_submit

from .selectors import case_for_reporter

COMMAND = re.compile(
    r"^(?:评价|評價|回访评价)\s*[:：]?\s*"
    r"(?P<number>[A-Za-z]{0,6}\d{6,20})?\s*"
    r"(?P<level>(?:基本满意|不满意|满意|[123１２３])(?=$|[\s,，、:：。.!！]))?"
    r"(?:\s*[,，、:：]?\s*(?P<comment>.*))?$",
    re.S,
)
LEVEL_WORDS = {
    "满意": Rating.Level.SATISFIED,
    "基本满意": Rating.Level.BASIC,
    "不满意": Rating.Level.UNSATISFIED,
    "１": Rating.Level.SATISFIED,
    "２": Rating.Level.BASIC,
    "３": Rating.Level.UNSATISFIED,
    **texts.LEVEL_CODES,
}


def _lines(cases: list[Case]) -> str:
    return "\n".join(f"{c.number}（{c.get_outcome_display()}）" for c in cases)


def rating_reply(openid: str, content: str) -> str | None:
    text = (content or "").replace("\u3000", " ").strip()
    match = COMMAND.match(text)
    if match is None:
        return None
    number, level, comment = match.group("number"), match.group("level"), (match.group("comment") or "")
    comment = comment.strip()
    if number is None and level is None and comment:
        return None  # “评价一下这家工厂…”: a report, not a command
    rateable = list(rateable_cases_of(openid=openid)[:5])
    if number is None:
        if level is None:
            if not rateable:
                return texts.CHAT_NONE.format(days=rating_days())
            return texts.CHAT_LIST.format(lines=_lines(rateable), example=rateable[0].number)
        if len(rateable) != 1:
            if not rateable:
                return texts.CHAT_NONE.format(days=rating_days())
            return texts.CHAT_NEED_NUMBER.format(lines=_lines(rateable), example=rateable[0].number)
        case: Case | None = rateable[0]
    else:
        case = case_for_reporter(openid=openid, number=number)
        if case is None:
            return texts.CHAT_NOT_FOUND.format(number=number.upper())
    assert case is not None
    if level is None:
        return texts.CHAT_HOW.format(example=case.number)
    try:
        rating = rating_submit(
            case=case,
            openid=openid,
            level=LEVEL_WORDS[level],
            comment=comment,
            channel=Rating.Channel.WECHAT_CHAT,
        )
    except FollowupError as exc:
        return exc.message
    if rating.level == Rating.Level.UNSATISFIED:
        return texts.THANKS_UNSATISFIED.format(number=case.number)
    return texts.THANKS.format(number=case.number, level=rating.get_level_display())
