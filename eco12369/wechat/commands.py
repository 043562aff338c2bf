"""What a reporter's text means before it can be report text (issue 12, D1): a command (查询…, 帮助, 取消,
提交…), small talk (你好, 在吗, 谢谢…), or neither. People type commands with spaces, colons, “编号”,
full-width letters and digits and a trailing 。 or ！; all of those are read the same. A command or a greeting
never becomes draft text (``handlers.on_text``)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# The case number: letters then digits (TJ + date + counter); what 查询 accepts after its prefix.
NUMBER = re.compile(r"^[a-z]{0,6}\d{6,20}$")
_QUERY_PREFIX = re.compile(r"^(?:查询|查詢|查看进度|查进度|进度查询|查一下|查)")
# What people put between 查询 and the number: “编号”, “举报编号”, “单号”, “号”, “是”…
_QUERY_FILLER = re.compile(r"^(?:我的)?(?:举报|案件)?(?:编号|单号|号码|号)?(?:是|为)?")
# 查询 <编号> <查询码> (issue 14: a caller given both on the phone): the code is the last 10 letters or
# digits, after the number, with or without a space or the word 查询码 between them.
_NUMBER_AND_CODE = re.compile(r"^(?P<number>.+?)(?:查询码|验证码|密码|码)?(?P<code>[a-z0-9]{10})$")
# The number before a code is a whole case number (prefix, 8 digits of date, 6 of counter), so a code is
# never cut out of a short number's digits.
_NUMBER_BEFORE_CODE = re.compile(r"^[a-z]{0,6}\d{14,20}$")
_SUBMIT = re.compile(r"^(?:确认|确定|我要)?提交")
_SUBMIT_TAIL = {"", "举报", "吧", "了", "啦", "一下", "吗", "呢", "好了", "举报吧"}
_CANCEL = re.compile(r"^(?:取消|放弃|撤销|不举报了|算了)")
HELP_WORDS = {"帮助", "help", "?", "菜单", "怎么举报", "如何举报", "使用说明", "说明", "操作说明"}
RULES_WORDS = {"举报须知", "须知", "受理范围"}
GREETINGS = {
    "你好", "您好", "你们好", "hi", "hello", "hey", "哈喽", "嗨", "hello你好",
    "在吗", "在么", "在嘛", "在不在", "有人吗", "有人在吗", "有人么", "客服", "人工", "人工客服",
    "谢谢", "谢谢你", "谢谢您", "谢谢你们", "多谢", "感谢", "非常感谢", "辛苦了",
    "好的", "好", "嗯", "嗯嗯", "ok", "okay", "收到", "知道了", "明白",
    "早", "早上好", "上午好", "中午好", "下午好", "晚上好", "你好客服", "您好客服", "喂",
}  # fmt: skip
_PARTICLES = "啊呀呢哈啦吧哦噢嘛么~"
_SEPARATORS = re.compile(r"[\s,.!?;:~、。…\"'“”‘’()\[\]【】<>《》\-—_*/]+")


@dataclass(frozen=True)
class Command:
    """A command: ``name`` is submit | cancel | help | rules | query | greeting; ``arg`` the number of a
    well-formed 查询 (None: list my cases), ``code`` the query code given after it (upper case; "" for
    none), ``malformed`` for a 查询 whose number cannot be read, ``text`` what followed 提交 when it was
    more than a word."""

    name: str
    arg: str | None = None
    code: str = ""
    malformed: bool = False
    text: str = ""


def compact(text: str) -> str:
    """``text`` as commands are compared: full-width folded (NFKC), lower case, no whitespace, no leading or
    trailing punctuation."""
    folded = unicodedata.normalize("NFKC", text).lower()
    folded = re.sub(r"\s+", "", folded)
    return _SEPARATORS.sub(" ", folded).strip().replace(" ", "")


def _is_greeting(text: str) -> bool:
    folded = unicodedata.normalize("NFKC", text).lower()
    parts = [p for p in _SEPARATORS.split(folded) if p]
    return bool(parts) and all(_greetings_only(p) for p in parts)


def _greetings_only(part: str) -> bool:
    """``part`` is greetings and particles run together (“在吗在吗”, “你好啊”, “谢谢您嘞”)."""
    reachable = [True] + [False] * len(part)
    for end in range(1, len(part) + 1):
        reachable[end] = (part[end - 1] in _PARTICLES + "嘞" and reachable[end - 1]) or any(
            reachable[start] and part[start:end] in GREETINGS for start in range(max(0, end - 8), end)
        )
    return reachable[-1] and any(ch not in _PARTICLES for ch in part)


def command_of(text: str) -> Command | None:
    """The command ``text`` is, or None when it is report text (or a rating, read by ``rating``)."""
    c = compact(text)
    if not c:
        return Command("help")
    submit = _SUBMIT.match(c)
    if submit:
        tail = c[submit.end() :]
        if tail.strip(_PARTICLES) in _SUBMIT_TAIL or tail in _SUBMIT_TAIL:
            return Command("submit")
        # “提交：某厂夜里排黑水” — the words after 提交 are report text, 提交 itself is not.
        rest = re.sub(
            r"^\s*(?:确认|确定|我要)?\s*提\s*交\s*(?:举报)?\s*[:：,，、]?", "", text.strip(), count=1
        )
        return Command("submit", text=rest.strip())
    if _CANCEL.match(c) and len(c) <= 10:
        return Command("cancel")
    if c in HELP_WORDS:
        return Command("help")
    if c in RULES_WORDS:
        return Command("rules")
    query = _QUERY_PREFIX.match(c)
    if query:
        loose = query.group(0) in ("查", "查一下")  # “查一查这个厂…” is report text, not a query
        rest = _QUERY_FILLER.sub("", c[query.end() :], count=1)
        if NUMBER.match(rest):
            return Command("query", arg=rest.upper())
        with_code = _NUMBER_AND_CODE.match(rest)
        if with_code and _NUMBER_BEFORE_CODE.match(with_code.group("number")):
            return Command(
                "query", arg=with_code.group("number").upper(), code=with_code.group("code").upper()
            )
        if not loose:
            return Command("query") if not rest else Command("query", malformed=True)
        if c == "查":
            return Command("query")
    if _is_greeting(text):
        return Command("greeting")
    return None
