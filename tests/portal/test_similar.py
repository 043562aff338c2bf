"""“Already reported?” at intake (issue #7): open cases near the place or about the same party are
suggested with public facts only; the reporter can follow one instead of filing a new report, which counts
as a repeat report of that case (row, timeline event, outbox notice, “我的举报”, oversight's counting)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.crypto import blind_q
from eco12369.followup.models import Follow
from eco12369.followup.services import FollowupError, case_follow
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.models import User
from eco12369.oversight.assessment import assessment_rows
from eco12369.oversight.periods import month
from eco12369.oversight.selectors import repeated_parties
from eco12369.oversight.services import assessment_scheme_current

pytestmark = pytest.mark.django_db
Reporter = Callable[[str], Client]
ME = "oNEW-REPORTER"
HERE = (Decimal("39.117721"), Decimal("117.196612"))  # 和平区南京路
NEAR = (Decimal("39.118500"), Decimal("117.197500"))  # ~120 m away
FAR = (Decimal("39.160000"), Decimal("117.250000"))  # ~6 km away
DRAFT = "内部草稿：拟对该企业不予处罚，待分管领导审核。"
SECRETS = ("李四", "13900001111", "oNEIGHBOUR-1", "王五", "13700002222", "oHEXI-REPORTER", DRAFT, "我家楼下")


@pytest.fixture
def staff(make_user: Callable[..., User]) -> dict[str, User]:
    return {
        "hp_op": make_user("operator", district_name="和平区"),
        "hx_op": make_user("operator", district_name="河西区"),
        "hx_handler": make_user("handler", district_name="河西区"),
        "hp_reviewer": make_user("reviewer", district_name="和平区"),
        "hp_handler": make_user("handler", district_name="和平区"),
        "city_op": make_user("operator", district_name=None),
    }


@pytest.fixture
def cases(make_case: Callable[..., Case], staff: dict[str, User]) -> dict[str, Case]:
    nearby = make_case(
        "和平区",
        category="air",
        reported_party="天津市宏达化工有限公司",
        address="和平区南京路100号",
        latitude=NEAR[0],
        longitude=NEAR[1],
        description="我家楼下宏达化工每天夜里冒黑烟，联系电话13900001111。",
        reporter_name="李四",
        reporter_phone="13900001111",
        reporter_openid="oNEIGHBOUR-1",
    )
    other_district = make_case(
        "河西区",
        category="air",
        reported_party="宏达化工厂",
        address="河西区友谊路8号",
        description="宏达化工的烟囱冒黑烟，王五反映。",
        reporter_name="王五",
        reporter_phone="13700002222",
        reporter_openid="oHEXI-REPORTER",
    )
    nearby = services.case_accept(case=nearby, actor=staff["hp_op"])  # accepted: the public may know of it
    # The 河西区 case has a reply draft waiting for review: it must never leak.
    other_district = services.case_accept(case=other_district, actor=staff["hx_op"])
    other_district = services.case_assign(
        case=other_district, actor=staff["hx_op"], department=staff["hx_handler"].department
    )
    services.case_submit_reply(
        case=other_district,
        actor=staff["hx_handler"],
        party_facts=DRAFT,
        inspection=DRAFT,
        violations="未发现",
        decision=DRAFT,
        communication=DRAFT,
    )
    closed = make_case(
        "和平区", category="air", reported_party="天津市宏达化工有限公司", latitude=NEAR[0], longitude=NEAR[1]
    )
    closed = services.case_answer(case=closed, actor=staff["hp_op"], text="已答复。")
    closed = services.case_approve(case=closed, actor=staff["hp_reviewer"])
    own = make_case(
        "和平区", reporter_openid=ME, latitude=HERE[0], longitude=HERE[1], address="和平区南京路99号"
    )
    far = make_case(
        "和平区", reported_party="某餐馆", address="和平区成都道1号", latitude=FAR[0], longitude=FAR[1]
    )
    return {"nearby": nearby, "other_district": other_district, "closed": closed, "own": own, "far": far}


def close_handled(case: Case, staff: dict[str, User], finding: str = "经核实已整改。") -> Case:
    """An accepted case handed to the department, its reply approved: closed."""
    case = services.case_assign(case=case, actor=staff["hp_op"], department=staff["hp_handler"].department)
    case = services.case_submit_reply(
        case=case,
        actor=staff["hp_handler"],
        party_facts="该公司位于南京路。",
        inspection="现场检查。",
        violations="未发现违法行为。",
        decision=finding,
        communication="已电话告知举报人。",
    )
    return services.case_approve(case=case, actor=staff["hp_reviewer"])


def ask(client: Client, **params: Any) -> Any:
    query = {
        "district": "120101",
        "address": "和平区南京路100号",
        "reported_party": "宏达化工有限公司",
        "latitude": str(HERE[0]),
        "longitude": str(HERE[1]),
        **params,
    }
    return client.get(reverse("portal:report_similar"), query)


def test_nearby_and_same_party_open_cases_are_suggested_with_public_facts_only(
    reporter: Reporter, cases: dict[str, Case]
) -> None:
    client = reporter(ME)
    response = ask(client)
    body = response.content.decode()
    assert response.status_code == 200
    assert cases["nearby"].number in body and cases["other_district"].number in body
    for absent in ("closed", "own", "far"):
        assert cases[absent].number not in body, absent
    for secret in SECRETS:
        assert secret not in body, secret
    assert "反映大气环境问题。" in body and "是同一件事，关注这件举报" in body
    # Same district: where and when; another district: the summary and the status only.
    assert "和平区 · " in body and "同一被举报对象" in body
    assert "河西区" not in body and "友谊路" not in body

    data = json.loads(ask(client, format="json").content)
    by_number = {item["number"]: item for item in data["cases"]}
    assert list(by_number) == [cases["nearby"].number, cases["other_district"].number]
    assert set(by_number[cases["other_district"].number]) == {"number", "summary", "status", "token"}
    assert by_number[cases["nearby"].number]["district"] == "和平区"
    assert by_number[cases["other_district"].number]["status"] == "办理中"
    assert not any(secret in json.dumps(data, ensure_ascii=False) for secret in SECRETS)


def test_a_case_not_yet_accepted_is_not_suggested_to_a_new_reporter(
    reporter: Reporter, cases: dict[str, Case], make_case: Callable[..., Case], staff: dict[str, User]
) -> None:
    """Issue 11, L6: a new openid learns nothing of a case the bureau has not accepted, not even that one
    exists about the company it names; once accepted, its public status is shown."""
    waiting = make_case(
        "和平区",
        category="water",
        reported_party="天津某某印染有限公司",
        address="和平区南京路102号",
        latitude=NEAR[0],
        longitude=NEAR[1],
        description="印染厂往雨水管里排红水。",
        reporter_openid="oFIRST-TO-REPORT",
    )
    stranger = reporter("oSTRANGER-PROBE")
    party = {"reported_party": "天津某某印染有限公司"}
    for response in (ask(stranger, **party), ask(stranger, **party, format="json")):
        body = response.content.decode()
        assert response.status_code == 200
        assert waiting.number not in body and "印染" not in body and "待确认" not in body
        assert "水环境" not in body  # not even its category
    accepted = services.case_accept(case=waiting, actor=staff["hp_op"])
    data = json.loads(ask(stranger, **party, format="json").content)
    shown = next(item for item in data["cases"] if item["number"] == accepted.number)
    assert shown["status"] and "待" not in shown["status"]  # the public status, no internal step


def test_place_without_coordinates_uses_the_district_and_the_address(
    reporter: Reporter, cases: dict[str, Case]
) -> None:
    data = json.loads(
        ask(
            reporter(ME),
            reported_party="",
            latitude="",
            longitude="",
            address="南京路100号附近",
            format="json",
        ).content
    )
    numbers = [item["number"] for item in data["cases"]]
    assert numbers == [cases["nearby"].number]
    assert data["cases"][0]["reason"] == "地址相近"


def test_nothing_is_asked_without_a_place_or_a_party(reporter: Reporter, cases: dict[str, Case]) -> None:
    data = json.loads(
        ask(
            reporter(ME), district="", address="", reported_party="", latitude="", longitude="", format="json"
        ).content
    )
    assert data == {"cases": []}


def _token(client: Client, number: str) -> str:
    data = json.loads(ask(client, format="json").content)
    return next(item["token"] for item in data["cases"] if item["number"] == number)


def test_following_is_a_repeat_report_and_no_new_case(
    reporter: Reporter, cases: dict[str, Case], django_capture_on_commit_callbacks: Any
) -> None:
    target = cases["other_district"]
    client = reporter(ME)
    before = Case.objects.count()
    token = _token(client, target.number)
    response = client.post(
        reverse("portal:report_follow"), {"follow": f"{target.number}|{token}", "note": "我也看到冒黑烟"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:mine_detail", args=[target.number]) + "?followed=1"
    assert Case.objects.count() == before
    follow = Follow.objects.get()
    assert (follow.case_id, follow.openid, follow.note) == (target.pk, ME, "我也看到冒黑烟")
    with connection.cursor() as cursor:  # the follower is a reporter too: no openid in clear (Art. 17)
        cursor.execute("SELECT openid FROM followup_follow WHERE id = %s", [follow.pk])
        stored = cursor.fetchone()[0]
    assert ME not in stored and stored.startswith(("enc1:", "enc2:"))
    event = target.events.get(action="follow")
    assert event.note == "举报人通过H5页面关注本件，记为重复举报。补充说明：我也看到冒黑烟"
    assert event.from_state == event.to_state == "in_review"
    message = OutboxMessage.objects.get(blind_q("openid", ME), case=target)
    assert message.template == "status"
    assert message.text.startswith(
        f"您已关注举报（编号 {target.number}），您反映的情况已作为重复举报记入该件"
    )
    # In “我的举报”, with the public summary only.
    mine = client.get(reverse("portal:mine")).content.decode()
    assert target.number in mine and "我关注的" in mine
    detail = client.get(response["Location"]).content.decode()
    assert "已关注，您的反映已记为重复举报" in detail and message.text in detail
    for secret in SECRETS:
        assert secret not in mine and secret not in detail, secret
    # Following again changes nothing.
    again = client.post(reverse("portal:report_follow"), {"number": target.number, "token": token})
    assert again["Location"].endswith("?followed=again")
    assert Follow.objects.count() == 1 and target.events.filter(action="follow").count() == 1
    assert OutboxMessage.objects.filter(blind_q("openid", ME), case=target).count() == 1


def test_following_needs_a_suggestion_of_this_reporter(reporter: Reporter, cases: dict[str, Case]) -> None:
    target = cases["nearby"]
    token = _token(reporter(ME), target.number)
    forged = reporter("oSOMEONE").post(
        reverse("portal:report_follow"), {"number": target.number, "token": token}
    )
    assert forged.status_code == 400 and "关注链接已失效" in forged.content.decode()
    guessed = reporter(ME).post(
        reverse("portal:report_follow"), {"number": cases["far"].number, "token": token}
    )
    assert guessed.status_code == 400
    assert not Follow.objects.exists()


def test_a_case_closed_meanwhile_cannot_be_followed(
    reporter: Reporter, cases: dict[str, Case], staff: dict[str, User]
) -> None:
    client = reporter(ME)
    target = cases["nearby"]
    token = _token(client, target.number)
    close_handled(target, staff)
    response = client.post(reverse("portal:report_follow"), {"number": target.number, "token": token})
    assert response.status_code == 409 and "该举报已办结，不能再关注" in response.content.decode()
    with pytest.raises(FollowupError, match="这是您本人提交的举报"):
        case_follow(case=cases["own"], openid=ME)
    assert not Follow.objects.exists()


def test_followers_are_told_when_the_case_closes(
    reporter: Reporter, cases: dict[str, Case], staff: dict[str, User]
) -> None:
    target = cases["nearby"]
    case_follow(case=target, openid=ME)
    closed = close_handled(target, staff)
    texts = list(
        OutboxMessage.objects.filter(blind_q("openid", ME)).order_by("id").values_list("text", flat=True)
    )
    assert texts[-1] == (
        f"您关注的举报（编号 {target.number}）已办结（{closed.get_outcome_display()}）。"
        "如问题仍然存在，欢迎再次举报。"
    )
    # The answer itself goes to its reporter only.
    assert not any("经核实已整改" in text for text in texts)


def test_oversight_counts_follows_as_repeat_reports(cases: dict[str, Case], staff: dict[str, User]) -> None:
    from django.utils import timezone

    today = timezone.localdate()
    period = month(today.year, today.month)

    def hexi_repeat() -> Any:
        ranking = assessment_rows(period=period, scheme=assessment_scheme_current())
        return next(row for row in ranking if row.region.name == "河西区").indicators["repeat"]

    def party_row() -> dict[str, Any]:
        return next(row for row in repeated_parties(user=staff["city_op"]) if row["party_key"] == "宏达化工")

    # 宏达化工: three cases (two in 和平区, one in 河西区); in 河西区 alone it is not (yet) a repeated party.
    assert (party_row()["reports"], party_row()["follows"]) == (3, 0)
    assert hexi_repeat().score == 100.0
    target = cases["other_district"]
    case_follow(case=target, openid="oFOLLOWER-1")
    case_follow(case=target, openid="oFOLLOWER-2")
    assert (party_row()["reports"], party_row()["follows"]) == (5, 2)
    # 河西区 received one case in the month; with two follows its party was reported three times there.
    repeat = hexi_repeat()
    assert (repeat.score, repeat.numerator, repeat.denominator) == (0.0, 0, 1)
    assert "另有关注2次" in repeat.detail
