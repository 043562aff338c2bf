"""“我的举报”: only the reporter's own cases, only approved answers, and messages WeChat could not carry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.models import User

from .helpers import form_data

pytestmark = pytest.mark.django_db
Reporter = Callable[[str], Client]

DRAFT = "草稿：经查该企业排放达标，拟不予处罚。"
APPROVED = "经现场核查，您反映的企业已停产整改。"
RETURN_NOTE = "内部意见：答复过于简单，请补充监测数据。"


def html(response: Any) -> str:
    return str(response.content.decode())


@pytest.fixture
def staff(make_user: Callable[..., User]) -> dict[str, User]:
    return {
        "operator": make_user("operator", district_name="和平区", display_name="和平操作员"),
        "reviewer": make_user("reviewer", district_name="和平区", display_name="和平分管领导"),
    }


def test_lists_only_the_reporters_own_cases(reporter: Reporter, make_case: Callable[..., Case]) -> None:
    mine_a = make_case(reporter_openid="oMINE", description="我的第一件：河道排黑水。")
    mine_b = make_case(reporter_openid="oMINE", description="我的第二件：夜间施工噪声。", category="noise")
    theirs = make_case(reporter_openid="oTHEIRS", description="别人的举报：倒黑渣。")
    page = html(reporter("oMINE").get("/portal/mine/"))
    assert mine_a.number in page and mine_b.number in page
    assert theirs.number not in page and "别人的举报" not in page
    assert "已接收，待受理" in page
    assert "噪声" in page


def test_another_reporters_case_is_not_found(reporter: Reporter, make_case: Callable[..., Case]) -> None:
    theirs = make_case(reporter_openid="oTHEIRS", description="别人的举报：倒黑渣。")
    client = reporter("oMINE")
    response = client.get(f"/portal/mine/{theirs.number}/")
    assert response.status_code == 404
    assert "别人的举报" not in html(response)
    assert client.get("/portal/mine/TJ20000101000001/").status_code == 404
    done = client.get(f"/portal/report/done/{theirs.number}/")
    assert done.status_code == 404


def test_own_case_detail(reporter: Reporter, make_case: Callable[..., Case]) -> None:
    case = make_case(reporter_openid="oMINE", description="化工厂夜间排放黑水，河道发臭。")
    page = html(reporter("oMINE").get(f"/portal/mine/{case.number}/"))
    assert case.number in page
    assert "化工厂夜间排放黑水" in page
    assert "您的举报已收到" in page  # the acknowledgement, from the outbox


def test_lookup_by_number_only_finds_own_cases(reporter: Reporter, make_case: Callable[..., Case]) -> None:
    mine = make_case(reporter_openid="oMINE")
    theirs = make_case(reporter_openid="oTHEIRS")
    client = reporter("oMINE")
    found = client.get("/portal/mine/", {"number": mine.number.lower()})
    assert found.status_code == 302 and found["Location"] == f"/portal/mine/{mine.number}/"
    other = client.get("/portal/mine/", {"number": theirs.number})
    assert other.status_code == 200
    assert "未找到该编号的举报" in html(other)
    assert theirs.number not in html(other).replace(f'value="{theirs.number}"', "")


def test_only_approved_answers_reach_the_reporter(
    reporter: Reporter, make_case: Callable[..., Case], staff: dict[str, User]
) -> None:
    case = make_case(reporter_openid="oMINE", kind="consultation", category="other")
    client = reporter("oMINE")

    services.case_answer(case=case, actor=staff["operator"], text=DRAFT)
    services.case_return(case=Case.objects.get(pk=case.pk), actor=staff["reviewer"], note=RETURN_NOTE)
    for url in ("/portal/mine/", f"/portal/mine/{case.number}/"):
        page = html(client.get(url))
        assert DRAFT not in page and RETURN_NOTE not in page, url

    services.case_answer(case=Case.objects.get(pk=case.pk), actor=staff["operator"], text=APPROVED)
    in_review = html(client.get(f"/portal/mine/{case.number}/"))
    assert APPROVED not in in_review  # submitted, not yet approved
    assert "办理中" in in_review

    services.case_approve(case=Case.objects.get(pk=case.pk), actor=staff["reviewer"], note="同意。内部备注")
    for url in ("/portal/mine/", f"/portal/mine/{case.number}/"):
        page = html(client.get(url))
        assert APPROVED in page, url
        assert DRAFT not in page and RETURN_NOTE not in page and "内部备注" not in page, url
        assert "已答复" in page
    # Internal people and steps stay internal.
    detail = html(client.get(f"/portal/mine/{case.number}/"))
    assert "和平操作员" not in detail and "和平分管领导" not in detail


def test_messages_wechat_could_not_carry_are_shown_on_the_h5_page(
    reporter: Reporter, django_capture_on_commit_callbacks: Any
) -> None:
    client = reporter("oH5ONLY")
    # A reporter who only ever used the H5 page has no 48-hour chat window and no subscription: the
    # acknowledgement cannot be pushed, it waits for the H5 page (DESIGN §9).
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/report/", form_data())
    case = Case.objects.get()
    ack = OutboxMessage.objects.get(case=case, template="acknowledged")
    assert ack.status == OutboxMessage.Status.WAITING

    page = html(client.get("/portal/mine/"))
    assert "未能通过微信送达" in page
    assert f"您的举报已收到，编号 {case.number}" in page
    # Shown is delivered: recorded as such, with its attempt, and not announced again.
    ack.refresh_from_db()
    assert ack.status == OutboxMessage.Status.SENT and ack.channel == OutboxMessage.Channel.H5
    assert ack.delivery_attempts.filter(channel="h5", ok=True).count() == 1
    assert "未能通过微信送达" not in html(client.get("/portal/mine/"))
    assert html(client.get(f"/portal/mine/{case.number}/")).count("您的举报已收到") == 1


def test_waiting_messages_of_others_are_not_shown(reporter: Reporter, make_case: Callable[..., Case]) -> None:
    theirs = make_case(reporter_openid="oTHEIRS")
    OutboxMessage.objects.filter(case=theirs).update(status=OutboxMessage.Status.WAITING)
    page = html(reporter("oMINE").get("/portal/mine/"))
    assert theirs.number not in page
    assert "未能通过微信送达" not in page


@pytest.mark.parametrize("reports", [1, 6])
def test_my_reports_query_count_does_not_grow_with_cases(
    reporter: Reporter,
    make_case: Callable[..., Case],
    staff: dict[str, User],
    django_assert_num_queries: Any,
    reports: int,
) -> None:
    client = reporter("oMANY")
    for i in range(reports):
        case = make_case(
            reporter_openid="oMANY", kind="suggestion", category="other", description=f"建议{i}：多种树。"
        )
        services.case_answer(case=case, actor=staff["operator"], text=f"感谢建议{i}。")
        services.case_approve(case=Case.objects.get(pk=case.pk), actor=staff["reviewer"])
    with django_assert_num_queries(6):  # one report or six: the same
        page = html(client.get("/portal/mine/"))
    assert page.count("感谢建议") == reports


def test_a_duplicate_shows_the_public_status_of_the_case_it_was_merged_into(
    reporter: Reporter, make_case: Callable[..., Case], staff: dict[str, User]
) -> None:
    original = make_case(reporter_openid="oTHEIRS", description="张三举报：化工厂夜间排放黑水。")
    duplicate = make_case(reporter_openid="oMINE")
    services.case_mark_duplicate(case=duplicate, actor=staff["operator"], duplicate_of=original)
    client = reporter("oMINE")
    page = html(client.get(f"/portal/mine/{duplicate.number}/"))
    assert f"编号 {original.number} 的举报当前状态" in page and "已接收，待受理" in page
    assert "张三" not in page  # the original's description is its reporter's

    services.case_answer(case=original, actor=staff["operator"], text=APPROVED)
    services.case_approve(case=Case.objects.get(pk=original.pk), actor=staff["reviewer"])
    page = html(client.get(f"/portal/mine/{duplicate.number}/"))
    assert "当前状态：" in page and "已答复" in page and "办结" in page
    assert APPROVED not in page  # the answer goes to the original's reporter only
    # The notice that the original closed is listed with the reporter's own case.
    assert f"合并办理的举报（编号 {original.number}）已办结" in page


def test_the_reply_is_shown_once_and_its_internal_part_never_reaches_the_reporter(
    reporter: Reporter, make_case: Callable[..., Case], staff: dict[str, User], make_user: Callable[..., User]
) -> None:
    """Issue 12, D16: the reporter receives the four parts about the matter (DESIGN §4, Art. 10, 11, 17);
    与举报人沟通答复情况 is the bureau's record; the H5 page prints the reply once, under 答复意见."""
    handler = make_user("handler", district_name="和平区")
    case = make_case(reporter_openid="oMINE", description="南京路那家小作坊天天半夜喷漆，味儿冲得很！！")
    case = services.case_accept(case=case, actor=staff["operator"])
    case = services.case_assign(case=case, actor=staff["operator"], department=handler.department)
    parts = {
        "party_facts": "天津某某家具厂（个体），位于和平区南京路XX号，主要从事家具喷涂。",
        "inspection": "3月10日晚执法人员现场检查，喷漆作业未在密闭空间进行，无废气收集设施。",
        "violations": "未配套建设废气污染防治设施即投入生产。",
        "decision": "责令立即停止喷涂作业，立案调查，拟处罚款贰万元。",
        "communication": "3月11日电话联系举报人王**（139****5678），告知查处情况，其表示认可。",
    }
    case = services.case_submit_reply(case=case, actor=handler, **parts)
    services.case_approve(case=Case.objects.get(pk=case.pk), actor=staff["reviewer"])

    notice = OutboxMessage.objects.get(case=case, template="closed").text  # the WeChat notice
    for name in ("party_facts", "inspection", "violations", "decision"):
        assert parts[name] in notice, name
    assert parts["communication"] not in notice and "与举报人沟通答复情况" not in notice

    page = html(reporter("oMINE").get(f"/portal/mine/{case.number}/"))
    assert page.count(parts["decision"]) == 1 and page.count(parts["inspection"]) == 1
    assert parts["communication"] not in page and "139****5678" not in page
    assert "已办结" in page and "答复内容见上方“答复意见”" in page  # the closing notice, without the reply


@pytest.mark.parametrize(
    ("given", "label"),
    [
        ({}, "未留姓名和联系电话"),
        ({"reporter_phone": "13700001234"}, "实名举报"),
        ({"anonymous": True}, "匿名举报"),
    ],
)
def test_reporter_and_staff_see_the_same_identity_label(
    reporter: Reporter,
    make_case: Callable[..., Case],
    staff: dict[str, User],
    client: Client,
    given: dict[str, Any],
    label: str,
) -> None:
    """Issue 12, D9: a chat report without name or phone said 实名举报 to the reporter, 未留姓名 to staff."""
    case = make_case(reporter_openid="oWHO", description="河边那个小厂子又在烧垃圾 呛死了", **given)
    page = html(reporter("oWHO").get(f"/portal/mine/{case.number}/"))
    assert f'<dd class="identity">{label}</dd>' in page
    if label != "实名举报":
        assert "实名举报" not in page
    client.force_login(staff["operator"])
    staff_page = html(client.get(f"/cases/{case.number}/"))
    assert f'<dd class="identity">{label}</dd>' in staff_page
