"""duplicates_eval (issue 13): the labelled corpus written by hand, the pair scorer fitted on its twelve
tuning files, the end-to-end path through case_create and duplicates_find, and candidate recall."""

from __future__ import annotations

import json
import os
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from eco12369.cases.models import Case
from eco12369.oversight import duplicate_scoring
from eco12369.oversight.duplicate_scoring import (
    WEIGHTS,
    cross_validate,
    fit_weights,
    labelled_pairs,
    leave_one_file_out,
    model_rows,
    normalise_party,
    pair_score,
    prf,
    problems,
    sketch_from_dict,
    trades,
)
from tests.oversight.corpus import TUNE

# Written the way reporters write: a party by trade and street against its legal name, 某 and XX, a typo,
# traditional characters, one factory with two problems, one chain in two districts, a repeat after closing.
PAIRS: list[dict[str, Any]] = [
    {
        "id": "same-workshop",
        "a": {
            "reported_party": "星光路18号汽修",
            "address": "西青区星光路18号",
            "description": "汽修店在门口露天喷漆，油漆味特别大，楼上住户窗户都不敢开",
            "days": 0,
            "district": "西青区",
        },
        "b": {
            "reported_party": "西青区某汽车修理厂",
            "address": "星光路18号",
            "description": "这家修车的天天在外面喷漆，没遮挡，味道刺鼻，小区老人孩子受不了！！",
            "days": 4,
        },
        "label": "duplicate",
    },
    {
        "id": "traditional",
        "a": {
            "reported_party": "永興塑膠廠",
            "address": "武清區崔黃口鎮工業園",
            "description": "塑膠廠燒廢料，黑煙很大，氣味難聞",
            "days": 10,
            "district": "120114",
        },
        "b": {
            "reported_party": "永兴塑胶厂",
            "address": "武清区崔黄口镇工业园",
            "description": "晚上焚烧废塑料冒黑烟，呛得人直咳嗽",
            "days": 11,
        },
        "label": "duplicate",
    },
    {
        "id": "two-problems",
        "a": {
            "reported_party": "天津市西青区鑫达塑料制品有限公司",
            "address": "西青区中北镇汇川路9号",
            "description": "夜间生产噪声超标，机器轰鸣到凌晨三点",
            "days": 20,
            "district": "西青区",
        },
        "b": {
            "reported_party": "鑫达塑料",
            "address": "中北镇汇川路9号",
            "description": "厂里往旁边排水沟里倒废水，水发白",
            "days": 22,
        },
        "label": "different",
    },
    {
        "id": "two-districts",
        "a": {
            "reported_party": "某KTV",
            "address": "河西区友谊路与围堤道交口",
            "description": "KTV半夜两点还在唱，低音炮震得玻璃响",
            "days": 30,
            "district": "河西区",
        },
        "b": {
            "reported_party": "XXKTV",
            "address": "北辰区果园新村北道",
            "description": "楼下KTV每天唱到凌晨，吵得睡不着觉",
            "days": 31,
        },
        "label": "different",
    },
    {
        "id": "repeat-after-closing",
        "a": {
            "reported_party": "金桥洗车",
            "address": "河西区解放南路金桥大厦底商",
            "description": "洗车污水直接流到马路上，冬天结冰很危险",
            "days": 40,
            "district": "河西区",
            "closed": True,
        },
        "b": {
            "reported_party": "金桥洗车行",
            "address": "解放南路金桥大厦楼下",
            "description": "又开始往马路上排洗车水了，上次整改完没两个月",
            "days": 120,
        },
        "label": "repeat",
    },
]


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in PAIRS) + "\n", encoding="utf-8")
    return path


def _run(*args: Any) -> list[str]:
    out = StringIO()
    call_command("duplicates_eval", *args, stdout=out)
    return out.getvalue().splitlines()


def _verdicts(lines: list[str]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in map(json.loads, lines[:-1])}


def test_eval_prints_one_line_per_pair_and_the_figures(pairs_file: Path) -> None:
    lines = _run(str(pairs_file))
    assert len(lines) == len(PAIRS) + 1
    rows = _verdicts(lines)
    assert set(rows["same-workshop"]) == {"id", "verdict", "score", "components"}
    assert {k for k in rows["same-workshop"]["components"]} >= {"party", "place", "problem", "text", "days"}
    assert {pid: row["verdict"] for pid, row in rows.items()} == {
        "same-workshop": "duplicate",
        "traditional": "duplicate",
        "two-problems": "different",
        "two-districts": "different",
        "repeat-after-closing": "repeat",
    }
    assert lines[-1] == "precision=1.000 recall=1.000 f1=1.000"


