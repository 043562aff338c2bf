"""Duplicate reports (重复举报, Art. 14): finding earlier cases that report the same matter.

Two halves:

* **Scoring a pair** (pure functions, no database): the reported party (normalised company names), the
  place (haversine distance when both have coordinates, else address similarity), the time between the
  reports and the text of the descriptions (jieba tokens, boilerplate removed, compared with rapidfuzz).
  ``pair_score`` returns every component and the total; ``bench/duplicates.py`` measures precision and
  recall of ``total >= DUPLICATE_THRESHOLD`` on a labelled set of generated pairs.

* **Finding candidates** for a new case (``duplicates_find``): indexed queries on ``CaseFingerprint``
  (normalised party key + time; ~1 km grid cell + time) and on ``Case`` (region + time, newest first,
  capped) give a bounded candidate set whatever the number of cases; only those are scored.

How it runs: a ``post_save`` receiver on ``Case`` (``created=True``; see ``signals.py``) writes the case's
fingerprint in the creating transaction and, on commit, enqueues the Huey task ``duplicates_find_task``,
which calls ``duplicates_find(case=...)`` and stores ``DuplicateCandidate`` rows. The cases app is not
touched: intake from any channel (WeChat, H5, phone, API, demo) goes through ``case_create`` and so
through this hook.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz

# ------------------------------------------------------------------------------------------ settings
WINDOW_DAYS = 30  # an earlier case older than this is not a candidate
DUPLICATE_THRESHOLD = (
    0.55  # total score from which a candidate counts as a likely duplicate (bench/duplicates.py)
)
CANDIDATE_THRESHOLD = 0.35  # total score from which a candidate is stored and shown to the operator
MAX_CANDIDATES_STORED = 10
PARTY_LIMIT = 100  # newest cases of the same normalised party scanned
PLACE_LIMIT = 150  # newest cases of the nine grid cells around, and of the same street, scanned
REGION_SCAN_LIMIT = 150  # newest cases of the region scanned for a case with no party, place or street
NEAR_M = 150.0  # within this distance two places are the same place
FAR_M = 1000.0  # beyond this distance two places are different places
GRID_DEG = 0.01  # ~1.1 km north-south, ~0.86 km east-west at Tianjin's latitude

# ------------------------------------------------------------------------------- normalising names
_LEGAL_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团公司",
    "分公司",
    "公司",
    "集团",
    "总厂",
    "分厂",
    "厂",
)
_TRADE_WORDS = ("科技", "实业", "发展", "工贸", "贸易", "制造", "生产", "加工")
_BRACKETS = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@lru_cache(maxsize=1)
def _place_prefix() -> re.Pattern[str]:
    """天津市和平区, 天津和平区, 天津市, 天津, 和平区, 和平 … at the start of a name (longest first)."""
    from eco12369.orgs.tianjin import CITY, DISTRICTS

    city = CITY[1]
    names = [name for _, name in DISTRICTS]
    prefixes = [city + name for name in names] + [city[:-1] + name for name in names]
    prefixes += [city, city[:-1], *names, *(name[:-1] for name in names if len(name) > 2)]
    ordered = sorted(set(prefixes), key=len, reverse=True)
    return re.compile("^(?:" + "|".join(re.escape(p) for p in ordered) + ")")


_SUFFIX = re.compile(
    "(?:" + "|".join(re.escape(s) for s in (*_LEGAL_SUFFIXES, *_TRADE_WORDS)) + ")$",
)


@lru_cache(maxsize=8192)
def normalise_party(name: str) -> str:
    """天津市宏达化工有限公司, 宏达化工厂, （天津）宏达化工 → 宏达化工. Empty when nothing is left."""
    text = unicodedata.normalize("NFKC", name or "").lower()
    text = _BRACKETS.sub("", text)
    text = _NOISE.sub("", text)
    m = _place_prefix().match(text)
    if m and len(text) - m.end() >= 2:
        text = text[m.end() :]
    while (m := _SUFFIX.search(text)) and m.start() >= 2:
        text = text[: m.start()]
    return text[:100]


_ADDRESS_NOISE = re.compile("附近|旁边|对面|一带|周边|边上|门口|周围")
# The street (or town, park, village) part of an address: a coarse key to look candidates up by.
_STREET = re.compile(
    r"^(.+?(?:大道|大街|公路|工业园|工业区|开发区|产业园|产业区|经济区|路|道|街|巷|镇|乡|村|园|里))"
)


@lru_cache(maxsize=8192)
def normalise_address(address: str) -> str:
    text = unicodedata.normalize("NFKC", address or "").lower()
    text = _NOISE.sub("", text)
    text = _place_prefix().sub("", text, count=1)
    return _ADDRESS_NOISE.sub("", text)


def street_key(address: str) -> str:
    """宁河区芦台镇光明路12号附近 → 芦台镇; 西青区杨柳青大道120号 → 杨柳青大道 ("" when none is found)."""
    m = _STREET.match(normalise_address(address))
    return m.group(1)[:60] if m else ""


# ---------------------------------------------------------------------------------------- text
# Words every complaint uses (requests, generic harm, vague references to "the factory"): they say nothing
# about which matter is reported, so they are dropped before comparing descriptions.
STOPWORDS = frozenset(
    """
    的 了 在 是 我 我们 有 和 与 及 就 都 也 还 很 非常 特别 这 那 这个 那个 这家 那家 个 家 把 被 让 给 到 往 从
    对 又 并 而 着 过 吗 呢 啊 吧 呀 么 人 一 一个 一些 一直 已经 没有 不 没 能 会 要 想 说 看 去 来 上 下 里 外
    请 请求 希望 要求 强烈 尽快 及时 马上 立即 依法 查处 处理 解决 管 管一管 派人 看看 给个 说法 有关 有关部门
    环保 部门 环保部门 政府 领导 反映 举报 投诉 多次 多次反映 问题 情况 现象 事情 谢谢 感谢 麻烦 您好 你好
    附近 周边 周围 居民 村民 群众 大家 老百姓 生活 影响 严重 严重影响 意见 很大 持续 长时间 时间 很长 改善
    该 企业 工厂 厂子 厂 公司 单位 有家 位置 就 在 地方 位于 号 时候 以后 最近
    """.split()
)
_PUNCT = re.compile(r"^[\W_\d]+$", re.UNICODE)


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def text_tokens(text: str, *, drop: str = "") -> list[str]:
    """Content words of ``text`` (jieba, boilerplate and punctuation removed); ``drop`` (the reported party
    as written) is removed first, so the party's name does not make two different problems look alike."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    if drop:
        for name in sorted(
            {unicodedata.normalize("NFKC", drop).lower(), normalise_party(drop)}, key=len, reverse=True
        ):
            if len(name) >= 2:
                text = text.replace(name, " ")
    out = []
    for token in _jieba().lcut(text):
        token = token.strip()
        if not token or token in STOPWORDS or _PUNCT.match(token):
            continue
        out.append(token)
    return out


