"""回访 on the H5 page: the reporter rates the answer of their own closed case, once, within 15 days of
closing; an unsatisfied rating goes to the city centre's review list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from eco12369.cases import services
from eco12369.cases.models import Case
from eco12369.followup.models import Rating
from eco12369.notifications.models import OutboxMessage

from .conftest import MONDAY, People, answered, handled

pytestmark = pytest.mark.django_db
OPENID = "oRATER-0001"
Reporter = Callable[[str], Client]


def rate_url(case: Case) -> str:
    return reverse("portal:mine_rate", args=[case.number])


def detail_url(case: Case) -> str:
    return reverse("portal:mine_detail", args=[case.number])


@pytest.fixture
def closed_case(make_case: Callable[..., Case], people: People) -> Case:
    with time_machine.travel(MONDAY, tick=False):
        return handled(make_case("和平区", reporter_openid=OPENID), people)


def test_the_closing_notice_invites_a_rating(closed_case: Case) -> None:
    notice = OutboxMessage.objects.get(case=closed_case, template="closed").text
    assert f"15日内回复“评价 {closed_case.number} 1”" in notice
    assert "3不满意" in notice


@pytest.mark.parametrize(("days", "allowed"), [(14, True), (15, True), (16, False)])
def test_the_rating_window_is_15_days_after_the_day_of_closing(
    closed_case: Case, reporter: Reporter, days: int, allowed: bool
) -> None:
    with time_machine.travel(MONDAY + dt.timedelta(days=days, hours=5), tick=False):
        client = reporter(OPENID)
        page = client.get(detail_url(closed_case)).content.decode()
        response = client.post(rate_url(closed_case), {"level": "satisfied", "comment": "处理及时"})
    if allowed:
        assert 'id="rating-form"' in page and "2025年3月18日前有效" in page
        assert response.status_code == 302 and response["Location"].endswith("?rated=1#rating")
        rating = Rating.objects.get(case=closed_case)
        assert (rating.level, rating.comment, rating.channel) == ("satisfied", "处理及时", "wechat_h5")
        assert rating.review == ""  # a satisfied rating needs no review
    else:
        assert 'id="rating-form"' not in page and "评价期限已过" in page
        assert response.status_code == 409
        assert "评价期限已过：办结后15日内可以评价（截至2025年3月18日）。" in response.content.decode()
        assert not Rating.objects.exists()


def test_one_rating_per_case(closed_case: Case, reporter: Reporter) -> None:
    with time_machine.travel(MONDAY + dt.timedelta(days=1), tick=False):
        client = reporter(OPENID)
        assert client.post(rate_url(closed_case), {"level": "basic"}).status_code == 302
        again = client.post(rate_url(closed_case), {"level": "unsatisfied", "comment": "改主意了"})
        page = client.get(detail_url(closed_case) + "?rated=1").content.decode()
    assert again.status_code == 409
    assert "您已评价过该举报的办理结果（基本满意），每次办理结果只能评价一次。" in again.content.decode()
    assert Rating.objects.get(case=closed_case).level == "basic"
    assert "感谢您的评价" in page and "基本满意" in page and 'id="rating-form"' not in page
    assert list(closed_case.events.filter(action="rate").values_list("note", flat=True)) == [
        "举报人评价：基本满意"
    ]


def test_only_the_reporter_can_rate(closed_case: Case, reporter: Reporter) -> None:
    with time_machine.travel(MONDAY + dt.timedelta(days=1), tick=False):
        other = reporter("oSOMEONE-ELSE")
        assert other.get(detail_url(closed_case)).status_code == 404
        assert other.post(rate_url(closed_case), {"level": "unsatisfied"}).status_code == 404
        anonymous = Client()
        response = anonymous.post(rate_url(closed_case), {"level": "unsatisfied"})
    assert response.status_code == 302 and response["Location"] == reverse("portal:report")
    assert not Rating.objects.exists()


def test_open_and_duplicate_cases_cannot_be_rated(
    make_case: Callable[..., Case], people: People, reporter: Reporter
) -> None:
    with time_machine.travel(MONDAY, tick=False):
        original = make_case("和平区", reporter_openid="oFIRST")
        open_case = make_case("和平区", reporter_openid=OPENID)
        duplicate = services.case_mark_duplicate(
            case=make_case("和平区", reporter_openid=OPENID), actor=people.hp.operator, duplicate_of=original
        )
        client = reporter(OPENID)
        refused_open = client.post(rate_url(open_case), {"level": "satisfied"})
        refused_duplicate = client.post(rate_url(duplicate), {"level": "satisfied"})
    assert (
        refused_open.status_code == 409
        and "该举报尚未办结，办结后才能评价。" in refused_open.content.decode()
    )
    assert refused_duplicate.status_code == 409
    assert f"该举报已与编号 {original.number} 的举报合并办理" in refused_duplicate.content.decode()
    assert not Rating.objects.exists()


def test_bad_input_is_refused_with_a_message(closed_case: Case, reporter: Reporter) -> None:
    with time_machine.travel(MONDAY + dt.timedelta(days=1), tick=False):
        client = reporter(OPENID)
        no_level = client.post(rate_url(closed_case), {"comment": "没选"})
        too_long = client.post(rate_url(closed_case), {"level": "basic", "comment": "很" * 501})
    assert no_level.status_code == 422 and "请选择评价：满意、基本满意或不满意。" in no_level.content.decode()
    assert too_long.status_code == 422 and "意见最多500个字。" in too_long.content.decode()
    assert not Rating.objects.exists()


def test_an_answered_case_can_be_rated_and_unsatisfied_goes_to_review(
    make_case: Callable[..., Case], people: People, reporter: Reporter
) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = answered(make_case("和平区", reporter_openid=OPENID, kind="consultation"), people)
        client = reporter(OPENID)
        response = client.post(rate_url(case), {"level": "unsatisfied", "comment": "答非所问"})
        page = client.get(detail_url(case)).content.decode()
    assert response.status_code == 302
    rating = Rating.objects.get(case=case)
    assert (rating.level, rating.review) == ("unsatisfied", "pending")
    assert "市举报受理中心正在复核" in page
    event = case.events.get(action="rate")
    assert event.note == "举报人评价：不满意。意见：答非所问" and event.actor_id is None
    assert event.from_state == event.to_state == "closed"


def test_the_rating_is_on_the_staff_case_page(closed_case: Case, reporter: Reporter, people: People) -> None:
    with time_machine.travel(MONDAY + dt.timedelta(days=2), tick=False):
        reporter(OPENID).post(rate_url(closed_case), {"level": "unsatisfied", "comment": "仍有黑烟"})
    client = Client()
    client.force_login(people.hp.operator)
    body = client.get(reverse("workbench:case", args=[closed_case.number])).content.decode()
    assert "回访评价" in body and "举报人评价：不满意。意见：仍有黑烟" in body