def test_end_to_end_creates_both_cases_and_rolls_them_back(tianjin: None, pairs_file: Path) -> None:
    before = Case.objects.count()
    lines = _run(str(pairs_file), "--end-to-end")
    assert Case.objects.count() == before
    rows = _verdicts(lines)
    assert rows["same-workshop"]["verdict"] == "duplicate" and rows["same-workshop"]["score"] > 0.5
    assert rows["repeat-after-closing"]["verdict"] == "repeat"
    assert rows["two-problems"]["verdict"] == "different"
    assert lines[-1].startswith("precision=1.000 recall=1.000")


def test_a_malformed_line_is_refused_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(PAIRS[0], ensure_ascii=False) + '\n{"id": "x", "label": "maybe"}\n', "utf-8")
    with pytest.raises(CommandError, match="第2行"):
        _run(str(path))


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("大邱庄某轧钢厂", "大邱庄轧钢"),
        ("大邱庄轧钢厂", "大邱庄轧钢"),
        ("永興塑膠廠", "永兴塑胶"),
        ("XX化工", "化工"),
        ("***", ""),
        ("這家廠", ""),
    ],
)
def test_anonymising_marks_and_traditional_characters_are_folded(raw: str, key: str) -> None:
    assert normalise_party(raw) == key


def test_no_single_component_caps_the_score() -> None:
    """A pair whose parties are named differently still scores as a duplicate when place and problem
    agree: the party does not veto."""
    a = sketch_from_dict(PAIRS[0]["a"])
    b = sketch_from_dict(PAIRS[0]["b"])
    score = pair_score(new=b, old=a)
    assert score.verdict == "duplicate"
    assert score.party is None or score.party < 0.5


def _tune_files() -> list[list[dict[str, Any]]]:
    return [
        [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()] for path in TUNE
    ]


# The fit, the leave-one-file-out figures and the command that prints them touch no database: pure Python over
# the twelve tuning files. The command's procedure chooses l2 among ``L2_GRID`` (minutes over twelve files);
# the tests run the same procedure with the l2 the last fit chose alone (``FIT_L2``: the threshold, the fit and
# each file's held-out verdicts are the ones of that l2), which the first test checks is the one chosen. The
# suite's SQLite run covers them; CI's PostgreSQL run (``DATABASE_URL``) leaves them out rather than compute the
# same numbers again.
no_database = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="pure Python over the tuning files, no database: the SQLite run covers it",
)


@pytest.fixture
def fit_l2_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duplicate_scoring, "L2_GRID", (duplicate_scoring.FIT_L2,))


@no_database
def test_the_weights_in_code_are_the_fit_on_the_tuning_files() -> None:
    """WEIGHTS and DUPLICATE_THRESHOLD are what ``duplicates_eval --fit`` chooses on the twelve tuning files
    (l2 and threshold by cross-validation, on the pairs the time rules leave to the model)."""
    files = _tune_files()
    pairs = [pair for file in files for pair in file]
    assert len(pairs) >= 2000 and len({p["id"] for p in pairs}) == len(pairs)
    rows = model_rows(labelled_pairs(pairs))
    assert 0.95 * len(pairs) <= len(rows) < len(pairs)  # the pairs the time rules decide are left out
    l2, threshold, f1 = cross_validate(rows)
    assert f1 >= 0.93, f1
    assert l2 == duplicate_scoring.FIT_L2
    assert fit_weights(rows, l2=l2) == WEIGHTS
    assert threshold == duplicate_scoring.DUPLICATE_THRESHOLD