# What the pollution is, whatever words the reporter uses: a small lexicon of the problems reported to
# 12369 (Art. 6). Two descriptions of one matter often share no word ("机器轰鸣" / "风机嗡嗡响") but
# share the concept; two problems of one party (smoke / waste water) share words like the party's name
# but not the concept.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "smoke": ("黑烟", "冒烟", "浓烟", "烟囱", "烟筒", "烟尘", "锅炉", "烧煤"),
    "exhaust_gas": ("废气", "化工味", "有毒气体", "刺鼻的化学", "毒气", "排气筒"),
    "paint": ("喷漆", "喷涂", "油漆", "漆味", "漆雾", "喷漆房", "涂装"),
    "dust": ("扬尘", "粉尘", "尘土", "灰尘", "苫盖", "砂石", "料堆", "堆料场"),
    "fumes": ("油烟", "烧烤", "净化器", "油烟机", "饭店", "餐馆"),
    "discharge": ("偷排", "直排", "暗管", "排进河", "排到沟", "排污口", "黑水", "黑臭", "排污"),
    "coloured_water": ("颜色", "红色", "彩色", "五颜六色", "染成"),
    "overflow": ("漫流", "溢出", "溢流", "农田", "庄稼", "菜地", "麦子", "排污管破"),
    "construction": ("施工", "打桩", "打桩机", "工地", "渣土"),
    "machinery": ("机器", "设备", "风机", "轰鸣", "嗡嗡", "运转", "机械声"),
    "loading": ("装卸", "卸货", "货车", "叉车", "鸣笛", "装车"),
    "loudspeaker": ("音响", "喇叭", "广场舞", "叫卖", "ktv", "唱歌"),
    "waste_oil": ("废机油", "机油", "废油", "油桶", "黑油", "油污"),
    "hw_storage": ("危废", "危险废物", "废液", "废渣", "漏液", "露天堆放", "库房"),
    "e_waste": ("电路板", "电池", "电瓶", "电子垃圾", "拆解", "酸液"),
}
_CONCEPT_OF = {word: concept for concept, words in CONCEPTS.items() for word in words}


