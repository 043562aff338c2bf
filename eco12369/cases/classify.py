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


# Matters people often report to 12369 that Art. 6 leaves to other departments (the chat and the hotline
# point the reporter to them at intake; the operator still decides: Art. 7 answer or Art. 8 hand-over).
# Each: the words that suggest it, and what the reporter is told.
OUTSIDE_SCOPE: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("油烟", "饭店", "餐馆", "饭馆", "烧烤", "餐厅", "小吃"),
        "餐饮油烟由城市管理（综合执法）部门负责，可拨打12345政务服务便民热线反映",
    ),
    (
        ("邻居", "楼上", "楼下", "装修", "广场舞", "狗叫", "宠物", "KTV", "ktv", "商铺喇叭", "音响"),
        "邻里、装修、娱乐等社会生活噪声由公安或城市管理部门负责，可拨打110或12345反映",
    ),
    (
        ("交通噪声", "鸣笛", "按喇叭", "车辆噪声", "摩托车", "炸街", "高架", "火车"),
        "交通噪声由公安交管、交通运输部门负责，可拨打12345反映",
    ),
    (
        ("垃圾", "乱堆", "乱倒建筑"),
        "生活垃圾、建筑垃圾由城市管理部门负责，可拨打12345反映",
    ),
)


def outside_scope_hint(text: str) -> str | None:
    """Where to go instead, when ``text`` reads like a matter outside Art. 6 (restaurant fumes, neighbours'
    or traffic noise, rubbish) and names no industrial pollution Art. 6 covers; None otherwise."""
    if any(word in text for word in ("厂", "企业", "公司", "危废", "危险废物", "黑渣", "化工")):
        return None
    for words, hint in OUTSIDE_SCOPE:
        if any(word in text for word in words):
            return hint
    return None