@no_database
def test_leave_one_file_out_holds_on_the_file_left_out(fit_l2_only: None) -> None:
    """The figure that says how the scorer does on wording it has not seen: the whole procedure (threshold,
    fit; l2 fixed at the one the full procedure chose) run on eleven tuning files, the twelfth scored, for
    each file. On the twelve files (tune_i, tune_j, tune_k, tune_l folded in on 2026-12-07) pooled F1 was
    0.906 (worst file 0.803, tune_j.jsonl) before the problem words of sound, dust and oil, the senses read
    from problem words only, locative parties as described and branches of one chain; 0.920 after (worst file
    0.845, tune_j.jsonl); 0.928 with two sources of one problem at one place (``source_conflict``; worst file
    0.848, tune_i.jsonl); no file may fall below 0.83."""
    counts = leave_one_file_out([labelled_pairs(file) for file in _tune_files()])
    for tp, fp, fn in counts:
        assert prf(tp, fp, fn)[2] >= 0.83, counts
    assert prf(*(sum(c[k] for c in counts) for k in range(3)))[2] >= 0.925, counts


@no_database
def test_fit_command_prints_the_weights_in_code(fit_l2_only: None) -> None:
    lines = _run(*map(str, TUNE), "--fit")
    assert lines[0].startswith("# ") and "nested f1=" in lines[0]
    held = [line for line in lines if line.startswith("# leave-one-file-out ")]
    assert [line.split(":")[0] for line in held] == [
        "# leave-one-file-out tune.jsonl",
        "# leave-one-file-out tune_h.jsonl",
        "# leave-one-file-out tune_b.jsonl",
        "# leave-one-file-out tune_c.jsonl",
        "# leave-one-file-out tune_d.jsonl",
        "# leave-one-file-out tune_e.jsonl",
        "# leave-one-file-out tune_f.jsonl",
        "# leave-one-file-out tune_g.jsonl",
        "# leave-one-file-out tune_i.jsonl",
        "# leave-one-file-out tune_j.jsonl",
        "# leave-one-file-out tune_k.jsonl",
        "# leave-one-file-out tune_l.jsonl",
        "# leave-one-file-out pooled",
    ]
    start = lines.index("WEIGHTS: dict[str, float] = {")
    printed = {
        name.strip().strip('"'): float(value.rstrip(","))
        for name, value in (line.split(":") for line in lines[start + 1 : lines.index("}")])
    }
    assert printed == WEIGHTS
    assert lines[-1] == f"DUPLICATE_THRESHOLD = {duplicate_scoring.DUPLICATE_THRESHOLD}"


def test_tuning_files_f1_and_candidate_recall_end_to_end(tianjin: None) -> None:
    """Scoring pairs and the real path agree: every pair the scorer calls a duplicate or repeat is found by
    duplicates_find (candidate recall >= 0.98 on the twelve tuning files, read by one run)."""
    pure = _run(*map(str, TUNE))
    e2e = _run(*map(str, TUNE), "--end-to-end")
    f1 = float(pure[-1].split("f1=")[1])
    assert f1 >= 0.93, pure[-1]
    pure_rows, e2e_rows = _verdicts(pure), _verdicts(e2e)
    above = [pid for pid, row in pure_rows.items() if row["verdict"] != "different"]
    found = [pid for pid in above if e2e_rows[pid]["verdict"] != "different"]
    assert len(found) >= 0.98 * len(above), sorted(set(above) - set(found))
    assert float(e2e[-1].split("f1=")[1]) >= 0.93, e2e[-1]


def _side(party: str, address: str, description: str, days: int) -> dict[str, Any]:
    return {"reported_party": party, "address": address, "description": description, "days": days}


def test_one_road_with_or_without_its_district_is_one_road() -> None:
    """宝坻南城路 and 宝坻区南城路 (the district written with or without 区, in front of the road) are one
    road; 南城路 and 北城路 are two."""
    old = sketch_from_dict(_side("宝坻某饭店", "宝坻南城路", "饭店油烟太大，排烟管对着居民楼窗户", 0))
    same = sketch_from_dict(_side("南城路那家饭店", "宝坻区南城路", "饭店的油烟熏得窗户上全是油", 3))
    other = sketch_from_dict(_side("某饭店", "宝坻区北城路", "饭店油烟大，熏得窗户上全是油", 3))
    assert pair_score(new=same, old=old).features["road_conflict"] == 0.0
    assert pair_score(new=same, old=old).verdict == "duplicate"
    assert pair_score(new=other, old=old).features["road_conflict"] == 1.0
    assert pair_score(new=other, old=old).verdict == "different"


