"""The city centre's review list of unsatisfied ratings: reopen to the district with a reason (the state
machine's ``reopen``: timeline event, state, new closing deadline, reporter told) or dismiss with a note.
Only the city centre's operators and heads decide; district staff can do neither."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from eco12369.audit.models import AuditEntry
from eco12369.cases import deadlines, services
from eco12369.cases.models import Case
from eco12369.cases.workflow import TransitionError
from eco12369.followup import services as followup_services
from eco12369.followup.models import Rating
from eco12369.followup.services import FollowupError, rating_submit, review_dismiss, review_reopen
from eco12369.notifications.models import OutboxMessage

from .conftest import FIVE_PARTS, MONDAY, TZ, People, answered, handled

pytestmark = pytest.mark.django_db
OPENID = "oUNHAPPY-01"
RATED_AT = MONDAY + dt.timedelta(days=2)
REOPENED_AT = dt.datetime(2025, 3, 7, 15, 0, tzinfo=TZ)  # a Friday


def unsatisfied(case: Case, comment: str = "问题没有解决") -> Rating:
    with time_machine.travel(RATED_AT, tick=False):
        return rating_submit(
            case=case, openid=OPENID, level="unsatisfied", comment=comment, channel="wechat_h5"
        )


@pytest.fixture
def rated(make_case: Callable[..., Case], people: People) -> Rating:
    with time_machine.travel(MONDAY, tick=False):
        case = handled(make_case("和平区", reporter_openid=OPENID), people)
    return unsatisfied(case)


def login(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_unsatisfied_ratings_are_on_the_city_centres_list_only(rated: Rating, people: People) -> None:
    body = login(people.city_op).get(reverse("followup:reviews")).content.decode()
    assert rated.case.number in body and "问题没有解决" in body and "重新交办" in body
    reviewer_page = login(people.city_reviewer).get(reverse("followup:reviews")).content.decode()
    assert rated.case.number in reviewer_page and "待平台操作人员或负责人处理" in reviewer_page
    for district_user in (people.hp.operator, people.hp.head, people.hp.reviewer, people.hp.handler):
        assert login(district_user).get(reverse("followup:reviews")).status_code == 403


def test_satisfied_ratings_are_not_on_the_list(
    make_case: Callable[..., Case], people: People, rated: Rating
) -> None:
    with time_machine.travel(MONDAY, tick=False):
        happy = handled(make_case("和平区", reporter_openid="oHAPPY"), people)
    with time_machine.travel(RATED_AT, tick=False):
        rating_submit(case=happy, openid="oHAPPY", level="basic", channel="wechat_h5")
    body = login(people.city_op).get(reverse("followup:reviews")).content.decode()
    assert happy.number not in body and rated.case.number in body


def test_reopen_sends_the_case_back_to_its_department_with_a_new_closing_deadline(
    rated: Rating, people: People
) -> None:
    case = rated.case
    first_accepted, first_closed = case.accepted_at, case.closed_at
    with time_machine.travel(REOPENED_AT, tick=False):
        response = login(people.city_op).post(
            reverse("followup:review_reopen", args=[rated.pk]),
            {"reason": "举报人反映夜间仍有排放，请重新核查。"},
        )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.state, case.outcome, case.closed_at) == ("handling", "", None)
    assert case.department_id == people.hp.department.pk and case.agency_id == people.hp.operator.agency_id
    # 60 days run again from the reopening (Art. 12 applied to the re-handling); the first acceptance stays
    # on the timeline and in the event.
    assert case.accepted_at == REOPENED_AT
    expected = deadlines.closing_deadline(REOPENED_AT, 0).at
    assert case.close_due == expected == dt.datetime(2025, 5, 6, 23, 59, 59, tzinfo=TZ)
    assert case.due_at == case.close_due
    event = case.events.get(action="reopen")
    assert (event.from_state, event.to_state, event.actor_id) == ("closed", "handling", people.city_op.pk)
    assert event.note == "举报人反映夜间仍有排放，请重新核查。"
    assert event.data["outcome"] == "handled"
    assert event.data["accepted_at"] == first_accepted.astimezone(TZ).isoformat()  # type: ignore[union-attr]
    assert event.data["closed_at"] == first_closed.astimezone(TZ).isoformat()  # type: ignore[union-attr]
    notice = OutboxMessage.objects.filter(case=case).order_by("-id").first()
    assert notice is not None and notice.template == "accepted" and notice.openid == OPENID
    assert "已由市举报受理中心交天津市和平区生态环境局重新办理，将于2025年05月06日前办结" in notice.text
    rated.refresh_from_db()
    assert (rated.review, rated.reviewed_by_id) == ("reopened", people.city_op.pk)
    # Off the pending list, on the decided one.
    client = login(people.city_op)
    assert case.number not in client.get(reverse("followup:reviews")).content.decode()
    assert case.number in client.get(reverse("followup:reviews"), {"status": "done"}).content.decode()
    # The district handles it again and closes it: a new answer, which the reporter may rate (once).
    case = services.case_submit_reply(case=case, actor=people.hp.handler, **FIVE_PARTS)
    case = services.case_approve(case=case, actor=people.hp.reviewer)
    assert case.state == "closed" and case.replies.filter(status="approved").count() == 2
    second = rating_submit(case=case, openid=OPENID, level="satisfied", channel="wechat_h5")
    assert list(case.ratings.order_by("id").values_list("level", "review")) == [
        ("unsatisfied", "reopened"),
        ("satisfied", ""),
    ]
    assert Case.objects.get(pk=case.pk).rating == second  # the latest, the one the figures count
    with pytest.raises(FollowupError, match="您已评价过该举报的办理结果（满意）"):
        rating_submit(case=case, openid=OPENID, level="unsatisfied", channel="wechat_h5")


def test_reopening_an_answer_goes_back_to_the_operators(
    make_case: Callable[..., Case], people: People
) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = answered(make_case("和平区", reporter_openid=OPENID, kind="consultation"), people)
    rating = unsatisfied(case)
    with time_machine.travel(REOPENED_AT, tick=False):
        reopened = review_reopen(rating=rating, actor=people.city_head, reason="答复不完整。")
    assert (reopened.state, reopened.department_id, reopened.accepted_at) == ("accepted", None, REOPENED_AT)
    assert reopened.close_due == deadlines.closing_deadline(REOPENED_AT).at


def test_dismiss_with_a_note(rated: Rating, people: People) -> None:
    with time_machine.travel(REOPENED_AT, tick=False):
        response = login(people.city_head).post(
            reverse("followup:review_dismiss", args=[rated.pk]),
            {"note": "诉求超出环保部门职责，答复意见成立。"},
        )
    assert response.status_code == 302
    rated.refresh_from_db()
    assert (rated.review, rated.review_note, rated.reviewed_by_id) == (
        "dismissed",
        "诉求超出环保部门职责，答复意见成立。",
        people.city_head.pk,
    )
    case = Case.objects.get(pk=rated.case_id)
    assert case.state == "closed" and case.outcome == "handled"
    event = case.events.get(action="review_dismiss")
    assert event.note == "诉求超出环保部门职责，答复意见成立。" and event.actor_id == people.city_head.pk
    with pytest.raises(FollowupError, match="该评价已复核"):
        review_reopen(rating=rated, actor=people.city_op, reason="再看看")


def test_the_dismissal_is_in_the_audit_trail(rated: Rating, people: People) -> None:
    """不予重办 is a decision on the case: audited with it, in the same transaction, as every decision is;
    the note (free text about the reporter's demand) stays on the timeline, not in the trail."""
    note = "诉求超出环保部门职责，答复意见成立。"
    url = reverse("followup:review_dismiss", args=[rated.pk])
    assert login(people.hp.head).post(url, {"note": note}).status_code == 403
    assert login(people.city_op).post(url, {"note": " "}).status_code == 422
    assert not AuditEntry.objects.filter(action="case.review_dismiss").exists()
    assert login(people.city_op).post(url, {"note": note}).status_code == 302
    entry = AuditEntry.objects.get(action="case.review_dismiss")
    assert (entry.actor_id, entry.object_type, entry.object_id) == (
        people.city_op.pk,
        "case",
        rated.case.number,
    )
    assert entry.detail == {"rating": rated.pk, "review": "dismissed", "note_chars": len(note)}
    # A second decision on the same rating is refused and writes nothing more.
    assert login(people.city_head).post(url, {"note": "再次决定"}).status_code == 409
    assert AuditEntry.objects.filter(action="case.review_dismiss").count() == 1


def test_a_dismissal_whose_audit_entry_fails_is_not_recorded(
    rated: Rating, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction: when the audit entry cannot be written, the decision and its timeline event are
    rolled back too."""

    def broken(**kwargs: object) -> None:
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(followup_services, "audit_record", broken)
    client = Client(raise_request_exception=False)
    client.force_login(people.city_op)
    response = client.post(reverse("followup:review_dismiss", args=[rated.pk]), {"note": "答复成立。"})
    assert response.status_code == 500
    rated.refresh_from_db()
    assert rated.review == "pending" and rated.reviewed_by_id is None
    assert not rated.case.events.filter(action="review_dismiss").exists()


@pytest.mark.parametrize(
    ("action", "field", "staff_text", "sentence"),
    [
        (
            "review_reopen",
            "reason",
            "内部意见：区局核查敷衍，请重新核查并追责经办人。",
            "您的评价已复核，案件已重新交办，办理结果将再次告知您。",
        ),
        (
            "review_dismiss",
            "note",
            "内部意见：举报人系竞争对手，诉求不予支持。",
            "您的评价已复核，维持原办理结果。如有新的情况，欢迎再次举报。",
        ),
    ],
)
def test_the_reporter_sees_a_fixed_sentence_never_the_reviewers_text(
    rated: Rating,
    people: People,
    reporter: Callable[[str], Client],
    action: str,
    field: str,
    staff_text: str,
    sentence: str,
) -> None:
    with time_machine.travel(REOPENED_AT, tick=False):
        response = login(people.city_op).post(
            reverse(f"followup:{action}", args=[rated.pk]), {field: staff_text}
        )
        assert response.status_code == 302
        page = reporter(OPENID).get(reverse("portal:mine_detail", args=[rated.case.number])).content.decode()
    assert sentence in page
    assert staff_text not in page and "内部意见" not in page
    # The reviewer's text stays internal: on the case's timeline and the decided list.
    assert rated.case.events.filter(note=staff_text).exists()
    done = login(people.city_op).get(reverse("followup:reviews"), {"status": "done"}).content.decode()
    assert staff_text in done


def test_a_reason_or_a_note_is_required(rated: Rating, people: People) -> None:
    client = login(people.city_op)
    client.post(reverse("followup:review_reopen", args=[rated.pk]), {"reason": "  "})
    client.post(reverse("followup:review_dismiss", args=[rated.pk]), {"note": ""})
    rated.refresh_from_db()
    assert rated.review == "pending" and Case.objects.get(pk=rated.case_id).state == "closed"
    with pytest.raises(FollowupError, match="请填写重新交办的理由"):
        review_reopen(rating=rated, actor=people.city_op, reason="")


def test_only_the_city_centres_operators_and_heads_decide(rated: Rating, people: People) -> None:
    reopen_url = reverse("followup:review_reopen", args=[rated.pk])
    dismiss_url = reverse("followup:review_dismiss", args=[rated.pk])
    for user in (people.hp.operator, people.hp.head, people.hx.head, people.city_reviewer):
        client = login(user)
        assert client.post(reopen_url, {"reason": "重办"}).status_code == 403
        assert client.post(dismiss_url, {"note": "不重办"}).status_code == 403
        with pytest.raises(FollowupError):
            review_reopen(rating=rated, actor=user, reason="重办")
    # The state machine refuses a district's reopen on its own too (scope CITY), with a Chinese message.
    with pytest.raises(TransitionError, match="只有市举报受理中心可以重新交办"):
        services.case_reopen(case=rated.case, actor=people.hp.head, reason="重办")
    with pytest.raises(TransitionError, match="您没有“平台操作人员或负责人”权限"):
        services.case_reopen(case=rated.case, actor=people.city_reviewer, reason="重办")
    rated.refresh_from_db()
    assert rated.review == "pending"
    assert Case.objects.get(pk=rated.case_id).state == "closed"
    assert not Case.objects.get(pk=rated.case_id).events.filter(action="reopen").exists()


def test_the_state_machine_refuses_to_reopen_open_or_duplicate_cases(
    make_case: Callable[..., Case], people: People
) -> None:
    original = make_case("和平区")
    with pytest.raises(TransitionError, match="不能重新交办"):
        services.case_reopen(case=original, actor=people.city_op, reason="重办")
    duplicate = services.case_mark_duplicate(
        case=make_case("和平区"), actor=people.hp.operator, duplicate_of=original
    )
    with pytest.raises(TransitionError, match="重复举报已并入原举报件办理，不能重新交办。"):
        services.case_reopen(case=duplicate, actor=people.city_op, reason="重办")


@pytest.mark.parametrize(
    ("action", "field", "missing", "too_long"),
    [
        ("review_reopen", "reason", "请填写重新交办的理由。", "重新交办的理由最多2000个字。"),
        ("review_dismiss", "note", "请填写不予重办的说明。", "不予重办的说明最多2000个字。"),
    ],
)
def test_bad_input_keeps_the_typed_text_and_says_what_is_wrong(
    rated: Rating, people: People, action: str, field: str, missing: str, too_long: str
) -> None:
    client = login(people.city_op)
    url = reverse(f"followup:{action}", args=[rated.pk])
    typed = "夜间仍有排放" + "请重新核查" * 400  # 2,006 characters
    long_response = client.post(url, {field: typed})
    body = long_response.content.decode()
    assert long_response.status_code == 422
    assert too_long in body and missing not in body
    assert typed in body  # re-rendered with the text, not redirected
    empty = client.post(url, {field: "   "})
    assert empty.status_code == 422 and missing in empty.content.decode()
    decide = review_reopen if action == "review_reopen" else review_dismiss
    with pytest.raises(FollowupError, match=too_long):  # the service's own rule, not only the form's
        decide(rating=rated, actor=people.city_op, **{field: typed})
    rated.refresh_from_db()
    assert rated.review == "pending" and Case.objects.get(pk=rated.case_id).state == "closed"


def test_a_refused_reopen_keeps_the_typed_reason(rated: Rating, people: People) -> None:
    # Another city operator reopened the case from its own page meanwhile: the state machine refuses.
    services.case_reopen(case=rated.case, actor=people.city_head, reason="已另行重新交办。")
    reason = "举报人反映夜间仍有排放，请重新核查。"
    response = login(people.city_op).post(
        reverse("followup:review_reopen", args=[rated.pk]), {"reason": reason}
    )
    body = response.content.decode()
    assert response.status_code == 409  # the case's state refuses it (the refusal's status), not the input
    assert "不能重新交办" in body and reason in body
    rated.refresh_from_db()
    assert rated.review == "pending"


def test_the_review_list_is_paged_with_a_bounded_number_of_queries(
    make_case: Callable[..., Case], people: People, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    client = login(people.city_op)
    client.get(reverse("followup:reviews"))  # session and permissions warmed up

    def rate(count: int) -> list[Case]:
        cases = []
        for i in range(count):
            openid = f"oLIST-{len(Rating.objects.all())}-{i}"
            with time_machine.travel(MONDAY, tick=False):
                case = answered(make_case("和平区", reporter_openid=openid, kind="consultation"), people)
            with time_machine.travel(RATED_AT, tick=False):
                rating_submit(case=case, openid=openid, level="unsatisfied", channel="wechat_h5")
            cases.append(case)
        return cases

    first = rate(2)
    # Session, user, agency, roles, the capped pending count (tab and pager), the page's rows with their
    # cases, regions, bureaus and departments, the session's save: not one more per row.
    with django_assert_max_num_queries(10):
        small = client.get(reverse("followup:reviews")).content.decode()
    later = rate(21)  # 23 pending: two pages of 20
    with django_assert_max_num_queries(10):
        page_one = client.get(reverse("followup:reviews")).content.decode()
    with django_assert_max_num_queries(10):
        page_two = client.get(reverse("followup:reviews"), {"page": 2}).content.decode()
    assert all(c.number in small for c in first)
    assert ">23<" in page_one and "第 1 / 2 页，共 23 条" in page_one
    assert later[-1].number in page_two and first[0].number not in page_two
