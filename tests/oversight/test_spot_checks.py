"""Spot checks (Art. 14): a reproducible, stratified sample of a month's closed cases, the checklist the
platform computes, the reviewer's corrections, and the districts seeing their own results."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from eco12369.audit.models import AuditEntry
from eco12369.audit.services import audit_verify
from eco12369.cases.models import Attachment, Case
from eco12369.cases.services import attachment_add
from eco12369.oversight.models import SpotCheck, SpotCheckItem
from eco12369.oversight.periods import current_month
from eco12369.oversight.spotchecks import spot_check_sample

from .conftest import FIVE_PARTS, Bureau, City, answered, handled, login

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def closed_month(
    make_bureau: Callable[[str], Bureau], make_case: Callable[..., Case]
) -> dict[str, list[Case]]:
    """This month: 8 closed cases in 和平区, 6 in 河东区, 1 in 蓟州区; 河西区 has only an open case."""
    out: dict[str, list[Case]] = {}
    for district, n in (("和平区", 8), ("河东区", 6), ("蓟州区", 1)):
        b = make_bureau(district)
        out[district] = [answered(make_case(district, kind="consultation"), b) for _ in range(n)]
    make_case("河西区")
    return out


def _ids(sample: list[tuple[int, int]]) -> list[int]:
    return [case_id for case_id, _ in sample]


def test_same_seed_same_sample_other_seed_other_sample(closed_month: dict[str, list[Case]]) -> None:
    period = current_month()
    first = spot_check_sample(period=period, seed=42, per_district=3)
    again = spot_check_sample(period=period, seed=42, per_district=3)
    assert first == again
    others = [_ids(spot_check_sample(period=period, seed=seed, per_district=3)) for seed in (1, 2, 3)]
    assert all(o != _ids(first) for o in others)
    assert len(first) == 3 + 3 + 1


def test_every_district_with_closed_cases_appears(closed_month: dict[str, list[Case]]) -> None:
    sample = spot_check_sample(period=current_month(), seed=7, per_district=2)
    regions = {region_id for _, region_id in sample}
    expected = {cases[0].region_id for cases in closed_month.values()}
    assert regions == expected  # 河西区 has no closed case and is absent; 蓟州区's single case is in
    by_region: dict[int, int] = {}
    for _, region_id in sample:
        by_region[region_id] = by_region.get(region_id, 0) + 1
    assert by_region[closed_month["蓟州区"][0].region_id] == 1
    assert by_region[closed_month["和平区"][0].region_id] == 2


def test_the_city_centre_draws_through_the_page_and_the_sample_is_stored(
    client: Any, city: City, closed_month: dict[str, list[Case]]
) -> None:
    login(client, city.operator)
    period = current_month()
    response = client.post(
        reverse("oversight:spot_checks"), {"month": period.key, "per_district": 3, "seed": 12369, "note": ""}
    )
    assert response.status_code == 302
    check = SpotCheck.objects.get()
    assert (check.seed, check.per_district, check.month) == (12369, 3, period.first)
    stored = sorted(SpotCheckItem.objects.filter(spot_check=check).values_list("case_id", flat=True))
    assert stored == sorted(_ids(spot_check_sample(period=period, seed=12369, per_district=3)))
    body = client.get(response["Location"]).content.decode()
    assert "和平区" in body and "蓟州区" in body and "12369" in body


def test_checklist_is_computed_from_the_case_record(
    client: Any, city: City, make_bureau: Callable[[str], Bureau], make_case: Callable[..., Case]
) -> None:
    b = make_bureau("和平区")
    photo = SimpleUploadedFile("p.png", PNG, content_type="image/png")
    complete = handled(make_case("和平区", photos=[photo]), b)
    thin = {**FIVE_PARTS, "inspection": "已查。"}
    no_evidence = handled(make_case("和平区"), b, parts=thin, inform=False)
    phone = handled(make_case("和平区", channel="phone", reporter_openid=""), b)
    consult = answered(make_case("和平区", kind="consultation"), b)
    # Evidence of the handling is what the handling department attached (issue 12, D7); the reporter's
    # photo of ``complete`` is not evidence of the investigation.
    for case in (complete, phone):
        scan = SimpleUploadedFile("检查笔录.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
        attachment_add(case=case, photo=scan, kind=Attachment.Kind.EVIDENCE)
    login(client, city.operator)
    client.post(
        reverse("oversight:spot_checks"), {"month": current_month().key, "per_district": 10, "seed": 1}
    )
    items = {i.case_id: i for i in SpotCheckItem.objects.all()}
    assert len(items) == 4

    def checks(case: Case) -> tuple[Any, ...]:
        item = items[case.pk]
        return (item.on_time, item.reply_complete, item.evidence, item.reporter_informed, item.score)

    assert checks(complete) == (True, True, True, True, 100.0)
    assert checks(no_evidence) == (True, True, False, False, 50.0)  # no evidence attached, not sent
    assert checks(phone) == (True, True, True, None, 100.0)  # no WeChat reporter: not applicable
    assert checks(consult) == (True, True, None, True, 100.0)


def test_reviewer_corrects_an_item_only_with_a_note_and_the_district_sees_its_results(
    client: Any,
    city: City,
    closed_month: dict[str, list[Case]],
    make_user: Callable[..., Any],
) -> None:
    login(client, city.operator)
    client.post(
        reverse("oversight:spot_checks"), {"month": current_month().key, "per_district": 2, "seed": 5}
    )
    check = SpotCheck.objects.get()
    item = SpotCheckItem.objects.filter(region__name="和平区").order_by("id").first()
    assert item is not None and item.score == 100.0
    url = reverse("oversight:spot_check_item", args=[item.pk])
    prefix = f"i{item.pk}-"
    data = {
        f"{prefix}on_time": "0",
        f"{prefix}reply_complete": "1",
        f"{prefix}evidence": "",
        f"{prefix}reporter_informed": "1",
    }
    login(client, city.reviewer)
    client.post(url, {**data, f"{prefix}note": ""})
    item.refresh_from_db()
    assert item.on_time is True and item.reviewed_at is None  # refused: a change needs a note
    client.post(url, {**data, f"{prefix}note": "受理后第65日才办结，超期。"})
    item.refresh_from_db()
    assert item.on_time is False and item.reviewed_by == city.reviewer
    assert item.score == pytest.approx(66.7)
    assert item.auto["on_time"] is True  # the platform's own result is kept

    heping_op = make_user("operator", district_name="和平区")
    login(client, heping_op)
    body = client.get(reverse("oversight:spot_check", args=[check.pk])).content.decode()
    assert item.case.number in body and "受理后第65日才办结" in body
    hedong_numbers = [c.number for c in closed_month["河东区"]]
    assert not any(n in body for n in hedong_numbers)
    assert "保存复核" not in body  # a district reads, it does not review
    assert client.post(url, {**data, f"{prefix}note": "改"}).status_code == 403


def test_draws_and_reviews_are_in_the_audit_trail(
    client: Any, city: City, closed_month: dict[str, list[Case]]
) -> None:
    login(client, city.operator)
    period = current_month()
    client.post(reverse("oversight:spot_checks"), {"month": period.key, "per_district": 2, "seed": 5})
    client.post(reverse("oversight:spot_checks"), {"month": period.key, "per_district": 3, "seed": 6})
    draws = list(AuditEntry.objects.filter(action="spot_check.draw").order_by("id"))
    assert [(e.actor_id, e.object_type, e.object_id) for e in draws] == [
        (city.operator.pk, "spot_check", period.key)
    ] * 2
    assert draws[0].detail == {"seed": 5, "per_district": 2, "items": 5, "replaced_seed": None}
    assert draws[1].detail == {"seed": 6, "per_district": 3, "items": 7, "replaced_seed": 5}
    item = SpotCheckItem.objects.filter(region__name="和平区").order_by("id").first()
    assert item is not None and item.auto["on_time"] is True
    prefix = f"i{item.pk}-"
    data = {
        f"{prefix}on_time": "0",
        f"{prefix}reply_complete": "1",
        f"{prefix}evidence": "",
        f"{prefix}reporter_informed": "1",
    }
    login(client, city.reviewer)
    url = reverse("oversight:spot_check_item", args=[item.pk])
    client.post(url, {**data, f"{prefix}note": ""})  # refused: a change needs a note
    assert not AuditEntry.objects.filter(action="spot_check.review").exists()
    client.post(url, {**data, f"{prefix}note": "超期办结。"})
    review = AuditEntry.objects.get(action="spot_check.review")
    assert (review.actor_id, review.object_type, review.object_id) == (
        city.reviewer.pk,
        "spot_check_item",
        str(item.pk),
    )
    assert review.detail["case"] == item.case.number and review.detail["month"] == period.key
    assert "on_time" in review.detail["changed"] and review.detail["score"] == pytest.approx(66.7)
    assert audit_verify().ok


def test_a_reviewed_sample_cannot_be_redrawn(
    client: Any, city: City, closed_month: dict[str, list[Case]]
) -> None:
    login(client, city.operator)
    period = current_month()
    client.post(reverse("oversight:spot_checks"), {"month": period.key, "per_district": 2, "seed": 5})
    response = client.post(
        reverse("oversight:spot_checks"), {"month": period.key, "per_district": 2, "seed": 6}
    )
    assert response.status_code == 302 and SpotCheck.objects.get().seed == 6  # not reviewed yet: redrawn
    item = SpotCheckItem.objects.first()
    assert item is not None
    prefix = f"i{item.pk}-"
    client.post(
        reverse("oversight:spot_check_item", args=[item.pk]),
        {f"{prefix}{k}": "1" if v else ("" if v is None else "0") for k, v in item.auto.items()},
    )
    response = client.post(
        reverse("oversight:spot_checks"), {"month": period.key, "per_district": 2, "seed": 7}
    )
    # Not what was typed but the month's state refuses it: the refusal's own 409, not the form's 422.
    assert response.status_code == 409 and "不能重新抽取" in response.content.decode()
    assert SpotCheck.objects.get().seed == 6


def test_spot_check_permissions(
    client: Any,
    city: City,
    heping: Bureau,
    outsiders: dict[str, Any],
    closed_month: dict[str, list[Case]],
    make_user: Callable[..., Any],
) -> None:
    period = current_month()
    draw = {"month": period.key, "per_district": 2, "seed": 1}
    for user in (heping.operator, heping.head, city.reviewer, city.handler):
        login(client, user)
        assert client.post(reverse("oversight:spot_checks"), draw).status_code == 403
    assert not SpotCheck.objects.exists()
    for user in (heping.handler, city.handler, *outsiders.values()):
        login(client, user)
        assert client.get(reverse("oversight:spot_checks")).status_code == 403
    login(client, city.head)
    assert client.post(reverse("oversight:spot_checks"), draw).status_code == 302
    check = SpotCheck.objects.get()
    login(client, heping.handler)
    assert client.get(reverse("oversight:spot_check", args=[check.pk])).status_code == 403
    # A district with no case in the sample (河西区) sees nothing of it.
    login(client, make_user("operator", district_name="河西区"))
    assert "还没有抽查记录" in client.get(reverse("oversight:spot_checks")).content.decode()
    assert client.get(reverse("oversight:spot_check", args=[check.pk])).status_code == 404
    login(client, heping.operator)
    assert check.month.strftime("%Y年") in client.get(reverse("oversight:spot_checks")).content.decode()


def test_spot_check_pages_query_count_is_bounded(
    client: Any, city: City, closed_month: dict[str, list[Case]], django_assert_max_num_queries: Any
) -> None:
    login(client, city.operator)
    client.post(
        reverse("oversight:spot_checks"), {"month": current_month().key, "per_district": 5, "seed": 3}
    )
    check = SpotCheck.objects.get()
    client.get(reverse("oversight:spot_checks"))
    with django_assert_max_num_queries(10):
        assert client.get(reverse("oversight:spot_checks")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("oversight:spot_check", args=[check.pk])).status_code == 200


def test_the_month_list_is_newest_first_with_the_last_ended_month_chosen(client: Any, city: City) -> None:
    """Issue 12, D13: the month list put this month (2026年12月) last."""
    login(client, city.operator)
    page = client.get(reverse("oversight:spot_checks")).content.decode()
    select = re.search(r'<select name="month"[^>]*>(.*?)</select>', page, re.S)
    assert select
    keys = re.findall(r'<option value="(\d{4}-\d\d)"', select.group(1))
    assert len(keys) == 13 and keys == sorted(keys, reverse=True)
    assert keys[0] == current_month().key
    chosen = re.findall(r'<option value="(\d{4}-\d\d)"[^>]*selected', select.group(1))
    assert chosen == [keys[1]]
