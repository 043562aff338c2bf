"""A first guess of a report's pollution category from its text, by keywords: the WeChat chat guesses it
when a draft is submitted, the hotline form as the operator types. The operator confirms the category when
accepting the case (``services.case_accept``)."""

from __future__ import annotations

from .models import Category

CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    Category.NOISE: ("噪声", "噪音", "吵", "轰鸣", "震动", "振动", "夜间施工"),
    Category.WATER: ("污水", "废水", "黑水", "排水", "河", "水体", "排污口", "水质", "湖", "渠"),
    Category.AIR: (
        "黑烟",
        "废气",
        "烟尘",
        "粉尘",
        "异味",
        "臭味",
        "气味",
        "烟囱",
        "焚烧",
        "扬尘",
        "冒烟",
        "刺鼻",
    ),
    Category.HAZARDOUS_WASTE: (
        "危废",
        "危险废物",
        "黑渣",
        "废油",
        "废液",
        "倾倒",
        "化学品",
        "废酸",
        "医疗废物",
    ),
}


def guess_category(text: str) -> str:
    """A first guess from keywords (the operator confirms the category when accepting)."""
    scores = {cat: sum(text.count(word) for word in words) for cat, words in CATEGORY_WORDS.items()}
    best = max(scores, key=lambda c: scores[c])
    if scores[best] == 0 or list(scores.values()).count(scores[best]) > 1:
        return str(Category.OTHER)
    return str(best)
