"""Issue 12, D12: the oversight forms say what is wrong in plain Chinese, naming the field and, for a number,
the range allowed; not Django's "这个字段是必填项。", "确保该值大于或等于 1。" or "选择一个有效的选项。"."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.urls import reverse

from eco12369.oversight.models import AssessmentScheme, SpotCheck, StaffMerit
from eco12369.oversight.periods import previous_month

from .conftest import Bureau, City, login

pytestmark = pytest.mark.django_db

DJANGO_DEFAULTS = ("这个字段是必填项", "确保该值", "选择一个有效的选项", "输入整数", "确保该变量")


def text_of(response: Any) -> str:
    body = html.unescape(response.content.decode())
    for default in DJANGO_DEFAULTS:
        assert default not in body, default
    return body


def test_the_spot_check_draw_names_the_month_and_the_range(client: Any, city: City) -> None:
    login(client, city.operator)
    url = reverse("oversight:spot_checks")
    page = text_of(client.get(url))
    assert "抽样号" in page and "随机种子" not in page  # the staff's word, not the developer's
    no_month = client.post(url, {"month": "", "per_district": "5"})
    assert no_month.status_code == 422 and "请选择抽查月份。" in text_of(no_month)
    for typed in ("0", "51", "200"):
        response = client.post(url, {"month": previous_month().key, "per_district": typed})
        assert response.status_code == 422
        assert "每区抽查件数须在1至50之间。" in text_of(response), typed
    words = client.post(url, {"month": previous_month().key, "per_district": "五件"})
    assert words.status_code == 422 and "每区抽查件数须填写整数。" in text_of(words)
    month_typo = client.post(url, {"month": "2025-13", "per_district": "5"})
    assert month_typo.status_code == 422 and "所选的抽查月份无效，请重新选择。" in text_of(month_typo)
    huge_seed = client.post(url, {"month": previous_month().key, "per_district": "5", "seed": "9" * 30})
    assert huge_seed.status_code == 422 and "抽样号过大" in text_of(huge_seed)
    assert not SpotCheck.objects.exists()


def test_the_assessment_weights_say_which_weight_and_the_range(client: Any, city: City) -> None:
    weights = {name: "10" for name in AssessmentScheme.WEIGHT_FIELDS}
    login(client, city.head)
    url = reverse("oversight:assessment_weights")
    blank = client.post(url, {**weights, "w_close_on_time": "", "repeat_threshold": "3"})
    assert blank.status_code == 422 and "请填写按期办结率权重。" in text_of(blank)
    too_big = client.post(url, {**weights, "w_extension": "150", "repeat_threshold": "3"})
    assert too_big.status_code == 422 and "未延期率权重须在0至100之间。" in text_of(too_big)
    negative = client.post(url, {**weights, "w_satisfaction": "-5", "repeat_threshold": "3"})
    assert negative.status_code == 422 and "满意度权重须在0至100之间。" in text_of(negative)
    once = client.post(url, {**weights, "repeat_threshold": "1"})
    assert once.status_code == 422 and "重复举报认定次数不能小于2。" in text_of(once)
    page = client.get(url).content.decode()
    assert 'max="100"' in page and 'min="2"' in page  # the browser knows the ranges too
    assert client.post(url, {**weights, "repeat_threshold": "3"}).status_code == 302


def test_a_guidance_notice_title_too_long_says_the_limit(client: Any, city: City, heping: Bureau) -> None:
    login(client, city.operator)
    title = "关于进一步规范噪声扰民类举报答复意见的通知" * 12  # 240 characters
    response = client.post(reverse("oversight:guidance_new"), {"title": title, "body": "各区请遵照执行。"})
    assert response.status_code == 422
    assert "标题最多200个字，请删减后再提交。" in text_of(response)


def test_a_staff_merit_with_a_forged_period_says_so(client: Any, heping: Bureau) -> None:
    login(client, heping.head)
    url = reverse("oversight:staff_merit_new", args=[heping.handler.pk])
    response = client.post(url, {"kind": "commendation", "period": "2099-01", "reason": "答复及时。"})
    assert response.status_code == 422
    assert "所选的所涉期间无效，请重新选择。" in text_of(response)
    no_kind = client.post(url, {"kind": "", "period": previous_month().key, "reason": "答复及时。"})
    assert no_kind.status_code == 422 and "请选择类别。" in text_of(no_kind)
    assert not StaffMerit.objects.exists()
