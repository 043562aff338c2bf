"""A location message is routed by the district outlines (issue #3): the district the point is in, also
where the nearest district seat would be wrong, and nothing for a point outside the city."""

from __future__ import annotations

import pytest

from eco12369.cases.models import Case

from .conftest import WeChatServer

pytestmark = pytest.mark.django_db
OPENID = "oChatGeoReporter01"


@pytest.mark.parametrize(
    ("place", "lat", "lng", "district"),
    [
        ("大港（滨海新区，离津南区政府更近）", 38.84, 117.45, "滨海新区"),
        ("汉沽（滨海新区，离宁河区政府更近）", 39.25, 117.80, "滨海新区"),
        ("天津港", 38.97, 117.78, "滨海新区"),
        ("南京路", 39.1172, 117.2150, "和平区"),
        ("蓟州城区", 40.0457, 117.4082, "蓟州区"),
        ("静海城区", 38.9476, 116.9742, "静海区"),
    ],
)
def test_location_is_routed_to_the_district_it_lies_in(
    wechat: WeChatServer, tianjin: None, place: str, lat: float, lng: float, district: str
) -> None:
    wechat.text(OPENID, "河边有人倾倒化工废液，气味刺鼻。")
    assert f"属{district}" in wechat.reply(wechat.location(OPENID, lat, lng, place))
    wechat.text(OPENID, "提交")
    assert Case.objects.get().region.name == district


@pytest.mark.parametrize(
    ("place", "lat", "lng"),
    [("河北省廊坊市", 39.52, 116.70), ("北京市通州区南部", 39.75, 116.80), ("渤海海面", 38.95, 118.30)],
)
def test_a_point_near_but_outside_the_city_goes_to_the_city_centre(
    wechat: WeChatServer, tianjin: None, place: str, lat: float, lng: float
) -> None:
    wechat.text(OPENID, "工地夜间施工噪声扰民。")
    assert "不在天津市范围内" in wechat.reply(wechat.location(OPENID, lat, lng, place))
    wechat.text(OPENID, "提交")
    assert Case.objects.get().agency.kind == "city_centre"