def concepts(text: str) -> frozenset[str]:
    text = unicodedata.normalize("NFKC", text or "").lower()
    return frozenset(concept for word, concept in _CONCEPT_OF.items() if word in text)


def token_similarity(a: list[str] | tuple[str, ...], b: list[str] | tuple[str, ...]) -> float:
    """0..1: rapidfuzz token_set_ratio (order-insensitive, tolerant of one text adding words), tempered by
    token-set Jaccard so that two texts sharing one or two words do not look alike."""
    if not a or not b:
        return 0.0
    set_a, set_b = set(a), set(b)
    jaccard = len(set_a & set_b) / len(set_a | set_b)
    tsr = fuzz.token_set_ratio(" ".join(sorted(set_a)), " ".join(sorted(set_b))) / 100.0
    return 0.5 * tsr + 0.5 * min(1.0, jaccard * 2)


def concept_similarity(a: frozenset[str], b: frozenset[str]) -> float | None:
    if not a or not b:
        return None
    return len(a & b) / len(a | b)


# --------------------------------------------------------------------------------------- places
def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def grid_cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / GRID_DEG), math.floor(lon / GRID_DEG)


def cell_key(cell: tuple[int, int]) -> str:
    return f"{cell[0]}:{cell[1]}"


def neighbour_keys(lat: float, lon: float) -> list[str]:
    """The cell of (lat, lon) and its eight neighbours: every point within ~850 m lies in one of them."""
    y, x = grid_cell(lat, lon)
    return [cell_key((y + dy, x + dx)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


# ---------------------------------------------------------------------------------------- pairs
@dataclass(frozen=True)
class Sketch:
    """What the detector knows of one case."""

    party: str  # normalised
    address: str  # normalised
    region: str  # district (any stable key); "" when unknown
    lat: float | None
    lon: float | None
    tokens: tuple[str, ...]
    concepts: frozenset[str]
    category: str
    received_at: dt.datetime


def sketch(
    *,
    reported_party: str,
    address: str,
    region: str,
    latitude: Decimal | float | None,
    longitude: Decimal | float | None,
    description: str,
    category: str,
    received_at: dt.datetime,
    tokens: list[str] | tuple[str, ...] | None = None,
    party_key: str | None = None,
    concept_set: frozenset[str] | None = None,
) -> Sketch:
    """A case's sketch; ``tokens``, ``party_key`` and ``concept_set`` when already computed (fingerprint)."""
    raw_party = (reported_party or "").strip()
    return Sketch(
        party=normalise_party(raw_party) if party_key is None else party_key,
        address=normalise_address(address),
        region=region,
        lat=float(latitude) if latitude is not None else None,
        lon=float(longitude) if longitude is not None else None,
        tokens=tuple(tokens if tokens is not None else text_tokens(description, drop=raw_party)),
        concepts=concepts(description) if concept_set is None else concept_set,
        category=category or "other",
        received_at=received_at,
    )


def sketch_from_dict(data: dict[str, Any]) -> Sketch:
    received = data["received_at"]
    if isinstance(received, str):
        received = dt.datetime.fromisoformat(received)
    return sketch(
        reported_party=data.get("reported_party", ""),
        address=data.get("address", ""),
        region=data.get("district", ""),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        description=data.get("description", ""),
        category=data.get("category", "other"),
        received_at=received,
    )


@dataclass(frozen=True)
class PairScore:
    total: float
    party: float | None  # None: at least one side names no party
    place: float | None  # None: nothing to compare
    text: float
    category: float | None  # None: at least one side not classified
    distance_m: float | None
    days: float
    veto: str = ""

    def __str__(self) -> str:
        def f(v: float | None) -> str:
            return "-" if v is None else f"{v:.2f}"

        dist = "-" if self.distance_m is None else f"{self.distance_m:.0f}m"
        return (
            f"total={self.total:.2f} party={f(self.party)} place={f(self.place)} text={self.text:.2f} "
            f"category={f(self.category)} dist={dist} days={self.days:.1f} {self.veto}"
        )


def party_similarity(a: Sketch, b: Sketch) -> float | None:
    if not a.party or not b.party:
        return None
    if a.party == b.party:
        return 1.0
    if a.party in b.party or b.party in a.party:
        return 0.9
    return fuzz.ratio(a.party, b.party) / 100.0


def place_similarity(a: Sketch, b: Sketch) -> tuple[float | None, float | None]:
    """(similarity 0..1, distance in metres when both have coordinates)."""
    if a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None:
        d = haversine_m(a.lat, a.lon, b.lat, b.lon)
        if d <= NEAR_M:
            return 1.0, d
        if d >= FAR_M:
            return 0.0, d
        return 1.0 - (d - NEAR_M) / (FAR_M - NEAR_M), d
    if a.region and b.region and a.region != b.region:
        return 0.0, None
    if a.address and b.address:
        return address_similarity(a.address, b.address), None
    return None, None


_HOUSE_NUMBER = re.compile(r"(\d+)号")


def address_similarity(a: str, b: str) -> float:
    """Normalised addresses: the street part compared with rapidfuzz; two different house numbers on one
    street are two different places."""
    number_a, number_b = _HOUSE_NUMBER.search(a), _HOUSE_NUMBER.search(b)
    street_a, street_b = _HOUSE_NUMBER.sub("", a), _HOUSE_NUMBER.sub("", b)
    if not street_a or not street_b:
        return 0.5
    if street_a in street_b or street_b in street_a:
        similarity = 1.0
    else:
        similarity = fuzz.ratio(street_a, street_b) / 100.0
    if number_a and number_b and number_a.group(1) != number_b.group(1):
        similarity *= 0.3
    return similarity


PROBLEM_WEIGHT = 0.7
VETO_CAP = 0.3
assert VETO_CAP < CANDIDATE_THRESHOLD


def text_similarity(a: Sketch, b: Sketch) -> float:
    tokens = token_similarity(a.tokens, b.tokens)
    shared = concept_similarity(a.concepts, b.concepts)
    if shared is None:
        return tokens
    return max(tokens, 0.4 * tokens + 0.6 * shared)


def category_similarity(a: Sketch, b: Sketch) -> float | None:
    if a.category == "other" or b.category == "other":
        return None
    return 1.0 if a.category == b.category else 0.0


def pair_score(*, new: Sketch, old: Sketch, exact: bool = True) -> PairScore:
    """How likely ``new`` reports the same matter as the earlier ``old``.

    The matter is a problem (what is reported) at a subject (who, where). The score is mostly the
    similarity of the problem (the description's words and pollution concepts), plus some for how well
    the subject matches; a clearly different party, place, pollution category or problem vetoes it
    (the total is capped at ``VETO_CAP``). ``exact=False`` skips the text comparison of vetoed pairs
    and reports them with a total of 0 (the finder does not store them either way).
    """
    party = party_similarity(new, old)
    place, distance = place_similarity(new, old)
    category = category_similarity(new, old)
    days = abs((new.received_at - old.received_at).total_seconds()) / 86400
    veto = ""
    if party is not None and party < 0.7:
        veto = "另一被举报对象"
    elif place is not None and place < 0.35 and (party is None or party < 0.9):
        veto = "地点不同"
    elif category == 0.0:
        veto = "污染类别不同"
    elif new.concepts and old.concepts and not (new.concepts & old.concepts):
        veto = "反映问题不同"
    elif days > WINDOW_DAYS:
        veto = "超出时间范围"
    if veto and not exact:
        # A vetoed pair scores at most VETO_CAP, below CANDIDATE_THRESHOLD: the text need not be compared.
        return PairScore(0.0, party, place, 0.0, category, distance, days, veto)
    text = text_similarity(new, old)
    subject_parts = [v for v in (party, place) if v is not None]
    subject = sum(subject_parts) / len(subject_parts) if subject_parts else 0.5
    total = PROBLEM_WEIGHT * text + (1 - PROBLEM_WEIGHT) * subject
    if veto:
        total = min(total, VETO_CAP)
    return PairScore(
        total=round(total, 4),
        party=party,
        place=place,
        text=round(text, 4),
        category=category,
        distance_m=distance,
        days=days,
        veto=veto,
    )


# ------------------------------------------------------------------------------------ the database
# Imported late: the pure half above is used by bench/duplicates.py without Django set up.
def _models() -> tuple[Any, Any, Any]:
    from eco12369.cases.models import Case

    from .models import CaseFingerprint, DuplicateCandidate

    return Case, CaseFingerprint, DuplicateCandidate


def fingerprint_values(*, reported_party: str, address: str, latitude: Any, longitude: Any) -> dict[str, str]:
    """The indexed look-up keys of a case: normalised party, street, ~1 km grid cell."""
    cell = ""
    if latitude is not None and longitude is not None:
        cell = cell_key(grid_cell(float(latitude), float(longitude)))
    return {"party_key": normalise_party(reported_party), "street_key": street_key(address), "geo_cell": cell}


def fingerprint_write(*, case: Any, new: bool = False) -> Any:
    """Create (``new``: the case was just inserted, one INSERT) or refresh the case's look-up keys. Cheap:
    no tokenising. Runs inside the creating transaction."""
    _, CaseFingerprint, _ = _models()
    values = fingerprint_values(
        reported_party=case.reported_party,
        address=case.address,
        latitude=case.latitude,
        longitude=case.longitude,
    )
    if new:
        return CaseFingerprint.objects.create(case_id=case.pk, received_at=case.received_at, **values)
    fingerprint, _ = CaseFingerprint.objects.update_or_create(
        case_id=case.pk, defaults={**values, "received_at": case.received_at}
    )
    return fingerprint


_ROW_FIELDS = (
    "id",
    "reported_party",
    "address",
    "latitude",
    "longitude",
    "category",
    "region_id",
    "received_at",
    "fingerprint__party_key",
    "fingerprint__tokens",
    "fingerprint__concepts",
    "fingerprint__tokenized",
)


def text_features(description: str, reported_party: str) -> tuple[list[str], frozenset[str]]:
    return text_tokens(description, drop=(reported_party or "").strip()), concepts(description)


def _concept_set(stored: str) -> frozenset[str]:
    return frozenset(c for c in stored.split(",") if c)


def _sketch_row(row: dict[str, Any], description: str | None) -> Sketch:
    if row["fingerprint__tokenized"]:
        tokens, concept_set = row["fingerprint__tokens"].split(), _concept_set(row["fingerprint__concepts"])
    else:
        tokens, concept_set = text_features(description or "", row["reported_party"])
    return sketch(
        reported_party=row["reported_party"],
        address=row["address"],
        region=str(row["region_id"]),
        latitude=row["latitude"],
        longitude=row["longitude"],
        description="",
        category=row["category"],
        received_at=row["received_at"],
        tokens=tokens,
        party_key=row["fingerprint__party_key"],
        concept_set=concept_set,
    )


def candidate_rows(*, case: Any, keys: dict[str, str], geo_cell_keys: list[str]) -> list[dict[str, Any]]:
    """Earlier cases worth scoring (``_ROW_FIELDS`` of each), from indexed look-ups bounded by the time
    window and a limit each (newest first): the same normalised party, a neighbouring grid cell, the same
    street. A case with none of these keys (text only) is compared with the newest cases of its region.
    One query per key, each reading the rows it finds (no second round trip for the candidates)."""
    Case, _, _ = _models()
    start = case.received_at - dt.timedelta(days=WINDOW_DAYS)
    end = case.received_at
    window = (
        Case.objects.filter(fingerprint__received_at__gte=start, fingerprint__received_at__lte=end)
        .exclude(pk=case.pk)
        .order_by("-fingerprint__received_at")
        .values(*_ROW_FIELDS)
    )
    found: list[Any] = []
    if keys["party_key"]:
        found.append(window.filter(fingerprint__party_key=keys["party_key"])[:PARTY_LIMIT])
    if geo_cell_keys:
        found.append(window.filter(fingerprint__geo_cell__in=geo_cell_keys)[:PLACE_LIMIT])
    if keys["street_key"]:
        found.append(window.filter(fingerprint__street_key=keys["street_key"])[:PLACE_LIMIT])
    if not found:
        found.append(
            Case.objects.filter(region_id=case.region_id, received_at__gte=start, received_at__lte=end)
            .exclude(pk=case.pk)
            .order_by("-received_at")
            .values(*_ROW_FIELDS)[:REGION_SCAN_LIMIT]
        )
    rows: dict[int, dict[str, Any]] = {}
    for queryset in found:
        for row in queryset:
            rows.setdefault(row["id"], row)
    return list(rows.values())


def duplicates_find(*, case: Any, store: bool = True) -> list[Any]:
    """Score the earlier cases that may report the same matter as ``case`` and (``store``) replace its
    ``DuplicateCandidate`` rows with those scoring at least ``CANDIDATE_THRESHOLD``, best first.

    Earlier means received before ``case`` (or at the same moment with a smaller id) within
    ``WINDOW_DAYS``. A handful of queries whatever the number of cases (see ``candidate_rows``); the
    candidates' tokens and concepts come from their fingerprints, computed once per case.
    """
    from django.db import transaction
    from django.utils import timezone

    Case, CaseFingerprint, DuplicateCandidate = _models()
    try:
        fingerprint = case.fingerprint  # loaded with the case by the task (select_related)
    except CaseFingerprint.DoesNotExist:
        fingerprint = fingerprint_write(case=case)
    tokenize_own = not fingerprint.tokenized
    if tokenize_own:
        own_tokens, own_concepts = text_features(case.description, case.reported_party)
    else:
        own_tokens, own_concepts = fingerprint.tokens.split(), _concept_set(fingerprint.concepts)
    new = sketch(
        reported_party=case.reported_party,
        address=case.address,
        region=str(case.region_id),
        latitude=case.latitude,
        longitude=case.longitude,
        description=case.description,
        category=case.category,
        received_at=case.received_at,
        tokens=own_tokens,
        party_key=fingerprint.party_key,
        concept_set=own_concepts,
    )
    cells = neighbour_keys(new.lat, new.lon) if new.lat is not None and new.lon is not None else []
    keys = {"party_key": fingerprint.party_key, "street_key": fingerprint.street_key}
    rows = candidate_rows(case=case, keys=keys, geo_cell_keys=cells)
    untokenized = [row["id"] for row in rows if not row["fingerprint__tokenized"]]
    descriptions = (
        dict(Case.objects.filter(pk__in=untokenized).values_list("id", "description")) if untokenized else {}
    )
    scored = []
    for row in rows:
        if row["received_at"] == case.received_at and row["id"] > case.pk:
            continue
        score = pair_score(new=new, old=_sketch_row(row, descriptions.get(row["id"])), exact=False)
        if score.total >= CANDIDATE_THRESHOLD:
            scored.append((score, row["id"]))
    scored.sort(key=lambda item: (-item[0].total, item[1]))  # equal scores: the earlier case first
    scored = scored[:MAX_CANDIDATES_STORED]
    now = timezone.now()
    candidates = [
        DuplicateCandidate(
            case_id=case.pk,
            candidate_id=pk,
            score=s.total,
            party_score=s.party,
            place_score=s.place,
            text_score=s.text,
            distance_m=round(s.distance_m, 1) if s.distance_m is not None else None,
            veto=s.veto,
            found_at=now,
        )
        for s, pk in scored
    ]
    if store:
        with transaction.atomic():
            if tokenize_own:
                CaseFingerprint.objects.filter(case_id=case.pk).update(
                    tokens=" ".join(own_tokens), concepts=",".join(sorted(own_concepts)), tokenized=True
                )
            _fingerprints_complete(CaseFingerprint, rows, descriptions)
            DuplicateCandidate.objects.filter(case_id=case.pk).delete()
            DuplicateCandidate.objects.bulk_create(candidates)
    return candidates


def _fingerprints_complete(model: Any, rows: list[dict[str, Any]], descriptions: dict[int, str]) -> None:
    """Store tokens and concepts of candidates seen for the first time (created before the finder ran)."""
    if not descriptions:
        return
    reported = {row["id"]: row["reported_party"] for row in rows}
    updates = []
    for pk, description in descriptions.items():
        tokens, concept_set = text_features(description, reported.get(pk, ""))
        updates.append(
            model(pk=pk, tokens=" ".join(tokens), concepts=",".join(sorted(concept_set)), tokenized=True)
        )
    model.objects.bulk_update(updates, ["tokens", "concepts", "tokenized"])
