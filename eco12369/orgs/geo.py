"""Which of the city's districts a point lies in: a point-in-polygon test against the districts' boundaries,
so that a report is routed to the bureau of the district it is in, whatever channel brought it (a WeChat
location, an Open311 request with coordinates, a point an operator picks on the hotline form's map).

The boundaries (``data/tianjin_districts.geojson``) are the district outlines of Apache ECharts 4.9.0's
Tianjin map (Apache License 2.0, see ``data/NOTICE``), decoded to plain GeoJSON: simplified outlines,
precise to about 100 m, in the GCJ-02 coordinates WeChat's location messages (and Chinese web maps) use. A point up to
``BORDER_TOLERANCE_KM`` outside every outline (the simplification cuts corners along the city's border and
the coast) goes to the nearest district; further out, it is not in the city and the city centre confirms
the report. Another city deploys its own file (``ECO_DISTRICTS_GEOJSON``)."""

from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from django.db import connections, router

from eco12369.db import from_row, prepared_cursor

from .models import Agency, Region

DEFAULT_FILE = Path(__file__).with_name("data") / "tianjin_districts.geojson"
BORDER_TOLERANCE_KM = 2.0
KM_PER_DEGREE = 111.32

Ring = tuple[tuple[float, float], ...]  # (longitude, latitude) points, GeoJSON order


@dataclass(frozen=True)
class District:
    name: str
    rings: tuple[Ring, ...]  # the outer ring first, then any holes
    bbox: tuple[float, float, float, float]  # lng min, lat min, lng max, lat max

    def contains(self, lng: float, lat: float) -> bool:
        lng_min, lat_min, lng_max, lat_max = self.bbox
        if not (lng_min <= lng <= lng_max and lat_min <= lat <= lat_max):
            return False
        outer, *holes = self.rings
        return _inside(outer, lng, lat) and not any(_inside(hole, lng, lat) for hole in holes)

    def distance_km(self, lng: float, lat: float) -> float:
        """Distance from the point to the district's outline (0 inside), in km (equirectangular)."""
        if self.contains(lng, lat):
            return 0.0
        scale = math.cos(math.radians(lat))
        best = math.inf
        for ring in self.rings:
            for (x1, y1), (x2, y2) in itertools.pairwise(ring):
                best = min(best, _segment_distance((lng - x1) * scale, lat - y1, (x2 - x1) * scale, y2 - y1))
        return best * KM_PER_DEGREE


def _inside(ring: Ring, x: float, y: float) -> bool:
    """Ray casting (even-odd rule)."""
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):  # GeoJSON rings end where they start
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _segment_distance(px: float, py: float, dx: float, dy: float) -> float:
    """Distance from point (px, py) to the segment from the origin to (dx, dy)."""
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, (px * dx + py * dy) / length))
    return math.hypot(px - t * dx, py - t * dy)


def outlines_file() -> Path:
    """The boundary file in use (``ECO_DISTRICTS_GEOJSON`` or the bundled Tianjin file)."""
    return Path(os.environ.get("ECO_DISTRICTS_GEOJSON") or DEFAULT_FILE)


@cache
def districts(path: str = "") -> tuple[District, ...]:
    """The districts of the boundary file (``ECO_DISTRICTS_GEOJSON`` or the bundled Tianjin file)."""
    source = Path(path) if path else outlines_file()
    data = json.loads(source.read_text(encoding="utf-8"))
    found = []
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = (
            geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        )
        for polygon in polygons:
            rings = tuple(tuple((float(x), float(y)) for x, y in ring) for ring in polygon)
            xs = [x for x, _ in rings[0]]
            ys = [y for _, y in rings[0]]
            found.append(District(feature["properties"]["name"], rings, (min(xs), min(ys), max(xs), max(ys))))
    return tuple(found)


def district_for(latitude: float | Decimal, longitude: float | Decimal) -> str | None:
    """The name of the district the point lies in; near the city's border, the nearest district within
    ``BORDER_TOLERANCE_KM``; None when the point is not in the city."""
    lat, lng = float(latitude), float(longitude)
    every = districts()
    for district in every:
        if district.contains(lng, lat):
            return district.name
    # Only districts whose box is near the point can be within the tolerance.
    margin = BORDER_TOLERANCE_KM / KM_PER_DEGREE / max(math.cos(math.radians(lat)), 0.1)
    near = [
        d
        for d in every
        if d.bbox[0] - margin <= lng <= d.bbox[2] + margin and d.bbox[1] - margin <= lat <= d.bbox[3] + margin
    ]
    if not near:
        return None
    distance, name = min((d.distance_km(lng, lat), d.name) for d in near)
    return name if distance <= BORDER_TOLERANCE_KM else None


def region_at(latitude: float | Decimal | None, longitude: float | Decimal | None) -> Region | None:
    """The district (``Region``) a point lies in, by the outlines; None without a point, or outside the
    city (the city centre then confirms the report)."""
    if latitude is None or longitude is None:
        return None
    name = district_for(latitude, longitude)
    if name is None:
        return None
    return Region.objects.filter(name=name, level=Region.Level.DISTRICT).first()


def _region_and_bureau_sql(alias: str) -> str:
    qn = connections[alias].ops.quote_name
    region, agency = Region._meta, Agency._meta
    r_cols = ", ".join(f"r.{qn(f.column)}" for f in region.concrete_fields)
    a_cols = ", ".join(f"a.{qn(f.column)}" for f in agency.concrete_fields)

    def c(meta: Any, name: str) -> str:
        return qn(meta.get_field(name).column)  # type: ignore[no-any-return]

    # One district per name (Region's order, code) and its bureau (Agency's order within a region, name).
    return (
        f"SELECT {r_cols}, {a_cols} FROM {qn(region.db_table)} r LEFT JOIN {qn(agency.db_table)} a "  # noqa: S608
        f"ON a.{c(agency, 'region')} = r.{c(region, 'id')} AND a.{c(agency, 'kind')} = %s "
        f"WHERE r.{c(region, 'name')} = %s AND r.{c(region, 'level')} = %s "
        f"ORDER BY r.{c(region, 'code')}, a.{c(agency, 'name')} LIMIT 1"
    )


_SQL: dict[str, str] = {}


def region_and_bureau_at(
    latitude: float | Decimal | None, longitude: float | Decimal | None
) -> tuple[Region | None, Agency | None]:
    """``region_at`` and that district's bureau (``Agency.Kind.DISTRICT_BUREAU``, None when it has none) in
    one statement: the WeChat callback files a case with both on its hot path."""
    if latitude is None or longitude is None:
        return None, None
    name = district_for(latitude, longitude)
    if name is None:
        return None, None
    alias = router.db_for_read(Region)
    if alias not in _SQL:
        _SQL[alias] = _region_and_bureau_sql(alias)
    with prepared_cursor(connections[alias]) as cursor:
        cursor.execute(_SQL[alias], [str(Agency.Kind.DISTRICT_BUREAU), name, str(Region.Level.DISTRICT)])
        row = cursor.fetchone()
    if row is None:
        return None, None
    region_fields, agency_fields = Region._meta.concrete_fields, Agency._meta.concrete_fields
    region = from_row(Region, region_fields, row[: len(region_fields)], alias)
    if row[len(region_fields)] is None:
        return region, None
    return region, from_row(Agency, agency_fields, row[len(region_fields) :], alias)
