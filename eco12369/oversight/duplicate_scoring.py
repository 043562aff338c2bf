"""Scoring a pair of reports (重复举报, Art. 14): pure functions, no database, no Django models.

``pair_score(new=…, old=…)`` compares two reports component by component and combines the components with
a logistic model whose weights were fitted on the hand-written labelled corpus (``tests/data/duplicates/
tune.jsonl``; ``fit_weights`` refits them, see ``WEIGHTS``). The components:

* **party** (被举报对象): character uni- and bigrams of the names with the place prefix (天津市西青区), the
  anonymising marks (某, 某某, XX, ***), legal suffixes and generic trade words (有限公司, 科技, 厂) removed;
  reporters name one party by its legal name, its brand, its trade and street, or not at all;
* **place** (地点): the haversine distance when both have coordinates, else the character n-grams of the
  addresses (with a house number that differs counted against), the district when both are known, and the
  party and address of each side read together (a party named by its address: 新北路4668号);
* **trade** (行业): what kind of business the party is (汽修, KTV, 锅炉房 …), to tell one chain or trade in
  two districts apart;
* **problem** (问题): what the pollution is (noise, waste water, smoke, dust, cooking fumes …), to tell two
  problems of one factory apart;
* **text** (内容): content words of the descriptions (jieba) and their pollution concepts;
* **time** (时间): days between the reports.

Text is folded first: NFKC, lower case, traditional characters to simplified (a hand table of the ~600
characters reporters use; no library needed for that).

Every component adds to the model's log-odds, none caps the total. A pair at or above
``DUPLICATE_THRESHOLD`` reports the same matter: a duplicate when the earlier case is open, a repeat (重复
举报 after closing, ``REPEAT_DAYS``) when it was closed before the new report.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz

from eco12369.orgs.places import CITY, DISTRICTS

# ------------------------------------------------------------------------------------------ settings
WINDOW_DAYS = 30  # an earlier open case received longer ago than this is not a duplicate candidate
REPEAT_DAYS = 365  # a report within this many days after an earlier case closed is a repeat (重复举报)
CANDIDATE_THRESHOLD = 0.15  # probability from which a candidate is stored and shown to the operator
NEAR_M = 150.0  # within this distance two places are the same place
FAR_M = 1000.0  # beyond this distance two places are different places
GRID_DEG = 0.01  # ~1.1 km north-south, ~0.86 km east-west at Tianjin's latitude

# ---------------------------------------------------------------------------------------- folding
_TRADITIONAL = (
    "區鎮號廠場燒廢氣難煙膠業園門車輛沒蓋開關聲響灣華東縣鄉莊於裡裏邊頭條橋樓這們個麼會來時間問題現處環護"
    "舉報訴該請謝說話讓對從後過還進運動機電線紅綠藍黃臺發髮樣種製紙纖維織鋼鐵鍋爐飯館雞鴨豬養糞汙濁潔淨產"
    "聽見覺點鐘漢鹹寶薊靜濱寧豐濟經務廣單優質團體實際隊陽陰嶺灘溝滿濕漿滲傾積廈層齊劑藥醫學員網絡設備裝貨"
    "輸遠離壓噸驗檢測標準規範違罰證許營銷買賣價錢鋪擾鬧戶幾兩萬億與為爲無應當總統計劃畫燈熱纜軌輪艙農麥糧"
    "穀魚蝦蟲蠅飛揚塵礦碼磚窯鑄鍍噴塗飾傢閥餾煉氫鹼鹽鉛鋅銅鋁錫鎳鉻鎘圍誼興達恆匯陳張劉楊趙吳鄭馬孫蘇葉龍"
    "鳳書聯雙橫豎衛術藝協辦廳夥麵麪鍵顏篩選擇攪轟鳴嗎纔眾衆舊隻禮風颳颱霧淺滾濃嗆噁暈燻醃臟髒亂倉庫儲餘殘"
    "壞損斷續繼閒閑陣極竊晝據屬異樁鑽築構項細絲紗綿縫紡饅燙錄鏈鎖閘鏡賓駛駕換擋攔掃撥觸邁遲遼遞鄰郵釀釣鈴"
    "錯鍛鑑長階隨險隱雜靈韓頂順須預領頻顆類顯飄飼飽餅駐騷驚鬆鬥魯鮮鳥鵝麗黨齒歲漬澆灑濾潑凈湧嚴啟啓塊壩墳"
    "奮奪婦孃寬專將尋導屆岡嶼巖幣幫廟彈徑徵懷戲擁擠擬擴攜敗敵數斂斬暫曆歷曬棄樸樹檔櫃歡殺毀氾決沖況洩淚溫"
    "滅滯滷漲潛澤濤瀋災烏煩爭牆狀獨獲瑪甦畢畝疊瘋療盜盡監盤瞭確礙禍稅稱穩窮竄筆節簡籃籠紀約級紛純終組結絕"
    "給綁綜緊緒練縮績繩繪繳罷義習聖聞肅脅脈腦腫膚膽臉臨艦蘭虛蝕衝補複視親觀記訊診詞試詳認誤調談論諮謀識議"
    "讀變貝負財貢責貴費賀資賠賽贊趕趨跡踐軍軟載較輕適遺醜釋針鈔銀銳錶鍊鑰閃閉閱闆陸雖雲頁頓頸額願餵騎驅黴"
    "齡"
)
_SIMPLIFIED = (
    "区镇号厂场烧废气难烟胶业园门车辆没盖开关声响湾华东县乡庄于里里边头条桥楼这们个么会来时间问题现处环护"
    "举报诉该请谢说话让对从后过还进运动机电线红绿蓝黄台发发样种制纸纤维织钢铁锅炉饭馆鸡鸭猪养粪污浊洁净产"
    "听见觉点钟汉咸宝蓟静滨宁丰济经务广单优质团体实际队阳阴岭滩沟满湿浆渗倾积厦层齐剂药医学员网络设备装货"
    "输远离压吨验检测标准规范违罚证许营销买卖价钱铺扰闹户几两万亿与为为无应当总统计划画灯热缆轨轮舱农麦粮"
    "谷鱼虾虫蝇飞扬尘矿码砖窑铸镀喷涂饰家阀馏炼氢碱盐铅锌铜铝锡镍铬镉围谊兴达恒汇陈张刘杨赵吴郑马孙苏叶龙"
    "凤书联双横竖卫术艺协办厅伙面面键颜筛选择搅轰鸣吗才众众旧只礼风刮台雾浅滚浓呛恶晕熏腌脏脏乱仓库储余残"
    "坏损断续继闲闲阵极窃昼据属异桩钻筑构项细丝纱绵缝纺馒烫录链锁闸镜宾驶驾换挡拦扫拨触迈迟辽递邻邮酿钓铃"
    "错锻鉴长阶随险隐杂灵韩顶顺须预领频颗类显飘饲饱饼驻骚惊松斗鲁鲜鸟鹅丽党齿岁渍浇洒滤泼净涌严启启块坝坟"
    "奋夺妇娘宽专将寻导届冈屿岩币帮庙弹径征怀戏拥挤拟扩携败敌数敛斩暂历历晒弃朴树档柜欢杀毁泛决冲况泄泪温"
    "灭滞卤涨潜泽涛沈灾乌烦争墙状独获玛苏毕亩叠疯疗盗尽监盘了确碍祸税称稳穷窜笔节简篮笼纪约级纷纯终组结绝"
    "给绑综紧绪练缩绩绳绘缴罢义习圣闻肃胁脉脑肿肤胆脸临舰兰虚蚀冲补复视亲观记讯诊词试详认误调谈论咨谋识议"
    "读变贝负财贡责贵费贺资赔赛赞赶趋迹践军软载较轻适遗丑释针钞银锐表炼钥闪闭阅板陆虽云页顿颈额愿喂骑驱霉"
    "龄"
)
_FOLD = str.maketrans(_TRADITIONAL + "蘆鹵麼嘩轉錄鏽銹鉤圖", _SIMPLIFIED + "芦卤么哗转录锈锈钩图")


def fold(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), lower case, traditional characters to simplified."""
    return unicodedata.normalize("NFKC", text or "").lower().translate(_FOLD)


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
# Words that say what kind of business, not which one: dropped at the end of a name.
_TRADE_WORDS = (
    "科技",
    "实业",
    "发展",
    "工贸",
    "贸易",
    "制造",
    "制品",
    "生产",
    "加工",
    "经营部",
    "门市部",
    "门市",
    "商行",
    "店",
    "行",
    "部",
    "站",
    "场",
)
# Marks reporters write for a name they do not know or will not say, and words that point instead of naming.
_ANONYMOUS = re.compile(r"某某|某|x{2,}|\*+|×+|○+|〇+|＊+|\?+")
_VAGUE = re.compile(
    r"这家|那家|这个|那个|一家|有家|有个|不知名的?|不知道|未知|无名|个体|路边的?|对面|旁边|附近|门口"
)
_BRACKETS = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@lru_cache(maxsize=1)
def _place_prefix() -> re.Pattern[str]:
    """天津市和平区, 天津和平区, 天津市, 天津, 和平区 … at the start of a name (longest first)."""
    city = CITY[1]
    names = [name for _, name in DISTRICTS]
    prefixes = [city + name for name in names] + [city[:-1] + name for name in names]
    prefixes += [city, city[:-1], *names]
    ordered = sorted(set(prefixes), key=len, reverse=True)
    return re.compile("^(?:" + "|".join(re.escape(p) for p in ordered) + ")")