def test_two_trade_names_are_two_parties_and_a_misheard_name_is_one() -> None:
    """鑫源 and 德润 in one industrial park, both burning waste: two parties. 泰和 and 泰合 (a name written as
    heard): one."""
    a = sketch_from_dict(_side("鑫源塑料制品厂", "北辰区双口镇工业园", "塑料厂烧废料冒黑烟", 0))
    b = sketch_from_dict(_side("德润橡胶有限公司", "北辰区双口工业园", "橡胶厂烧废料冒黑烟，臭的不行", 2))
    assert pair_score(new=b, old=a).verdict == "different"
    c = sketch_from_dict(_side("泰和木业", "蓟州区邦均镇", "木材厂锯末粉尘满天飞", 0))
    d = sketch_from_dict(_side("泰合木业", "蓟州邦均镇", "泰合木业锯木头粉尘大，院子里一层木屑", 4))
    assert pair_score(new=d, old=c).party == 1.0
    assert pair_score(new=d, old=c).verdict == "duplicate"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("陈官屯防水厂", {"concrete"}),  # 防水 (building materials) takes 水厂 (water works) with it
        ("中石化北仓加油站", {"fuel"}),  # 中石化 is fuel, not 石化
        ("车之美汽车美容", {"car_wash"}),  # not a beauty salon
        ("某服装店", {"retail"}),
        ("老刘家猪场", {"pigs"}),
    ],
)
def test_trades_read_the_longest_word(text: str, expected: set[str]) -> None:
    assert trades(text) == expected


def test_traditional_characters_beyond_the_old_hand_table_are_folded() -> None:
    """獅, 淩 and 擾 were missing from the hand table: 獅子林大街 was another road than 狮子林大街."""
    old = sketch_from_dict(_side("老王烧烤", "河北区狮子林大街", "烧烤炉子摆在门外，烟熏得楼上没法住", 0))
    new = sketch_from_dict(_side("老王燒烤", "河北區獅子林大街", "門口烤串煙太大，樓上全是煙", 1))
    assert new.address == old.address
    assert pair_score(new=new, old=old).verdict == "duplicate"


def test_manure_is_water_and_waste_and_an_odour_does_not_go_with_noise() -> None:
    assert problems("猪粪水往地里排") >= {"manure", "water"}
    assert problems("鸡粪露天堆放") >= {"manure", "waste"}
    farm = sketch_from_dict(
        _side("刘某养殖场", "武清区石各庄镇", "养殖场粪污未经处理直接排放到农田，臭味很大", 0)
    )
    same = sketch_from_dict(_side("石各庄老刘养值场", "武清石各庄", "老刘家猪场粪水往地里排，一股猪屎味", 2))
    assert pair_score(new=same, old=farm).verdict == "duplicate"
    mill = sketch_from_dict(_side("正大饲料", "宁河区潘庄工业区", "腥臭味", 0))
    dust = sketch_from_dict(_side("潘庄饲料厂", "宁河区潘庄工业区", "卸玉米的时候粉尘大，满天都是灰", 1))
    assert pair_score(new=dust, old=mill).problem == 0.0
    assert pair_score(new=dust, old=mill).verdict == "different"


def test_one_crossing_written_two_ways_is_one_place() -> None:
    """芥园道与西青道交口 and 芥园道西青道口: the 园 in 芥园道 does not end a place name, 与 joins two roads."""
    a = sketch_from_dict(
        _side("***串店", "红桥区芥园道与西青道交口", "串店后厨油烟从窗户直接往外排，熏黑了外墙", 0)
    )
    b = sketch_from_dict(
        _side("芥园道撸串的店", "红桥芥园道西青道口", "烤串店的烟从后窗户冒出来，墙都熏黑了", 0)
    )
    score = pair_score(new=b, old=a)
    assert score.features["road_conflict"] == 0.0 and score.features["area_conflict"] == 0.0
    assert score.verdict == "duplicate"


