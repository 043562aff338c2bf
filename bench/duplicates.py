"""Duplicate detection, measured: precision and recall of the real detector on a labelled set of case pairs.

    .venv/bin/python bench/duplicates.py                 # score bench/data/duplicate_pairs.jsonl
    .venv/bin/python bench/duplicates.py --fresh 7       # also score a freshly generated set (seed 7)
    .venv/bin/python bench/duplicates.py --generate      # rewrite the committed set (seed 12369)
    .venv/bin/python bench/duplicates.py --db 20000      # time duplicates_find() against N cases in the DB

The labelled set is generated (there is no public labelled corpus of 12369 reports): every pair is two
reports a person could plausibly write, labelled by construction.

Positives (the same matter reported twice, written differently):
  * the reported party with and without 天津市/有限公司/厂, the description paraphrased (other words for the
    pollution, the time, the harm and the request) but the same concrete detail (a landmark, a workshop),
    coordinates a few hundred metres apart or only an address written another way, one reporter who does
    not know the party's name.
Negatives:
  * the same party, a different problem (noise instead of waste water, or dust instead of smell);
  * the same place (an industrial park, a street), a different party, often the same kind of problem;
  * the same kind of problem (restaurant fumes, night construction) at another place;
  * different everything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "duplicate_pairs.jsonl"
SEED = 12369
N_PAIRS = 400

sys.path.insert(0, str(ROOT))

from eco12369.devkeys import use_key_file  # noqa: E402  (no Django import: safe before setup)

# ----------------------------------------------------------------------------------------- vocabulary
# District: (name, lat, lon, roads)
DISTRICTS: list[tuple[str, float, float, list[str]]] = [
    ("和平区", 39.117, 117.203, ["南京路", "南门外大街", "西康路", "营口道", "成都道"]),
    ("河东区", 39.128, 117.251, ["津塘路", "十一经路", "卫国道", "华昌大街", "六纬路"]),
    ("河西区", 39.099, 117.223, ["黑牛城道", "友谊路", "解放南路", "围堤道", "珠江道"]),
    ("南开区", 39.121, 117.151, ["复康路", "红旗路", "鞍山西道", "白堤路", "咸阳路"]),
    ("河北区", 39.148, 117.197, ["金纬路", "中山路", "王串场一号路", "昆纬路", "红星路"]),
    ("红桥区", 39.167, 117.151, ["西青道", "湘潭道", "丁字沽一号路", "光荣道", "芥园道"]),
    ("东丽区", 39.087, 117.314, ["津塘公路", "先锋路", "跃进路", "东金路", "华明大道"]),
    ("西青区", 39.141, 117.008, ["杨柳青大道", "津静公路", "大寺工业园", "中北大道", "赛达大道"]),
    ("津南区", 38.938, 117.357, ["咸水沽建设路", "津沽公路", "八里台工业园", "双港大道", "小站镇迎宾路"]),
    ("北辰区", 39.224, 117.135, ["京津公路", "北辰道", "双口工业园", "宜兴埠大街", "龙洲道"]),
    ("武清区", 39.384, 117.044, ["京滨工业园", "雍阳西道", "泉兴路", "杨村镇光明道", "崔黄口工业区"]),
    ("宝坻区", 39.717, 117.308, ["南环路", "九园工业园", "宝平公路", "广川路", "城关镇东大街"]),
    (
        "滨海新区",
        39.033,
        117.710,
        ["临港经济区", "大港石化产业园", "汉沽营城路", "塘沽新港路", "开发区第三大街"],
    ),
    ("宁河区", 39.330, 117.825, ["芦台镇光明路", "潘庄工业区", "东棘坨镇", "津榆公路", "宁河经济开发区"]),
    ("静海区", 38.947, 116.974, ["子牙循环经济产业区", "大邱庄工业区", "静海开发区", "胜利大街", "唐官屯镇"]),
    ("蓟州区", 40.046, 117.408, ["渔阳镇", "邦均镇", "州河湾", "上仓工业园", "兴华大街"]),
]
BRANDS = [
    "宏达",
    "鑫源",
    "金泰",
    "瑞丰",
    "永利",
    "德润",
    "华晟",
    "津港",
    "恒通",
    "联盛",
    "天宇",
    "顺发",
    "福源",
    "兴隆",
    "海润",
    "正大",
    "博远",
    "国泰",
    "立信",
    "明辉",
    "盛世",
    "众诚",
    "汇丰源",
    "新星",
    "东方红",
    "长城",
    "北洋",
    "利民",
    "荣达",
    "佳美",
    "鼎盛",
    "宝利",
    "友联",
    "华远",
    "建新",
    "泰和",
    "通宇",
    "凯旋",
    "银河",
    "万隆",
]
INDUSTRIES = {
    "air": ["化工", "喷涂", "铸造", "家具", "橡胶制品", "沥青搅拌", "印刷", "塑料制品", "钢管", "建材"],
    "water": ["印染", "电镀", "造纸", "食品加工", "养殖", "洗涤", "制药", "酿造", "皮革", "化工"],
    "noise": ["机械加工", "钢结构", "混凝土", "物流", "建筑工程", "石材加工", "冷链仓储", "木材加工"],
    "hazardous_waste": ["汽修", "电镀", "化工", "机械", "涂料", "电池回收", "五金", "线路板"],
}
PREFIXES = ["", "", "天津市", "天津", "天津{district}"]
SUFFIXES = ["有限公司", "有限公司", "有限责任公司", "科技有限公司", "厂", "股份有限公司"]
SHORT_SUFFIXES = ["", "厂", "公司"]

# Issues: each has words for what happens, what one sees or smells, and the harm; a paraphrase picks other
# words for each. Two issues of the same category are still different problems.
ISSUES: dict[str, list[dict[str, list[str]]]] = {
    "air": [
        {
            "act": ["烟囱冒黑烟", "烟筒往外冒浓黑的烟", "排放大量黑烟", "锅炉烟囱黑烟滚滚"],
            "sense": ["黑烟呛人", "烟尘落得到处都是", "空气里都是烟味", "窗台上落一层黑灰"],
        },
        {
            "act": ["排放刺鼻的化学气味", "往外排有毒废气", "废气不经处理直接排放", "散发很冲的化工味"],
            "sense": ["味道刺鼻熏得人头疼", "气味特别难闻让人恶心", "一股酸臭味", "闻了嗓子疼"],
        },
        {
            "act": ["露天喷漆", "在院子里喷漆作业", "没有任何遮挡就喷涂", "喷漆不进喷漆房"],
            "sense": ["油漆味非常重", "漆味飘进小区", "满是油漆的味道", "漆雾飘得到处都是"],
        },
        {
            "act": ["堆料场扬尘严重", "砂石料没有苫盖", "装卸时尘土飞扬", "料堆露天存放起大风就扬尘"],
            "sense": ["灰尘很大", "路面和车上全是土", "扬尘让人睁不开眼", "粉尘到处飘"],
        },
    ],
    "water": [
        {
            "act": ["偷排污水", "通过暗管往河里排废水", "把废水直接排进河道", "夜里往沟渠偷偷排污"],
            "sense": ["河水发黑发臭", "水面全是黑水还冒泡", "河道臭气熏天", "排口附近的水又黑又臭"],
        },
        {
            "act": ["排放带颜色的废水", "往外排红色的污水", "排出的水五颜六色", "废水带着颜色直排"],
            "sense": ["河水被染成了红色", "水面一片彩色", "整条沟的水颜色都不正常", "河水颜色很怪"],
        },
        {
            "act": ["污水漫流到农田", "废水溢出流进了地里", "排污管破了污水往外冒", "污水溢流淹了庄稼地"],
            "sense": ["庄稼都被污水泡死了", "地里一股臭味", "菜地都被污染了", "麦子一片枯黄"],
        },
    ],
    "noise": [
        {
            "act": ["夜间施工噪声扰民", "晚上还在施工", "半夜打桩机轰轰响", "深夜违规施工"],
            "sense": ["吵得根本睡不着", "噪音大得无法入睡", "震得窗户都响", "孩子被吵醒好几次"],
        },
        {
            "act": ["机器设备噪音很大", "车间机器轰鸣", "设备运转声音刺耳", "风机一直嗡嗡响"],
            "sense": ["周边居民不堪其扰", "屋里都能听到很大的声音", "白天晚上都吵", "老人心脏受不了"],
        },
        {
            "act": ["货车进出鸣笛装卸", "夜里装卸货物叮叮当当", "叉车和货车整夜作业", "凌晨卸货声音很大"],
            "sense": ["整晚都很吵", "严重影响休息", "楼上楼下都被吵醒", "根本没法睡觉"],
        },
    ],
    "hazardous_waste": [
        {
            "act": ["随意倾倒废机油", "把废机油倒进下水道", "废机油直接往地上倒", "废油桶乱扔乱倒"],
            "sense": ["地面全是黑油", "下水道口一层油", "土都被油浸透了", "雨水一冲油污到处流"],
        },
        {
            "act": [
                "危险废物露天堆放",
                "废液桶在院子里随便放",
                "危废没有专门库房就堆在外面",
                "化工废渣露天堆着",
            ],
            "sense": ["桶在漏液", "散发着刺鼻的味道", "地上有腐蚀的痕迹", "下雨时往外渗"],
        },
        {
            "act": ["焚烧废电路板", "私自拆解废电池", "偷偷烧电子垃圾", "拆解旧电瓶酸液乱倒"],
            "sense": ["冒出很难闻的黑烟", "一股塑料烧焦的味道", "酸液流得到处都是", "地上腐蚀出坑"],
        },
    ],
}
# Problems of a place rather than a named party (restaurants, building sites): the same words recur city-wide.
PLACE_ISSUES: dict[str, list[str]] = {
    "air": ["楼下烧烤店油烟直排", "饭店油烟机没有净化器", "烧烤摊烟熏火燎"],
    "noise": ["广场舞音响声音太大", "楼下商铺大喇叭叫卖", "KTV深夜噪音扰民"],
}
WHEN = [
    "每天夜里",
    "晚上十点以后",
    "凌晨两三点",
    "最近一个多月",
    "这几天",
    "周末",
    "每天早上",
    "下雨天的时候",
    "天黑以后",
    "",
]
DETAILS = [
    "厂区东侧围墙外",
    "靠近铁路桥的地方",
    "3号车间后面",
    "小区北门正对面",
    "加油站旁边",
    "河边的排水口",
    "后院的空地上",
    "厂门口西边",
    "高架桥底下",
    "学校南侧",
    "村委会后面",
    "二号仓库旁边",
    "水泵房附近",
    "围墙外的小沟",
    "厂区西北角",
    "停车场旁边",
]
DETAIL_VARIANTS = {
    "厂区东侧围墙外": ["厂子东边墙外", "东围墙外面"],
    "靠近铁路桥的地方": ["铁路桥附近", "铁路桥边上"],
    "3号车间后面": ["三号车间后头", "3号车间背后"],
    "小区北门正对面": ["小区北门对面", "正对着小区北门"],
    "加油站旁边": ["加油站边上", "挨着加油站"],
    "河边的排水口": ["河边排口", "河岸边的排水口"],
    "后院的空地上": ["后院空地", "院子后面的空地"],
    "厂门口西边": ["厂门西侧", "大门口往西"],
    "高架桥底下": ["高架桥下面", "高架下边"],
    "学校南侧": ["学校南边", "学校南面"],
    "村委会后面": ["村委会后头", "村委会背后"],
    "二号仓库旁边": ["2号仓库边上", "二号库房旁边"],
    "水泵房附近": ["泵房附近", "水泵房边上"],
    "围墙外的小沟": ["墙外的小水沟", "围墙外面的沟里"],
    "厂区西北角": ["厂子西北角", "西北角那块"],
    "停车场旁边": ["停车场边上", "挨着停车场"],
}
HARM = [
    "附近居民都不敢开窗",
    "孩子老人总咳嗽",
    "严重影响周边居民生活",
    "大家意见很大",
    "已经持续很长时间了",
    "村民反映多次没有改善",
    "上下班路过都要捂鼻子",
    "",
]
ASK = [
    "请环保部门尽快查处",
    "希望有关部门管一管",
    "强烈要求依法处理",
    "请尽快派人来看看",
    "请给个说法",
    "希望尽快解决",
    "",
]
NEAR = ["", "", "附近", "旁边", "对面", "一带"]


# ----------------------------------------------------------------------------------------- generator
class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.day0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)

    # -- parties
    def party(self, category: str) -> dict[str, str]:
        r = self.r
        return {"brand": r.choice(BRANDS), "industry": r.choice(INDUSTRIES[category]), "category": category}

    def party_name(self, p: dict[str, str], district: str, formal: bool | None = None) -> str:
        r = self.r
        formal = r.random() < 0.6 if formal is None else formal
        if formal:
            prefix = r.choice(PREFIXES).format(district=district)
            return f"{prefix}{p['brand']}{p['industry']}{r.choice(SUFFIXES)}"
        return f"{p['brand']}{p['industry']}{r.choice(SHORT_SUFFIXES)}"

    # -- places
    def place(self, district: tuple[str, float, float, list[str]] | None = None) -> dict[str, Any]:
        r = self.r
        d = district or r.choice(DISTRICTS)
        return {
            "district": d[0],
            "road": r.choice(d[3]),
            "no": r.randint(1, 400),
            "lat": d[1] + r.uniform(-0.04, 0.04),
            "lon": d[2] + r.uniform(-0.05, 0.05),
        }

    def near(self, place: dict[str, Any], max_m: float) -> dict[str, Any]:
        r = self.r
        dist = r.uniform(0, max_m)
        angle = r.uniform(0, 6.283)
        import math

        return {
            **place,
            "lat": place["lat"] + dist * math.cos(angle) / 111_000,
            "lon": place["lon"] + dist * math.sin(angle) / (111_000 * math.cos(math.radians(place["lat"]))),
        }

    def address(self, place: dict[str, Any]) -> str:
        r = self.r
        district = place["district"] if r.random() < 0.6 else ""
        number = f"{place['no']}号" if r.random() < 0.7 else ""
        return f"{district}{place['road']}{number}{r.choice(NEAR)}"

    # -- descriptions
    def describe(
        self, issue: dict[str, list[str]], party: str, detail: str, *, mention_party: bool = True
    ) -> str:
        r = self.r
        act, sense = r.choice(issue["act"]), r.choice(issue["sense"])
        when = r.choice(WHEN)
        if issue.get("place_issue"):
            who = ""
        elif party and mention_party and r.random() < 0.7:
            who = party
        else:
            who = r.choice(["这家厂", "这个厂子", "该企业", "有家工厂"])
        parts = [f"{who}{when}{act}", sense]
        if detail:
            parts.insert(r.randint(0, 1), f"位置在{detail}" if r.random() < 0.5 else f"就在{detail}")
        harm, ask = r.choice(HARM), r.choice(ASK)
        if harm:
            parts.append(harm)
        if ask:
            parts.append(ask)
        return "，".join(parts) + r.choice(["。", "！", "。", "！！"])

    def detail_variant(self, detail: str) -> str:
        return self.r.choice([detail, *DETAIL_VARIANTS[detail]])

    def case(
        self,
        *,
        party: str,
        place: dict[str, Any],
        text: str,
        category: str,
        days: float,
        coords: bool,
        address: bool = True,
    ) -> dict[str, Any]:
        at = self.day0 + dt.timedelta(days=days)
        return {
            "reported_party": party,
            "address": self.address(place) if address or not coords else "",
            "latitude": round(place["lat"], 6) if coords else None,
            "longitude": round(place["lon"], 6) if coords else None,
            "description": text,
            "category": category if self.r.random() < 0.8 else "other",
            "district": place["district"],
            "received_at": at.isoformat(),
        }

    # -- pairs
    def positive(self, i: int) -> dict[str, Any]:
        r = self.r
        category = r.choice(list(ISSUES))
        issue = r.choice(ISSUES[category])
        p = self.party(category)
        place = self.place()
        detail = r.choice(DETAILS) if r.random() < 0.8 else ""
        variant = r.choice(["both_named", "both_named", "one_unnamed", "address_only", "both_unnamed"])
        name_a = self.party_name(p, place["district"])
        name_b = self.party_name(p, place["district"])
        if variant in ("one_unnamed", "both_unnamed"):
            name_b = ""
        if variant == "both_unnamed":
            name_a = ""
        coords_a = variant != "address_only" and r.random() < 0.75
        coords_b = variant != "address_only" and r.random() < 0.75
        if variant in ("one_unnamed", "both_unnamed"):
            coords_a = coords_b = True  # without a name the place carries it: both reports have a location
        first = r.uniform(0, 10)
        a = self.case(
            party=name_a,
            place=place,
            text=self.describe(issue, name_a, detail),
            category=category,
            days=first,
            coords=coords_a,
        )
        b = self.case(
            party=name_b,
            place=self.near(place, 300),
            text=self.describe(
                issue,
                name_b or name_a,
                self.detail_variant(detail) if detail else "",
                mention_party=bool(name_b),
            ),
            category=category,
            days=first + r.uniform(0.1, 18),
            coords=coords_b,
        )
        return {"id": f"p{i:03d}", "label": 1, "kind": f"near_duplicate:{variant}", "a": a, "b": b}

    def negative(self, i: int) -> dict[str, Any]:
        r = self.r
        kind = r.choice(
            [
                "same_party_other_issue",
                "same_place_other_party",
                "same_place_other_issue",
                "same_issue_other_place",
                "different",
            ]
        )
        first = r.uniform(0, 10)
        second = first + r.uniform(0.1, 25)
        if kind == "same_party_other_issue":
            category = r.choice(list(ISSUES))
            p = self.party(category)
            other_category = r.choice([c for c in ISSUES if c != category] + [category])
            issue_a = r.choice(ISSUES[category])
            issue_b = r.choice([x for x in ISSUES[other_category] if x is not issue_a])
            place = self.place()
            name_a, name_b = self.party_name(p, place["district"]), self.party_name(p, place["district"])
            a = self.case(
                party=name_a,
                place=place,
                text=self.describe(issue_a, name_a, r.choice(DETAILS)),
                category=category,
                days=first,
                coords=r.random() < 0.7,
            )
            b = self.case(
                party=name_b,
                place=self.near(place, 200),
                text=self.describe(issue_b, name_b, r.choice(DETAILS)),
                category=other_category,
                days=second,
                coords=r.random() < 0.7,
            )
        elif kind == "same_place_other_party":
            category = r.choice(list(ISSUES))
            other_category = category if r.random() < 0.6 else r.choice(list(ISSUES))
            p, q = self.party(category), self.party(other_category)
            while q["brand"] == p["brand"]:
                q = self.party(other_category)
            place = self.place()
            issue_a = r.choice(ISSUES[category])
            issue_b = r.choice(ISSUES[other_category])
            name_a, name_b = self.party_name(p, place["district"]), self.party_name(q, place["district"])
            detail = r.choice(DETAILS) if r.random() < 0.3 else ""
            a = self.case(
                party=name_a,
                place=place,
                text=self.describe(issue_a, name_a, detail),
                category=category,
                days=first,
                coords=r.random() < 0.7,
            )
            b = self.case(
                party=name_b,
                place=self.near(place, 250),
                text=self.describe(issue_b, name_b, detail),
                category=other_category,
                days=second,
                coords=r.random() < 0.7,
            )
        elif kind == "same_place_other_issue":
            # An industrial park: one report names a factory's problem, another (no name) another problem.
            category = r.choice(list(ISSUES))
            other_category = category if r.random() < 0.5 else r.choice(list(ISSUES))
            issue_a = r.choice(ISSUES[category])
            issue_b = r.choice([x for x in ISSUES[other_category] if x is not issue_a])
            p = self.party(category)
            place = self.place()
            name_a = self.party_name(p, place["district"]) if r.random() < 0.5 else ""
            a = self.case(
                party=name_a,
                place=place,
                text=self.describe(issue_a, name_a, r.choice(DETAILS)),
                category=category,
                days=first,
                coords=True,
            )
            b = self.case(
                party="",
                place=self.near(place, 250),
                text=self.describe(issue_b, "", r.choice(DETAILS)),
                category=other_category,
                days=second,
                coords=r.random() < 0.8,
            )
        elif kind == "same_issue_other_place":
            category = r.choice(list(PLACE_ISSUES))
            what = r.choice(PLACE_ISSUES[category])
            issue = {"act": [what], "sense": r.choice(ISSUES[category])["sense"], "place_issue": ["1"]}
            place_a = self.place()
            place_b = self.place()  # another street, maybe another district
            while abs(place_a["lat"] - place_b["lat"]) + abs(place_a["lon"] - place_b["lon"]) < 0.02:
                place_b = self.place()
            a = self.case(
                party="",
                place=place_a,
                text=self.describe(issue, "", ""),
                category=category,
                days=first,
                coords=True,
            )
            b = self.case(
                party="",
                place=place_b,
                text=self.describe(issue, "", ""),
                category=category,
                days=second,
                coords=r.random() < 0.7,
            )
        else:
            ca, cb = r.choice(list(ISSUES)), r.choice(list(ISSUES))
            p, q = self.party(ca), self.party(cb)
            place_a, place_b = self.place(), self.place()
            name_a = self.party_name(p, place_a["district"]) if r.random() < 0.8 else ""
            name_b = self.party_name(q, place_b["district"]) if r.random() < 0.8 else ""
            a = self.case(
                party=name_a,
                place=place_a,
                text=self.describe(r.choice(ISSUES[ca]), name_a, r.choice(DETAILS)),
                category=ca,
                days=first,
                coords=r.random() < 0.7,
            )
            b = self.case(
                party=name_b,
                place=place_b,
                text=self.describe(r.choice(ISSUES[cb]), name_b, r.choice(DETAILS)),
                category=cb,
                days=second,
                coords=r.random() < 0.7,
            )
        return {"id": f"n{i:03d}", "label": 0, "kind": kind, "a": a, "b": b}


def generate(seed: int, n: int = N_PAIRS) -> list[dict[str, Any]]:
    gen = Gen(seed)
    pairs = [gen.positive(i) for i in range(n // 2)] + [gen.negative(i) for i in range(n - n // 2)]
    gen.r.shuffle(pairs)
    return pairs


def load(path: Path = DATA) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def save(pairs: list[dict[str, Any]], path: Path = DATA) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for pair in pairs:
            fh.write(json.dumps(pair, ensure_ascii=False, sort_keys=True) + "\n")


# ------------------------------------------------------------------------------------------ evaluation
def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eco12369.settings")
    # Production settings need keys: the benchmark's own, kept with its database (bench/run.py).
    use_key_file(ROOT / "var" / "bench" / "var" / "secrets.env")
    import django

    django.setup()


def evaluate(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Run the detector's real pair scoring on every pair: counts, precision, recall, timing, the misses."""
    from eco12369.oversight.duplicate_scoring import DUPLICATE_THRESHOLD, pair_score, sketch_from_dict

    sketches = [(sketch_from_dict(p["a"]), sketch_from_dict(p["b"])) for p in pairs]
    start = time.perf_counter()
    scores = [pair_score(new=b, old=a) for a, b in sketches]
    elapsed = time.perf_counter() - start
    tp = fp = fn = tn = 0
    errors = []
    for pair, score in zip(pairs, scores, strict=True):
        predicted = score.total >= DUPLICATE_THRESHOLD
        if predicted and pair["label"]:
            tp += 1
        elif predicted:
            fp += 1
        elif pair["label"]:
            fn += 1
        else:
            tn += 1
        if predicted != bool(pair["label"]):
            errors.append((pair, score))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "pairs": len(pairs),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": precision,
        "recall": recall,
        "us_per_pair": elapsed / max(len(pairs), 1) * 1e6,
        "errors": errors,
    }