_DISTRICT_IN_TEXT = re.compile("|".join(re.escape(name) for _, name in DISTRICTS))
_SUFFIX = re.compile("(?:" + "|".join(re.escape(s) for s in (*_LEGAL_SUFFIXES, *_TRADE_WORDS)) + ")$")


def _clean(text: str) -> str:
    text = _BRACKETS.sub("", fold(text))
    text = _ANONYMOUS.sub("", text)
    return _NOISE.sub("", text)


# A party pointed at by what lies near it: 汉沽盐场附近的化工厂, 加油站对面那家饭店. The landmark is not the party.
_NEXT_TO = re.compile("附近|旁边|对面|隔壁|边上|后面|后边|斜对过|对过")


@lru_cache(maxsize=8192)
def without_landmark(name: str) -> str:
    """汉沽盐场附近化工厂 → 化工厂 (what follows the last 附近, 对面 …), the name itself when nothing does."""
    parts = _NEXT_TO.split(name)
    rest = parts[-1].lstrip("的那这家个一")
    return rest if len(parts) > 1 and len(rest) >= 2 else name


@lru_cache(maxsize=8192)
def normalise_party(name: str) -> str:
    """天津市宏达化工有限公司, 宏达化工厂, （天津）宏达化工 → 宏达化工; 大邱庄某轧钢厂 → 大邱庄轧钢; 這家廠, ***,
    不知名 → "". Empty when nothing that names a party is left."""
    text = _VAGUE.sub("", _clean(without_landmark(name)))
    m = _place_prefix().match(text)
    if m and len(text) - m.end() >= 2:
        text = text[m.end() :]
    while (m := _SUFFIX.search(text)) and m.start() >= 2:
        text = text[: m.start()]
    return "" if len(text) < 2 and not text.isascii() else text[:100]


_ADDRESS_NOISE = re.compile(
    "附近|旁边|对面|一带|周边|边上|门口|周围|里面|那边|这边|楼下|院内|底商|东侧|西侧|南侧|北侧|东边|西边|南边|北边"
    "|东头|西头|南头|北头"
)
# The street (or town, park, village) part of an address: a coarse key to look candidates up by.
_STREET = re.compile(
    r"^(.+?(?:大道|大街|公路|工业园|工业区|开发区|产业园|产业区|经济区|路|道|街|巷|镇|乡|村|园|里))"
)


@lru_cache(maxsize=8192)
def normalise_address(address: str) -> str:
    """天津市西青区杨柳青镇柳口路12号附近 → 杨柳青镇柳口路12号."""
    text = _VAGUE.sub("", _clean(address))
    text = _place_prefix().sub("", text, count=1)
    return _ADDRESS_NOISE.sub("", text)


def street_key(address: str) -> str:
    """宁河区芦台镇光明路12号附近 → 芦台镇; 西青区杨柳青大道120号 → 杨柳青大道 ("" when none is found)."""
    m = _STREET.match(normalise_address(address))
    return m.group(1)[:60] if m else ""