def test_a_described_party_is_neutral_and_a_shared_sense_is_one_problem() -> None:
    """A legal name against a party described by trade and place (做轮胎那个厂, 不知道叫啥) is no name conflict,
    and 废气…异味 against 味儿…呛 share 味 (what is sensed): place and problem decide. Two trade names at one
    place stay two parties."""
    legal = sketch_from_dict(
        _side(
            "天津市西青区永固橡胶制品有限公司",
            "西青区辛口镇工业园",
            "企业硫化车间废气未经处理，异味明显。",
            0,
        )
    )
    nick = sketch_from_dict(_side("辛口做轮胎那个厂", "辛口镇工业园那边", "烧胶皮的味儿 呛得不行", 3))
    unknown = sketch_from_dict(_side("不知道叫啥", "辛口镇工业园", "工业园里天天一股怪味儿，呛嗓子", 4))
    for new in (nick, unknown):
        score = pair_score(new=new, old=legal)
        assert score.features["name_conflict"] == 0.0 and score.features["problem_diff"] == 0.0
        assert score.verdict == "duplicate", score
    other = sketch_from_dict(_side("德润橡胶有限公司", "西青区辛口镇工业园", "硫化车间废气异味大", 5))
    assert pair_score(new=other, old=legal).features["name_conflict"] == 1.0
    assert pair_score(new=other, old=legal).verdict == "different"


def test_a_thing_named_with_water_is_no_shared_sense_and_two_branches_are_two_sources() -> None:
    """The 水 of 水枪 names a thing, not what is sensed: a car wash's noise and its waste water are two
    problems. 楼下烧烤摊 points at a party by where it is (no trade name). Two branches of one chain
    (（梅江店） / （华苑店）) conflict; one branch written twice does not."""
    noise = sketch_from_dict(_side("某洗车行", "东丽区万新街", "洗车行的高压水枪和空压机声音大。", 0))
    water = sketch_from_dict(_side("某洗车行", "东丽区万新街", "洗车的脏水带着泡沫流进绿化带，草都黄了。", 2))
    assert problems("高压水枪和空压机声音大") == {"noise"}
    assert pair_score(new=water, old=noise).features["problem_diff"] == 1.0
    assert pair_score(new=water, old=noise).verdict == "different"
    stall = sketch_from_dict(_side("楼下烧烤摊", "芳馨园12号楼", "楼下烧烤烟太大了 天天熏", 1))
    named = sketch_from_dict(
        _side("鑫鑫烧烤", "河西区梅江芳馨园12号楼底商", "鑫鑫烧烤炭火烟顺着窗户往屋里钻", 0)
    )
    assert stall.described and pair_score(new=stall, old=named).features["name_conflict"] == 0.0
    a = sketch_from_dict(_side("蜀香源火锅（梅江店）", "河西区", "火锅店油烟大", 0))
    b = sketch_from_dict(_side("蜀香源火锅（华苑店）", "西青区", "火锅店油烟大", 3))
    c = sketch_from_dict(_side("蜀香源火锅(梅江店)", "河西区", "油烟熏人", 3))
    assert (a.branch, b.branch) == ("梅江", "华苑")
    assert pair_score(new=b, old=a).features["branch_conflict"] == 1.0
    assert pair_score(new=c, old=a).features["branch_conflict"] == 0.0


def test_two_sources_of_one_problem_at_one_place_are_two_matters() -> None:
    """At one address, a KTV's singing and a gym's music are both noise but two sources; a wok's fumes and a
    charcoal grill's smoke likewise. A square dance told as 跳舞 … 唱歌 and as 广场舞音响 shares its source."""
    ktv = sketch_from_dict(_side("金嗓子KTV", "南开区鞍山西道某商厦", "KTV半夜还在唱歌，声音震得睡不着", 0))
    gym = sketch_from_dict(
        _side("某健身房", "南开区鞍山西道某商厦", "健身房晚上放音乐跳操，杠铃往地上砸，咚咚响", 1)
    )
    assert (ktv.sources, gym.sources) == ({"singing"}, {"people"})
    score = pair_score(new=gym, old=ktv)
    assert score.features["source_conflict"] == 1.0 and score.verdict == "different"
    wok = sketch_from_dict(_side("", "河东区万新村某里", "楼下菜馆炒菜的烟往楼上飘，呛得咳嗽", 0))
    grill = sketch_from_dict(_side("", "河东区万新村某里", "楼下烧烤店炭火烟顺着窗户进来", 1))
    assert pair_score(new=grill, old=wok).features["source_conflict"] == 1.0
    dance = sketch_from_dict(_side("", "南开区鞍山西道某商厦门口", "商厦门口广场舞音响太大", 0))
    again = sketch_from_dict(_side("跳舞的", "鞍山西道某商厦门口", "门口每天晚上有人跳舞唱歌 吵死了", 2))
    score = pair_score(new=again, old=dance)
    assert score.features["source_conflict"] == 0.0 and score.verdict == "duplicate"