def report(title: str, result: dict[str, Any], show_errors: int) -> None:
    print(
        f"{title}: {result['pairs']} pairs  TP={result['tp']} FP={result['fp']} FN={result['fn']} TN={result['tn']}  "
        f"precision={result['precision']:.3f} recall={result['recall']:.3f}  "
        f"scoring {result['us_per_pair']:.0f} µs/pair"
    )
    for pair, score in result["errors"][:show_errors]:
        print(f"  {pair['id']} label={pair['label']} {pair['kind']}: {score}")
        print(f"     a: {pair['a']['reported_party']} | {pair['a']['address']} | {pair['a']['description']}")
        print(f"     b: {pair['b']['reported_party']} | {pair['b']['address']} | {pair['b']['description']}")


def bench_db(n: int, probes: int = 200) -> None:
    """Fill a scratch test database with ``n`` cases over a year (bulk, with tokenised fingerprints, as the
    finder leaves them), then time ``duplicates_find`` for ``probes`` new cases created the normal way."""
    import statistics

    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True  # run the intake hook in-process: never enqueue into a shared queue
    logging.getLogger("huey").setLevel(logging.WARNING)
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from eco12369.cases.models import Case
        from eco12369.cases.services import case_create
        from eco12369.orgs.models import Agency, Region
        from eco12369.orgs.tianjin import tianjin_load
        from eco12369.oversight.duplicate_scoring import (
            CANDIDATE_THRESHOLD,
            case_problems,
            concepts,
            pair_score,
            sketch_from_dict,
            text_tokens,
        )
        from eco12369.oversight.duplicates import case_grams, duplicates_find, fingerprint_values
        from eco12369.oversight.models import CaseFingerprint, CaseGram

        tianjin_load()
        gen = Gen(SEED)
        regions = {r.name: r for r in Region.objects.filter(level=Region.Level.DISTRICT)}
        bureaus = {a.region_id: a for a in Agency.objects.filter(kind=Agency.Kind.DISTRICT_BUREAU)}
        pool = []  # distinct reports, reused: tokenising a million texts would only time jieba
        for _ in range(3000):
            pair = gen.positive(0)
            for side in ("a", "b"):
                c = pair[side]
                c["tokens"] = " ".join(text_tokens(c["description"], drop=c["reported_party"]))
                c["concepts"] = ",".join(sorted(concepts(c["description"])))
                c["problems"] = ",".join(sorted(case_problems(c["description"], c["category"])))
                pool.append(c)
        now = dt.datetime.now(dt.UTC)
        start = time.perf_counter()
        batch = 5000
        for offset in range(0, n, batch):
            cases, chosen = [], []
            for i in range(offset, min(n, offset + batch)):
                c = gen.r.choice(pool)
                chosen.append(c)
                received = now - dt.timedelta(days=gen.r.uniform(1, 365))
                region = regions[c["district"]]
                cases.append(
                    Case(
                        number=f"BENCH{i:09d}",
                        channel="wechat_chat",
                        category=c["category"],
                        region=region,
                        agency=bureaus[region.pk],
                        reported_party=c["reported_party"],
                        address=c["address"],
                        latitude=c["latitude"],
                        longitude=c["longitude"],
                        description=c["description"],
                        received_at=received,
                        confirm_due=received + dt.timedelta(days=2),
                        state="closed",
                    )
                )
            Case.objects.bulk_create(cases)
            prints = [
                CaseFingerprint(
                    case_id=case.pk,
                    received_at=case.received_at,
                    tokens=c["tokens"],
                    concepts=c["concepts"],
                    problems=c["problems"],
                    tokenized=True,
                    **fingerprint_values(
                        reported_party=case.reported_party,
                        address=case.address,
                        latitude=case.latitude,
                        longitude=case.longitude,
                    ),
                )
                for case, c in zip(cases, chosen, strict=True)
            ]
            CaseFingerprint.objects.bulk_create(prints)
            CaseGram.objects.bulk_create(
                [
                    gram
                    for case in cases
                    for gram in case_grams(
                        case_id=case.pk,
                        reported_party=case.reported_party,
                        address=case.address,
                        received_at=case.received_at,
                    )
                ]
            )
            print(f"\r  {min(n, offset + batch):>9} cases", end="", flush=True)
        print(f"\r  {n} cases written in {time.perf_counter() - start:.0f}s on {connection.vendor}")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        timings, cpu, candidates, queries, scanned = [], [], [], [], []
        expected = recalled = 0
        for _ in range(probes):
            # Recall at scale: a fresh report of a generated pair (not in the table) goes in 1-20 days
            # before its second report; the finder must find it among the table's look-alikes whenever the
            # pair alone scores as a candidate.
            pair = gen.positive(0)
            first, c = pair["a"], pair["b"]
            received = now - dt.timedelta(days=gen.r.uniform(1, 20))
            earlier = case_create(intake=_intake(first, regions, received_at=received))
            case = case_create(intake=_intake(c, regions))
            alone = pair_score(
                new=sketch_from_dict({**c, "received_at": now}),
                old=sketch_from_dict({**first, "received_at": received}),
            )
            reset_queries()
            with CaptureQueriesContext(connection) as ctx:
                t0, c0 = time.perf_counter(), time.process_time()
                found = duplicates_find(case=case)
                timings.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            if alone.total >= CANDIDATE_THRESHOLD:
                expected += 1
                recalled += any(f.candidate_id == earlier.pk for f in found)
            candidates.append(len(found))
            queries.append(len(ctx))
            scanned.append(len(_scanned(case)))
        timings.sort()
        cpu.sort()
        print(
            f"  duplicates_find over {n} cases: median {statistics.median(timings):.1f} ms, "
            f"p95 {timings[int(len(timings) * 0.95) - 1]:.1f} ms, max {timings[-1]:.1f} ms; "
            f"{statistics.mean(queries):.1f} queries, {statistics.mean(scanned):.0f} cases scored, "
            f"{statistics.mean(candidates):.1f} candidates stored"
        )
        print(
            f"  CPU time of this process (SQLite runs in it): median {statistics.median(cpu):.1f} ms, "
            f"p95 {cpu[int(len(cpu) * 0.95) - 1]:.1f} ms"
        )
        print(
            f"  recall at scale: the earlier report of a pair found among {n} cases in {recalled} of "
            f"{expected} probes whose pair alone scores >= {CANDIDATE_THRESHOLD} ({recalled / max(1, expected):.3f})"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def _intake(c: dict[str, Any], regions: dict[str, Any], received_at: dt.datetime | None = None) -> Any:
    from eco12369.cases.services import Intake

    return Intake(
        channel="wechat_chat",
        description=c["description"],
        category=c["category"],
        district=regions[c["district"]],
        reported_party=c["reported_party"],
        address=c["address"],
        latitude=c["latitude"],
        longitude=c["longitude"],
        received_at=received_at,
    )


def _scanned(case: Any) -> set[int]:
    from eco12369.oversight.duplicate_scoring import (
        lookup_grams,
        neighbour_keys,
        normalise_address,
        normalise_party,
    )
    from eco12369.oversight.duplicates import candidate_ids

    cells = neighbour_keys(float(case.latitude), float(case.longitude)) if case.latitude is not None else []
    grams = lookup_grams(normalise_party(case.reported_party), normalise_address(case.address))
    return set(candidate_ids(case=case, grams=grams, geo_cell_keys=cells))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--generate", action="store_true", help="rewrite the committed labelled set")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--pairs", type=int, default=N_PAIRS)
    parser.add_argument("--fresh", type=int, metavar="SEED", help="also score a freshly generated set")
    parser.add_argument("--errors", type=int, default=10, help="misclassified pairs to show")
    parser.add_argument(
        "--db", type=int, metavar="N", help="time duplicates_find() with N cases in a test DB"
    )
    args = parser.parse_args()
    if args.generate:
        save(generate(args.seed, args.pairs))
        print(f"wrote {args.pairs} pairs to {DATA.relative_to(ROOT)}")
    _setup_django()
    result = evaluate(load())
    report(str(DATA.relative_to(ROOT)), result, args.errors)
    ok = result["precision"] >= 0.9 and result["recall"] >= 0.9
    if args.fresh is not None:
        fresh = evaluate(generate(args.fresh, args.pairs))
        report(f"fresh set (seed {args.fresh})", fresh, args.errors)
    if args.db:
        bench_db(args.db)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
