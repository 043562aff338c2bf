"""Rough mapping of a WeChat location message to one of Tianjin's 16 districts: the nearest district
centre, if the point lies in Tianjin's bounding box. Good enough to route a report to the right bureau;
the operator re-routes when it is wrong (properly: a district polygon lookup)."""

from __future__ import annotations

import math
from decimal import Decimal

# Approximate seats of the district governments (latitude, longitude).
DISTRICT_CENTRES: dict[str, tuple[float, float]] = {
    "和平区": (39.1172, 117.2150),
    "河东区": (39.1283, 117.2517),
    "河西区": (39.1096, 117.2232),
    "南开区": (39.1383, 117.1503),
    "河北区": (39.1482, 117.1966),
    "红桥区": (39.1671, 117.1515),
    "东丽区": (39.0864, 117.3145),
    "西青区": (39.1415, 117.0086),
    "津南区": (38.9380, 117.3573),
    "北辰区": (39.2252, 117.1349),
    "武清区": (39.3841, 117.0444),
    "宝坻区": (39.7170, 117.3093),
    "滨海新区": (39.0032, 117.7106),
    "宁河区": (39.3305, 117.8266),
    "静海区": (38.9476, 116.9742),
    "蓟州区": (40.0457, 117.4082),
}
TIANJIN_BOUNDS = ((38.55, 40.26), (116.69, 118.07))  # (lat min, max), (lng min, max)


def district_for(latitude: float | Decimal, longitude: float | Decimal) -> str | None:
    """The district whose centre is nearest to the point, or None outside Tianjin's bounding box."""
    lat, lng = float(latitude), float(longitude)
    (lat_min, lat_max), (lng_min, lng_max) = TIANJIN_BOUNDS
    if not (lat_min <= lat <= lat_max and lng_min <= lng <= lng_max):
        return None
    scale = math.cos(math.radians(lat))

    def distance(centre: tuple[float, float]) -> float:
        return math.hypot(centre[0] - lat, (centre[1] - lng) * scale)

    return min(DISTRICT_CENTRES, key=lambda name: distance(DISTRICT_CENTRES[name]))