@lru_cache(maxsize=8192)
def district_in_text(*texts: str) -> str:
    """The district named in a party or an address (西青区某汽车修理厂 → 西青区), "" when none is."""
    for text in texts:
        m = _DISTRICT_IN_TEXT.search(fold(text))
        if m:
            return m.group(0)
    return ""


# ------------------------------------------------------------------------------------- n-grams
@lru_cache(maxsize=65536)
def char_grams(text: str, n: int) -> frozenset[str]:
    if len(text) < n:
        return frozenset((text,)) if text else frozenset()
    return frozenset(text[i : i + n] for i in range(len(text) - n + 1))


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def ngram_similarity(a: str, b: str) -> float:
    """0..1: the mean of the Dice coefficients of the character unigrams and bigrams."""
    if not a or not b:
        return 0.0
    return 0.5 * dice(char_grams(a, 1), char_grams(b, 1)) + 0.5 * dice(char_grams(a, 2), char_grams(b, 2))


_HOUSE_NUMBER = re.compile(r"(\d+)号|第([一二三四五六七八九十\d]+)")
_DIGITS = re.compile(r"\d+")
# Bigrams that every other address or name has: never used to look candidates up.
GENERIC_GRAMS = frozenset(
    """
    工业 业区 业园 开发 发区 产业 园区 小区 公路 大街 大道 交口 号楼 经济 技术 济技 术开 镇工 新区 新村 路与 道与
    街与 路口 道口 村委 委会 社区 中心 广场 商场 市场 大厦 花园 公寓 家园 汽车 修理 化工 公园 学校 医院 饭店 餐饮
    烧烤 工地 项目 物流 加油 油站 洗车 车行
    """.split()
)


def lookup_grams(party: str, address: str) -> list[str]:
    """The character bigrams a case is looked up by (normalised party and address, house numbers and the
    commonest place words left out): two reports of one matter share at least one of them however the
    reporters name the party."""
    grams: set[str] = set()
    for text in (party, _DIGITS.sub(" ", address)):
        for part in text.split():
            grams |= {g for g in char_grams(part, 2) if len(g) == 2 and g not in GENERIC_GRAMS}
    return sorted(grams)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# ------------------------------------------------------------------------------------ trades
# What kind of business the party is. Two reports about one chain or one trade in two districts name the
# same trade and nothing else; one business named by its legal name and by its trade shares the trade.
TRADES: dict[str, tuple[str, ...]] = {
    "auto_repair": _words("汽修 汽车修理 修车 汽车维修 修理厂 钣喷 4s店"),
    "car_wash": _words("洗车"),
    "chemical": _words("化工 生物 发酵 石化 制药 药厂 农药 化学 医药"),
    "restaurant": _words(
        "饭店 餐馆 饭馆 菜馆 面馆 饺子馆 包子铺 饭庄 酒家 餐饮 餐厅 早点 烧烤 火锅 酒楼 小吃 麻辣烫 快餐 麦当劳 肯德基 食堂 串"
    ),
    "entertainment": _words("ktv 歌厅 练歌 酒吧 夜总会 舞厅 网吧 广场舞"),
    "boiler": _words("锅炉 供热 热力 热电 暖气"),
    "mining": _words("铁矿 矿山 采矿 矿场 选矿"),
    "shipyard": _words("造船 船厂 船舶 码头"),
    "construction": _words("工地 项目部 施工 建筑 拆迁 拆除"),
    "steel": _words("轧钢 钢铁 钢厂 炼钢 带钢 炉料 铸造 锻造 钢管 冶炼"),
    "paper": _words("造纸 纸业 纸厂 纸箱"),
    "dyeing": _words("印染 染厂 漂染 纺织 服装 羽绒"),
    "furniture": _words("家具 木器 木材 板材 木业 家俱"),
    "livestock": _words("养猪 猪场 养鸡 鸡场 养鸭 鸭场 鹅场 养牛 牛场 羊场 养殖 屠宰"),
    "pigs": _words("养猪 猪场 猪圈"),
    "poultry": _words("养鸡 鸡场 养鸭 鸭场 鹅场"),
    "cattle": _words("养牛 牛场 羊场 奶牛"),
    "concrete": _words("搅拌站 搅拌 混凝土 水泥 沥青 拌合站 石料 砂石 石材 采石 碎石 料场 建材"),
    "recycling": _words("废品 回收 收购站 拆解 拆电器 拆旧 废旧 再生资源"),
    "plastic": _words("塑料 塑胶 橡胶 胶皮 造粒"),
    "laundry": _words("洗涤 洗衣 水洗"),
    "plating": _words("电镀 镀锌 酸洗 表面处理"),
    "brick": _words("砖厂 砖窑 窑厂 陶瓷"),
    "printing": _words("印刷 包装"),
    "fuel": _words("加油站 加气站 油库"),
    "retail": _words("超市 商场 商店 便利店 市场 菜市场 购物"),
    "hospital": _words("医院 诊所 卫生院"),
    "school": _words("学校 小学 中学 大学 幼儿园"),
    "logistics": _words("物流 货场 仓库 快递 运输 仓储"),
    "cold_storage": _words("冷库 制冷 冷链"),
    "electronics": _words("电子 电路板 线路板 半导体"),
    "food": _words("食品 饲料 米厂 面粉 稻米 粮食 豆制品 酱菜 酿酒 酒厂"),
    "farmhouse": _words("农家院 民宿 度假村"),
    "residential": _words("物业 居民楼"),
    "refuse": _words("垃圾站 垃圾场 垃圾中转 填埋场 焚烧厂"),
    "water_works": _words("污水处理厂 污水厂 水厂"),
    "salon": _words("美发 理发 美容"),
    "bank": _words("银行"),
    "hotel": _words("酒店 宾馆 旅馆 洗浴 洗澡 澡堂 温泉"),
    "salt": _words("盐场 盐田"),
    "oilfield": _words("油田 作业区 采油"),
    "office": _words("写字楼 大厦 办公楼"),
}
_TRADE_WORDS_ORDERED = sorted(((w, t) for t, ws in TRADES.items() for w in ws), key=lambda wt: -len(wt[0]))


