"""“Already reported?” at intake (issue #7 item 4): open cases near the place the reporter gives, or about
the same reported party, so the reporter can follow one instead of filing the same matter again.

Reuses the duplicate detector's keys and measures (``oversight.duplicates``): the normalised party
(``CaseFingerprint.party_key``, indexed), the ~1 km grid cells around a point (``CaseFingerprint.geo_cell``,
indexed) with the haversine distance, and the normalised address similarity within the district. Every
look-up is an indexed query bounded by a limit, whatever the number of cases.

Only public facts leave this module (Art. 17): the case number, its public summary (or a neutral line
made from its category), its public status and, for cases of the district the reporter chose, the
district, the day received and why it matches. Never the reporter, the description, the address, the
party's name or any internal note. For other districts: the summary and the status only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.core import signing
from django.db.models import Q
from django.utils import timezone

from eco12369.cases.models import OPEN_STATES, Case, Kind
from eco12369.cases.public import listed_q, public_status, public_summary
from eco12369.cases.selectors import reporter_q
from eco12369.orgs.models import Region
from eco12369.oversight.duplicate_scoring import (
    address_similarity,
    haversine_m,
    neighbour_keys,
    normalise_address,
    normalise_party,
)
from eco12369.oversight.models import CaseFingerprint

WINDOW_DAYS = 120  # open cases received in the last 120 days (60 days to close + extensions + margin)
NEARBY_M = 500.0  # within this distance a case counts as nearby
ADDRESS_SIMILAR = 0.8
PARTY_LIMIT = 50
PLACE_LIMIT = 150
MAX_SUGGESTIONS = 5
TOKEN_SALT = "eco12369.followup.follow"
TOKEN_SECONDS = 2 * 3600


@dataclass(frozen=True)
class Suggestion:
    number: str
    summary: str
    status: str
    tone: str
    same_district: bool
    district: str  # "" for another district's case
    received_on: str  # "" for another district's case
    reason: str  # "" for another district's case
    token: str

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "number": self.number,
            "summary": self.summary,
            "status": self.status,
            "token": self.token,
        }
        if self.same_district:
            data.update(district=self.district, received_on=self.received_on, reason=self.reason)
        return data


def _reporter_key(openid: str) -> str:
    return hashlib.sha256(f"follow:{openid}".encode()).hexdigest()[:24]


def follow_token(*, openid: str, number: str) -> str:
    """A signed, short-lived permission for this reporter to follow this suggested case."""
    return signing.dumps({"n": number, "r": _reporter_key(openid)}, salt=TOKEN_SALT, compress=True)


def follow_token_valid(*, token: str, openid: str, number: str) -> bool:
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_SECONDS)
    except signing.BadSignature:
        return False
    return isinstance(data, dict) and data.get("n") == number and data.get("r") == _reporter_key(openid)


def _candidates(
    *,
    district: Region | None,
    address: str,
    party: str,
    latitude: Decimal | float | None,
    longitude: Decimal | float | None,
    since: dt.datetime,
) -> dict[int, tuple[int, float, str]]:
    """case id → (match rank: 0 same party, 1 nearby, 2 similar address; closeness 0..1; reason)."""
    found: dict[int, tuple[int, float, str]] = {}

    def keep(case_id: int, rank: int, closeness: float, reason: str) -> None:
        if case_id not in found or (rank, -closeness) < (found[case_id][0], -found[case_id][1]):
            found[case_id] = (rank, closeness, reason)

    window = CaseFingerprint.objects.filter(received_at__gte=since, case__state__in=OPEN_STATES).order_by(
        "-received_at"
    )
    party_key = normalise_party(party)
    if len(party_key) >= 2:
        for case_id in window.filter(party_key=party_key).values_list("case_id", flat=True)[:PARTY_LIMIT]:
            keep(case_id, 0, 1.0, "同一被举报对象")
    if latitude is not None and longitude is not None:
        lat, lon = float(latitude), float(longitude)
        cells = neighbour_keys(lat, lon)
        rows = Case.objects.filter(
            pk__in=window.filter(geo_cell__in=cells).values("case_id")[:PLACE_LIMIT],
            latitude__isnull=False,
            longitude__isnull=False,
        ).values_list("pk", "latitude", "longitude")
        for case_id, clat, clon in rows:
            if clat is None or clon is None:
                continue
            distance = haversine_m(lat, lon, float(clat), float(clon))
            if distance <= NEARBY_M:
                keep(
                    case_id, 1, 1.0 - distance / NEARBY_M, f"距离约{max(50, round(distance / 50) * 50):.0f}米"
                )
    wanted = normalise_address(address)
    if district is not None and len(wanted) >= 2:
        rows2 = (
            Case.objects.filter(region=district, state__in=OPEN_STATES, received_at__gte=since)
            .exclude(address="")
            .order_by("-received_at")
            .values_list("pk", "address")[:PLACE_LIMIT]
        )
        for case_id, other in rows2:
            similarity = address_similarity(wanted, normalise_address(other))
            if similarity >= ADDRESS_SIMILAR:
                keep(case_id, 2, similarity, "地址相近")
    return found


def intake_suggestions(
    *,
    openid: str,
    district: Region | None,
    address: str = "",
    reported_party: str = "",
    latitude: Decimal | float | None = None,
    longitude: Decimal | float | None = None,
    now: dt.datetime | None = None,
    limit: int = MAX_SUGGESTIONS,
    accepted_only: bool = True,
) -> list[Suggestion]:
    """Open reports near the given place or about the same party, best first; the reporter's own cases
    are left out (they are in “我的举报”).

    A reporter (``accepted_only``, the default) learns only of cases the bureau accepted: nothing about a case
    not (yet) accepted, not even that it exists (issue 11, L6). Staff taking a call see every open case."""

    now = now or timezone.now()
    since = now - dt.timedelta(days=WINDOW_DAYS)
    found = _candidates(
        district=district,
        address=address,
        party=reported_party,
        latitude=latitude,
        longitude=longitude,
        since=since,
    )
    if not found:
        return []
    cases = (
        Case.objects.filter(pk__in=found, state__in=OPEN_STATES, kind=Kind.REPORT, received_at__gte=since)
        .filter(listed_q() if accepted_only else Q())
        .exclude(reporter_q(openid=openid))
        .select_related("region")
        .only(
            "number",
            "state",
            "outcome",
            "category",
            "public_summary",
            "reporter_name",
            "reporter_phone",
            "received_at",
            "region__name",
            "region_id",
        )
    )
    district_id = district.pk if district is not None else None
    ordered = sorted(
        cases,
        key=lambda c: (
            found[c.pk][0],
            c.region_id != district_id,
            -found[c.pk][1],
            -c.received_at.timestamp(),
        ),
    )
    out = []
    for case in ordered[:limit]:
        same = district is not None and case.region_id == district.pk
        status = public_status(case)
        out.append(
            Suggestion(
                number=case.number,
                summary=public_summary(case),
                status=status.label,
                tone=status.tone,
                same_district=same,
                district=case.region.name if same else "",
                received_on=f"{timezone.localtime(case.received_at):%Y-%m-%d}" if same else "",
                reason=found[case.pk][2] if same else "",
                token=follow_token(openid=openid, number=case.number),
            )
        )
    return out
