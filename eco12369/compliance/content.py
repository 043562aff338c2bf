"""Outbound content rules (Art. 16): every text that can reach a reporter (reply parts, answers, hand-over
notices, extension reasons, reply templates) is checked against the active sensitive words, at submit
time and again at approval.

Matching: the text and the words are normalised the same way (NFKC: full-width letters and digits become
ASCII; case-folded; white space and zero-width characters removed, so "绝 密" is found too), then one
compiled alternation of all words (longest first) scans the text once. A few hundred words compile in
well under a millisecond and the compiled pattern is cached until the list changes.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .models import SensitiveWord

_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2060\ufeff]+")


def normalise(text: str) -> str:
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text or "").casefold())


@lru_cache(maxsize=8)
def _matcher(words: tuple[str, ...]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    by_key: dict[str, str] = {}
    for word in words:
        key = normalise(word)
        if key and key not in by_key:
            by_key[key] = word
    if not by_key:
        return None, {}
    pattern = re.compile("|".join(re.escape(k) for k in sorted(by_key, key=len, reverse=True)))
    return pattern, by_key


def active_words() -> tuple[str, ...]:
    return tuple(SensitiveWord.objects.filter(active=True).order_by("id").values_list("word", flat=True))


def content_check(text: str, *, words: tuple[str, ...] | None = None) -> list[str]:
    """The sensitive words found in ``text`` (as listed, each once, in order of appearance); empty: passes."""
    pattern, by_key = _matcher(active_words() if words is None else words)
    if pattern is None or not text:
        return []
    found: dict[str, None] = {}
    for match in pattern.finditer(normalise(text)):
        found.setdefault(by_key[match.group(0)], None)
    return list(found)


def content_check_all(texts: dict[str, str]) -> dict[str, list[str]]:
    """``content_check`` of several labelled texts with one query; only the labels with findings."""
    words = active_words()
    out = {}
    for label, text in texts.items():
        found = content_check(text, words=words)
        if found:
            out[label] = found
    return out


def refusal_message(
    findings: dict[str, list[str]],
    *,
    subject: str = "答复意见",
    approving: bool = False,
    ending: str | None = None,
) -> str:
    """The Chinese message that lists what was found, e.g. 答复意见含有不得发送给举报人的内容（第十六条）：
    “环保部门处理意见”中的“机密”。请修改后再提交。"""
    where = "；".join(
        f"“{label}”中的" + "、".join(f"“{w}”" for w in words) if label else "、".join(f"“{w}”" for w in words)
        for label, words in findings.items()
    )
    if ending is None:
        ending = "不能审核同意，请退回修改。" if approving else "请修改后再提交。"
    return f"{subject}含有不得发送给举报人的内容（第十六条：不得发送涉密信息、不良信息及垃圾信息）：{where}。{ending}"


class ContentBlocked(Exception):
    def __init__(self, findings: dict[str, list[str]], *, message: str) -> None:
        self.findings = findings
        self.message = message
        super().__init__(self.message)


def content_require_clean(
    texts: dict[str, str], *, subject: str = "答复意见", approving: bool = False, ending: str | None = None
) -> None:
    """Raise ``ContentBlocked`` (its ``message`` lists the words and where) when any text has findings."""
    findings = content_check_all(texts)
    if findings:
        message = refusal_message(findings, subject=subject, approving=approving, ending=ending)
        raise ContentBlocked(findings, message=message)