_TRADE_NAME = re.compile("|".join(re.escape(w) for w, _ in _TRADE_WORDS_ORDERED))
_GENERIC_NAME = re.compile(
    "城区|市区|城里|生物|环保|金属|小区|管理|汽车|修理|维修|加工点|加工|作坊|小作坊|厂房|车间|工厂|企业|公司|门店|店铺|摊位|摊|点|房|园|中心|大院|院"
)


@lru_cache(maxsize=8192)
def party_name(party: str, address: str = "") -> str:
    """What names a normalised party: the trade words, the roads and towns and what the party's own address
    says taken out (宏达化工 → 宏达; 星光路18号汽修 at 星光路18号 → ""; 大寺镇某橡胶厂 at 大寺镇王村工业区 → "";
    锅炉房 → "": a trade only). A party named by its place says no more than the place."""
    name = _GENERIC_NAME.sub("", _TRADE_NAME.sub("", party))
    name = _NAMED_PLACE.sub("", _HOUSE_NUMBER.sub("", name))
    name = _district_short().sub("", name)
    if address:
        name = _without_shared(name, address)
    return name if len(name) >= 2 else ""


_LEGAL = re.compile("有限公司|有限责任公司|公司|集团|厂$")


def is_brand(raw_party: str, party: str, name: str) -> bool:
    """The party is named by a trade name (字号): its name stands in front of a trade word or a legal
    suffix (鑫源塑料制品厂, 德润橡胶, 老王烧烤), not a description (那家川菜馆, 餐饮管理公司). Two different
    trade names are two parties. A name with 某/XX in it is none."""
    if not name or not party.startswith(name) or _ANONYMOUS.search(fold(raw_party)):
        return False
    rest = party[len(name) :]
    return bool(_TRADE_NAME.match(rest)) or bool(_LEGAL.search(fold(raw_party)))


@lru_cache(maxsize=1)
def _district_short() -> re.Pattern[str]:
    """The districts' names without 区 (宝坻, 西青, 滨海): reporters write them in front of a party."""
    names = sorted(
        {name.removesuffix("新区").removesuffix("区") for _, name in DISTRICTS}, key=len, reverse=True
    )
    return re.compile("|".join(re.escape(n) for n in names if len(n) >= 2))


def _without_shared(name: str, address: str) -> str:
    """``name`` without its runs of two or more characters that ``address`` contains too."""
    out, i = [], 0
    while i < len(name):
        j = i + 2
        while j <= len(name) and name[i:j] in address:
            j += 1
        if j - 1 - i >= 2:
            i = j - 1
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


_SPECIFIC_TRADES = {"livestock": frozenset({"pigs", "poultry", "cattle"})}


@lru_cache(maxsize=8192)
def trades(text: str) -> frozenset[str]:
    """The trades a party's name or a description names; a general one (livestock) dropped when a specific
    one (pigs, poultry) is named: a pig farm and a duck farm are two trades."""
    text = fold(text)
    found = {t for w, t in _TRADE_WORDS_ORDERED if w in text}
    for general, specific in _SPECIFIC_TRADES.items():
        if found & specific:
            found.discard(general)
    return frozenset(found)


# ------------------------------------------------------------------------------------ problems
# What the pollution is, coarsely (Art. 6): two problems of one factory are two matters (smoke and cooking
# fumes are one: which one is told by the trade). Odour goes with almost any of them: it only counts when
# nothing else is named, and then it conflicts with nothing (``problem_overlap``).
PROBLEMS: dict[str, tuple[str, ...]] = {
    "noise": _words(
        "噪音 噪声 吵 声响 响声 巨响 直响 一直响 整宿响 玻璃响 响个 轰鸣 轰轰 嗡嗡 鸣笛 音响 喇叭 唱 音乐 打桩 放炮 爆破 震得 低音炮 哔哔 声音 动静 睡不着 扰民 机组"
    ),
    "water": _words(
        "废水 污水 排水 脏水 黑水 泥水 臭水 洗车水 河里 河沟 沟里 沟渠 下水道 雨水 渗坑 渗井 渗到地 往地里渗 排污口 水体 粪水 排到河 排进河 往河 排河 进河 入河 放进 排入 "
        "水是 直排 清洗水 流到 横流 水塘 坑塘 变色 河水 山沟 排沟 尾矿水 盐田"
    ),
    "smoke": _words(
        "黑烟 冒烟 浓烟 烟囱 白烟 烟尘 煤烟 烧煤 焚烧 烧废 烧电线 烧垃圾 烧胶 烧塑料 黄烟 烧秸秆 烟大 烟飘 炭烟 炭火 油烟 烟熏 排烟 烟味 火炬"
    ),
    "gas": _words(
        "废气 油气 化学气 毒气 有毒气体 刺激性气 气体 挥发 稀料 沥青 喷漆 喷涂 油漆 漆味 漆雾 油墨 印刷味 涂装 怠速 尾气"
    ),
    "dust": _words("扬尘 粉尘 灰大 全是灰 一层灰 白灰 黑灰 尘土 撒土 全是土 苫盖 篷布 锯末 米糠 土方 料堆"),
    "waste": _words(
        "垃圾 固废 危废 废料 废渣 废液 废桶 倾倒 乱倒 倒在 堆放 废机油 废油 废砂 泔水 粪便 粪堆 猪粪 鸡粪 填埋 漏油 污染土地 粪污"
    ),
    "light": _words("光污染 强光 灯光 射灯 广告屏"),
    "radiation": _words("辐射 基站 电磁"),
    "odour": _words("味 臭 刺鼻 熏 呛 难闻"),
}
_PROBLEM_WORDS = sorted(((w, p) for p, ws in PROBLEMS.items() for w in ws), key=lambda wp: -len(wp[0]))


# The pollution category chosen at intake (cases.Category), as the problems it stands for.
CATEGORY_PROBLEMS: dict[str, frozenset[str]] = {
    "water": frozenset({"water"}),
    "noise": frozenset({"noise"}),
    "hazardous_waste": frozenset({"waste"}),
}


def case_problems(description: str, category: str) -> frozenset[str]:
    """The problems of a case: its description's, and the one its intake category stands for."""
    return problems(description) | CATEGORY_PROBLEMS.get(category or "other", frozenset())


def problems(text: str) -> frozenset[str]:
    """The coarse pollution problems a description names (``PROBLEMS``); odour only when nothing else."""
    text = fold(text)
    found = {p for w, p in _PROBLEM_WORDS if w in text}
    if len(found) > 1:
        found.discard("odour")
    return frozenset(found)


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
    该 企业 工厂 厂子 厂 公司 单位 有家 位置 就 在 地方 位于 号 时候 以后 最近 天天 每天 晚上 半夜 夜里 白天
    """.split()
)
_PUNCT = re.compile(r"^[\W_\d]+$", re.UNICODE)


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import logging

    import jieba  # lazy: jieba loads its dictionary on import (~1 s); only the finder and the fitting need it

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def text_tokens(text: str, *, drop: str = "") -> list[str]:
    """Content words of ``text`` (jieba, boilerplate and punctuation removed); ``drop`` (the reported party
    as written) is removed first, so the party's name does not make two different problems look alike."""
    text = fold(text)
    if drop:
        for name in sorted({fold(drop), normalise_party(drop)}, key=len, reverse=True):
            if len(name) >= 2:
                text = text.replace(name, " ")
    out = []
    for token in _jieba().lcut(text):
        token = token.strip()
        if not token or token in STOPWORDS or _PUNCT.match(token):
            continue
        out.append(token)
    return out


# The finer pollution concepts of a description, whatever words the reporter uses: two descriptions of one
# matter often share no word ("机器轰鸣" / "风机嗡嗡响") but share the concept. Stored on the fingerprint.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "smoke": _words("黑烟 冒烟 浓烟 烟囱 烟筒 烟尘 锅炉 烧煤"),
    "exhaust_gas": _words("废气 化工味 有毒气体 刺鼻的化学 毒气 排气筒"),
    "paint": _words("喷漆 喷涂 油漆 漆味 漆雾 喷漆房 涂装"),
    "dust": _words("扬尘 粉尘 尘土 灰尘 苫盖 砂石 料堆 堆料场"),
    "fumes": _words("油烟 烧烤 净化器 油烟机 饭店 餐馆"),
    "discharge": _words("偷排 直排 暗管 排进河 排到沟 排污口 黑水 黑臭 排污"),
    "coloured_water": _words("颜色 红色 彩色 五颜六色 染成"),
    "overflow": _words("漫流 溢出 溢流 农田 庄稼 菜地 麦子 排污管破"),
    "construction": _words("施工 打桩 打桩机 工地 渣土"),
    "machinery": _words("机器 设备 风机 轰鸣 嗡嗡 运转 机械声"),
    "loading": _words("装卸 卸货 货车 叉车 鸣笛 装车"),
    "loudspeaker": _words("音响 喇叭 广场舞 叫卖 ktv 唱歌"),
    "waste_oil": _words("废机油 机油 废油 油桶 黑油 油污"),
    "hw_storage": _words("危废 危险废物 废液 废渣 漏液 露天堆放 库房"),
    "e_waste": _words("电路板 电池 电瓶 电子垃圾 拆解 酸液"),
}
_CONCEPT_OF = {word: concept for concept, words in CONCEPTS.items() for word in words}


def concepts(text: str) -> frozenset[str]:
    text = fold(text)
    return frozenset(concept for word, concept in _CONCEPT_OF.items() if word in text)


def text_features(description: str, reported_party: str) -> tuple[list[str], frozenset[str]]:
    """What the finder stores of a description: its content words and its pollution concepts."""
    return text_tokens(description, drop=(reported_party or "").strip()), concepts(description)


def token_similarity(a: Sequence[str], b: Sequence[str]) -> float:
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


_NAMED_PLACE = re.compile(
    r"[\u4e00-\u9fff]{1,6}?(?:大街|大道|公路|路|道|街|镇|乡|村|庄|园|工业区|开发区|产业区|经济区)"
)
_ROAD = re.compile("(?:大街|大道|公路|路|道|街)$")


@lru_cache(maxsize=8192)
def named_places(address: str) -> frozenset[str]:
    """The roads, towns, villages and estates an address names (咸水沽镇津沽路 → 咸水沽镇, 津沽路)."""
    return frozenset(_NAMED_PLACE.findall(_HOUSE_NUMBER.sub("", address)))


# 区, 镇, 乡 are written or left out at will (宝坻区南城路 / 宝坻南城路, 杨柳青镇柳口路 / 杨柳青柳口路).
_ADMINISTRATIVE = re.compile("[区镇乡]")


def _same_place_name(a: str, b: str) -> bool:
    """One road (or town) named with or without what lies around it: 南城路 / 宝坻南城路 / 宝坻区南城路,
    知景道 / 张家窝知景道 (one ends with the other, at least three characters left)."""
    a, b = _ADMINISTRATIVE.sub("", a), _ADMINISTRATIVE.sub("", b)
    short, long = sorted((a, b), key=len)
    return short == long or (len(short) >= 3 and long.endswith(short))


def _share_a_place(a: Collection[str], b: Collection[str]) -> bool:
    return any(_same_place_name(x, y) for x in a for y in b)


def place_conflicts(a: str, b: str) -> tuple[bool, bool]:
    """(two different roads, two different towns/villages/estates): each side names some and they share
    none (津沽路 / 雅润路 in one town); one road written with or without its district or town in front
    (宝坻南城路 / 宝坻区南城路 / 南城路) is one road."""
    places_a, places_b = named_places(a), named_places(b)
    roads_a = {p for p in places_a if _ROAD.search(p)}
    roads_b = {p for p in places_b if _ROAD.search(p)}
    areas_a, areas_b = places_a - roads_a, places_b - roads_b
    return (
        bool(roads_a and roads_b and not _share_a_place(roads_a, roads_b)),
        bool(areas_a and areas_b and not _share_a_place(areas_a, areas_b)),
    )


def address_similarity(a: str, b: str) -> float:
    """Normalised addresses: the street part compared by character n-grams (one containing the other counts
    as the same street, 区/镇/乡 written or not); two different house numbers on one street are two
    different places."""
    number_a, number_b = _HOUSE_NUMBER.search(a), _HOUSE_NUMBER.search(b)
    street_a = _ADMINISTRATIVE.sub("", _HOUSE_NUMBER.sub("", a))
    street_b = _ADMINISTRATIVE.sub("", _HOUSE_NUMBER.sub("", b))
    if not street_a or not street_b:
        return 0.5
    if street_a in street_b or street_b in street_a:
        similarity = 1.0
    else:
        # A place name written as heard (东疆港区 / 东江港区) sounds the same.
        similarity = max(
            ngram_similarity(street_a, street_b), _sequence_similarity(sound(street_a), sound(street_b))
        )
    if number_a and number_b and number_a.group(0) != number_b.group(0):
        similarity *= 0.3
    return similarity


def closeness(distance_m: float) -> float:
    if distance_m <= NEAR_M:
        return 1.0
    if distance_m >= FAR_M:
        return 0.0
    return 1.0 - (distance_m - NEAR_M) / (FAR_M - NEAR_M)


# ---------------------------------------------------------------------------------------- pairs
@dataclass(frozen=True)
class Sketch:
    """What the scorer knows of one case."""

    party: str  # normalised
    address: str  # normalised
    region: str  # district name; "" when unknown
    lat: float | None
    lon: float | None
    tokens: tuple[str, ...]
    concepts: frozenset[str]
    problems: frozenset[str]
    trades: frozenset[str]
    received_at: dt.datetime
    closed_at: dt.datetime | None = None  # the earlier case closed then (a later report is a repeat)
    category: str = "other"
    subject: str = field(default="", compare=False)  # party and address together
    name: str = field(default="", compare=False)  # what names the party (``party_name``)
    brand: bool = field(default=False, compare=False)  # the name is a trade name (``is_brand``)


def sketch(
    *,
    reported_party: str,
    address: str,
    region: str,
    latitude: Decimal | float | None,
    longitude: Decimal | float | None,
    description: str,
    received_at: dt.datetime,
    category: str = "other",
    closed_at: dt.datetime | None = None,
    tokens: Iterable[str] | None = None,
    concept_set: frozenset[str] | None = None,
    problem_set: frozenset[str] | None = None,
) -> Sketch:
    """A case's sketch; ``tokens``, ``concept_set`` and ``problem_set`` when already computed (the
    fingerprint). ``region`` is
    the district's name; when empty it is read from the party or the address (西青区…)."""
    raw_party = (reported_party or "").strip()
    party = normalise_party(raw_party)
    place = normalise_address(address)
    name = party_name(party, place)
    return Sketch(
        party=party,
        address=place,
        region=region or district_in_text(raw_party, address),
        lat=float(latitude) if latitude is not None else None,
        lon=float(longitude) if longitude is not None else None,
        tokens=tuple(tokens if tokens is not None else text_tokens(description, drop=raw_party)),
        concepts=concepts(description) if concept_set is None else concept_set,
        problems=case_problems(description, category) if problem_set is None else problem_set,
        trades=trades(without_landmark(raw_party)) or trades(description),
        received_at=received_at,
        closed_at=closed_at,
        category=category or "other",
        subject=_HOUSE_NUMBER.sub("", party + place),
        name=name,
        brand=is_brand(raw_party, party, name),
    )


EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def sketch_from_dict(data: dict[str, Any], *, district_names: dict[str, str] | None = None) -> Sketch:
    """A sketch of one side of a labelled pair: ``days`` from a fixed start (or ``received_at``), optional
    ``district`` (name or code), ``latitude``/``longitude``, ``closed`` (closed the day it was received,
    or on ``closed_days``)."""
    if "received_at" in data:
        received = data["received_at"]
        received = dt.datetime.fromisoformat(received) if isinstance(received, str) else received
    else:
        received = EPOCH + dt.timedelta(days=float(data.get("days", 0)))
    closed_at = None
    if data.get("closed"):
        closed_at = EPOCH + dt.timedelta(days=float(data.get("closed_days", data.get("days", 0))))
    district = str(data.get("district") or "")
    names = district_names if district_names is not None else dict(DISTRICTS)
    return sketch(
        reported_party=data.get("reported_party", ""),
        address=data.get("address", ""),
        region=names.get(district, district),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        description=data.get("description", ""),
        category=data.get("category", "other"),
        received_at=received,
        closed_at=closed_at,
    )


@lru_cache(maxsize=1)
def _pinyin() -> Any:
    from pypinyin import lazy_pinyin  # lazy: pypinyin loads its dictionaries on import (~0.5 s)

    return lazy_pinyin


@lru_cache(maxsize=16384)
def _syllable(char: str) -> str:
    return str(_pinyin()(char)[0]) if "\u4e00" <= char <= "\u9fff" else char


def sound(name: str) -> tuple[str, ...]:
    """The syllables of a name, tones dropped: 泰和 and 泰合, 鑫源 and 新源 sound alike (reporters write a
    name as they heard it)."""
    return tuple(_syllable(c) for c in name)


def _sequence_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """``ngram_similarity`` of two sequences of syllables."""
    if not a or not b:
        return 0.0
    bi_a = {" ".join(p) for p in itertools.pairwise(a)} or {a[0]}
    bi_b = {" ".join(p) for p in itertools.pairwise(b)} or {b[0]}
    return 0.5 * dice(frozenset(a), frozenset(b)) + 0.5 * dice(frozenset(bi_a), frozenset(bi_b))


def party_similarity(a: Sketch, b: Sketch) -> float | None:
    """Character n-grams of what names the party (``party_name``: the trade words taken out), or of its
    syllables when they sound more alike (泰和 / 泰合); one name containing the other counts as 0.9 at least.
    None when a side names no party, or only a trade (某锅炉房, 这家厂, ***): two KTVs are not one party
    because both are KTVs."""
    name_a, name_b = a.name, b.name
    if not name_a or not name_b:
        return None
    if name_a == name_b:
        return 1.0
    similarity = max(ngram_similarity(name_a, name_b), _sequence_similarity(sound(name_a), sound(name_b)))
    if name_a in name_b or name_b in name_a:
        similarity = max(similarity, 0.9)
    return similarity


def place_similarity(a: Sketch, b: Sketch) -> tuple[float | None, float | None]:
    """(similarity 0..1, distance in metres when both have coordinates): the distance when known, else the
    addresses' n-grams; None when there is nothing to compare."""
    if a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None:
        d = haversine_m(a.lat, a.lon, b.lat, b.lon)
        return closeness(d), d
    if a.address and b.address:
        return address_similarity(a.address, b.address), None
    return None, None


def text_similarity(a: Sketch, b: Sketch) -> float:
    tokens = token_similarity(a.tokens, b.tokens)
    shared = concept_similarity(a.concepts, b.concepts)
    if shared is None:
        return tokens
    return max(tokens, 0.4 * tokens + 0.6 * shared)


def _overlap(a: frozenset[str], b: frozenset[str]) -> float | None:
    if not a or not b:
        return None
    return len(a & b) / len(a | b)


def trade_overlap(a: frozenset[str], b: frozenset[str]) -> float | None:
    """Jaccard of the trades; a general trade (养殖场: livestock) against a specific one of it (鸭场: poultry)
    is one trade, two specific ones (猪场 / 鸭场) are two."""
    for general, specific in _SPECIFIC_TRADES.items():
        if (a == {general} and b & specific) or (b == {general} and a & specific):
            return 1.0
    return _overlap(a, b)


def problem_overlap(a: frozenset[str], b: frozenset[str]) -> float | None:
    """Jaccard of the problems; None when a side names none, or only an odour that the other side's
    problem may well give off."""
    if (a == {"odour"}) != (b == {"odour"}):
        return None
    return _overlap(a, b)


# The model's inputs, each 0..1 (an unknown component is 0 with its ``*_known`` indicator 0).
FEATURES = (
    "party",
    "party_known",
    "brand_conflict",
    "address",
    "address_known",
    "address_area",
    "number_conflict",
    "road_conflict",
    "area_conflict",
    "subject",
    "geo",
    "geo_known",
    "region_same",
    "region_diff",
    "trade",
    "trade_diff",
    "problem",
    "problem_diff",
    "text",
    "text_low",
    "concept_diff",
)


BRAND_CONFLICT = 0.34  # two trade names less alike than this are two parties (鑫源 / 德润)
TEXT_LOW = 0.2  # below this the two descriptions share next to nothing


def _is_specific(address: str) -> bool:
    """The address names a road or a house number, not only an area (大寺镇王村工业区, 静海经济开发区)."""
    return bool(_HOUSE_NUMBER.search(address)) or any(_ROAD.search(p) for p in named_places(address))


def features(*, new: Sketch, old: Sketch) -> dict[str, float]:
    party = party_similarity(new, old)
    address = address_similarity(new.address, old.address) if new.address and old.address else None
    number_a, number_b = _HOUSE_NUMBER.search(new.address), _HOUSE_NUMBER.search(old.address)
    road_conflict, area_conflict = place_conflicts(new.address, old.address)
    geo = None
    if new.lat is not None and new.lon is not None and old.lat is not None and old.lon is not None:
        geo = closeness(haversine_m(new.lat, new.lon, old.lat, old.lon))
    trade = trade_overlap(new.trades, old.trades)
    problem = problem_overlap(new.problems, old.problems)
    text = text_similarity(new, old)
    return {
        "party": party or 0.0,
        "party_known": float(party is not None),
        "brand_conflict": float(new.brand and old.brand and (party or 0.0) < BRAND_CONFLICT),
        "address": address or 0.0,
        "address_known": float(address is not None),
        # The addresses agree only on an area (a town, an industrial park, a village): many parties lie there.
        "address_area": (address or 0.0)
        * float(not (_is_specific(new.address) and _is_specific(old.address))),
        "number_conflict": float(bool(number_a and number_b and number_a.group(0) != number_b.group(0))),
        "road_conflict": float(road_conflict),
        "area_conflict": float(area_conflict),
        "subject": ngram_similarity(new.subject, old.subject),
        "geo": geo or 0.0,
        "geo_known": float(geo is not None),
        "region_same": float(bool(new.region and new.region == old.region)),
        "region_diff": float(bool(new.region and old.region and new.region != old.region)),
        "trade": trade or 0.0,
        "trade_diff": float(trade == 0.0),
        "problem": problem or 0.0,
        "problem_diff": float(problem == 0.0),
        "text": text,
        "text_low": float(text < TEXT_LOW and len(new.tokens) >= 2 and len(old.tokens) >= 2),
        "concept_diff": float(concept_similarity(new.concepts, old.concepts) == 0.0),
    }


# Fitted on tests/data/duplicates/tune.jsonl only (the held-out split never): L2-regularised logistic
# regression by Newton's method (``fit_weights``), positive = same matter (duplicate or repeat); the L2
# strength and the threshold chosen by 5-fold cross-validation on the tune split (best mean F1). Refit with
# ``manage.py duplicates_eval tests/data/duplicates/tune.jsonl --fit`` and paste the printed weights here.
# Last fit: 5-fold cross-validation: l2=0.03 threshold=0.5 mean f1=0.976.
WEIGHTS: dict[str, float] = {
    "bias": 2.512,
    "party": 0.765,
    "party_known": -0.362,
    "brand_conflict": -6.268,
    "address": 5.141,
    "address_known": -4.235,
    "address_area": -0.538,
    "number_conflict": -3.26,
    "road_conflict": -4.752,
    "area_conflict": -1.543,
    "subject": 0.0,
    "geo": 5.343,
    "geo_known": -5.022,
    "region_same": 0.0,
    "region_diff": -3.121,
    "trade": 0.0,
    "trade_diff": -7.211,
    "problem": 0.0,
    "problem_diff": -8.562,
    "text": 0.0,
    "text_low": -0.172,
    "concept_diff": 0.0,
}
DUPLICATE_THRESHOLD = 0.5  # probability from which a pair reports the same matter (chosen with WEIGHTS)


def probability(values: dict[str, float], weights: dict[str, float] | None = None) -> float:
    w = WEIGHTS if weights is None else weights
    z = w["bias"] + sum(w[name] * values[name] for name in FEATURES)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class PairScore:
    total: float  # probability that the two report the same matter, 0..1
    party: float | None  # None: at least one side names no party
    place: float | None  # None: nothing to compare
    text: float
    problem: float | None  # None: a side names no recognisable problem
    trade: float | None
    distance_m: float | None
    days: float
    kind: str  # "duplicate" (earlier case open), "repeat" (closed before, within REPEAT_DAYS) or ""
    features: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def verdict(self) -> str:
        """duplicate, repeat or different."""
        return self.kind if self.kind and self.total >= DUPLICATE_THRESHOLD else "different"

    def components(self) -> dict[str, float | None]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 3)

        return {
            "party": r(self.party),
            "place": r(self.place),
            "distance_m": None if self.distance_m is None else round(self.distance_m),
            "problem": r(self.problem),
            "trade": r(self.trade),
            "text": r(self.text),
            "days": round(self.days, 1),
        }

    def __str__(self) -> str:
        parts = " ".join(f"{k}={'-' if v is None else v}" for k, v in self.components().items())
        return f"total={self.total:.2f} {self.verdict} {parts}"


def match_kind(*, new: Sketch, old: Sketch) -> str:
    """Whether ``new`` could be a duplicate (``old`` open and within ``WINDOW_DAYS``) or a repeat (``old``
    closed before ``new`` came, at most ``REPEAT_DAYS`` before): "" when neither."""
    if old.closed_at is not None and old.closed_at <= new.received_at:
        return "repeat" if new.received_at - old.closed_at <= dt.timedelta(days=REPEAT_DAYS) else ""
    return "duplicate" if new.received_at - old.received_at <= dt.timedelta(days=WINDOW_DAYS) else ""


def pair_score(*, new: Sketch, old: Sketch) -> PairScore:
    """How likely ``new`` reports the same matter as the earlier ``old``: every component and the model's
    probability (no component caps it on its own)."""
    values = features(new=new, old=old)
    place, distance = place_similarity(new, old)
    return PairScore(
        total=round(probability(values), 4),
        party=party_similarity(new, old),
        place=place,
        text=round(values["text"], 4),
        problem=problem_overlap(new.problems, old.problems),
        trade=trade_overlap(new.trades, old.trades),
        distance_m=distance,
        days=abs((new.received_at - old.received_at).total_seconds()) / 86400,
        kind=match_kind(new=new, old=old),
        features=values,
    )


# ------------------------------------------------------------------------------------------ fitting
def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the small, regularised, positive definite system)."""
    n = len(vector)
    m = [[*row, vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            factor = m[r][col] / m[col][col]
            if factor:
                for c in range(col, n + 1):
                    m[r][c] -= factor * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


# The sign each weight must have: more alike never lowers the score, a conflict never raises it.
POSITIVE = frozenset({"party", "address", "subject", "geo", "region_same", "trade", "problem", "text"})
NEGATIVE = frozenset(
    {
        "concept_diff",
        "brand_conflict",
        "text_low",
        "address_area",
        "number_conflict",
        "road_conflict",
        "area_conflict",
        "region_diff",
        "trade_diff",
        "problem_diff",
    }
)


def fit_weights(rows: Sequence[tuple[dict[str, float], bool]], *, l2: float = 1.0) -> dict[str, float]:
    """L2-regularised logistic regression (the bias not penalised) by Newton's method, with the signs of
    ``POSITIVE`` and ``NEGATIVE`` kept: a weight of the wrong sign is fixed at 0 and the rest refitted."""
    fixed: set[str] = set()
    while True:
        weights = _fit_free(rows, l2=l2, fixed=fixed)
        wrong = {n for n, v in weights.items() if (n in POSITIVE and v < 0) or (n in NEGATIVE and v > 0)}
        if not wrong:
            return weights
        fixed |= wrong


def _fit_free(
    rows: Sequence[tuple[dict[str, float], bool]], *, l2: float, fixed: set[str]
) -> dict[str, float]:
    names = ("bias", *(name for name in FEATURES if name not in fixed))
    xs = [[1.0, *(values[name] for name in names[1:])] for values, _ in rows]
    ys = [1.0 if label else 0.0 for _, label in rows]
    k = len(names)
    w = [0.0] * k
    for _ in range(50):
        grad = [0.0] * k
        hess = [[0.0] * k for _ in range(k)]
        for x, y in zip(xs, ys, strict=True):
            z = sum(wi * xi for wi, xi in zip(w, x, strict=True))
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            s = p * (1 - p)
            for i in range(k):
                grad[i] += (p - y) * x[i]
                if x[i]:
                    row = hess[i]
                    for j in range(k):
                        row[j] += s * x[i] * x[j]
        for i in range(1, k):
            grad[i] += l2 * w[i]
            hess[i][i] += l2
        hess[0][0] += 1e-6
        step = _solve(hess, grad)
        w = [wi - si for wi, si in zip(w, step, strict=True)]
        if max(abs(s) for s in step) < 1e-7:
            break
    fitted = dict(zip(names, w, strict=True))
    return {name: round(fitted.get(name, 0.0), 3) for name in ("bias", *FEATURES)}


def f1_at(scored: Sequence[tuple[float, bool]], threshold: float) -> float:
    tp = sum(1 for p, y in scored if p >= threshold and y)
    fp = sum(1 for p, y in scored if p >= threshold and not y)
    fn = sum(1 for p, y in scored if p < threshold and y)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def cross_validate(
    rows: Sequence[tuple[dict[str, float], bool]],
    *,
    l2_grid: Sequence[float] = (0.03, 0.1, 0.3, 1.0, 3.0),
    threshold_grid: Sequence[float] = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8),
    folds: int = 5,
) -> tuple[float, float, float]:
    """(l2, threshold, mean F1) with the best out-of-fold F1 over ``folds`` folds (rows dealt round-robin).
    The F1 is flat over a range of thresholds: of those within ``TIE`` of the best (for the best l2), the
    middle one is taken, not the range's edge."""
    best_l2, best_f1, by_threshold = l2_grid[0], -1.0, {}
    for l2 in l2_grid:
        out_of_fold: list[tuple[float, bool]] = []
        for fold_no in range(folds):
            train = [row for i, row in enumerate(rows) if i % folds != fold_no]
            test = [row for i, row in enumerate(rows) if i % folds == fold_no]
            weights = fit_weights(train, l2=l2)
            out_of_fold += [(probability(values, weights), label) for values, label in test]
        f1s = {threshold: f1_at(out_of_fold, threshold) for threshold in threshold_grid}
        if max(f1s.values()) > best_f1 + TIE:
            best_l2, best_f1, by_threshold = l2, max(f1s.values()), f1s
    tied = [t for t, f1 in by_threshold.items() if f1 >= best_f1 - TIE]
    threshold = sorted(tied)[len(tied) // 2]
    return best_l2, threshold, round(by_threshold[threshold], 4)


TIE = 0.002  # mean F1s closer than this are a tie
