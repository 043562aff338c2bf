"""Enumeration through Open311 (issue 11, M4). Case numbers are the date and a daily counter, so anyone can
guess them: a keyless GET shows exactly what the public list shows, a case not accepted is told to nobody
without its query code, at most 20 ids go in one request, and keyless reads are rate-limited per client
(its address taken through the trusted proxies)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from eco12369.cases import services
from eco12369.cases.models import QUERY_CODE_ALPHABET, Case
from eco12369.open311.services import api_key_create
from eco12369.orgs.models import User

BASE = "/open311/v2"
pytestmark = pytest.mark.django_db
CODE = re.compile(f"[{QUERY_CODE_ALPHABET}]{{10}}")


@pytest.fixture
def key(tianjin: None) -> str:
    return api_key_create(channel="12345热线")[1]


def file(
    client: Client, key: str, party: str = "天津某某化工有限公司", service: str = "report_water"
) -> dict[str, Any]:
    response = client.post(
        f"{BASE}/requests.json",
        {
            "api_key": key,
            "service_code": service,
            "lat": "39.1175",
            "long": "117.2103",
            "description": f"{party}往河里排黄水，味道很冲",
            "attribute[district]": "120101",
            "attribute[reported_party]": party,
        },
    )
    assert response.status_code == 200, response.content
    return dict(response.json()[0])


def nothing_about(body: str, number: str) -> None:
    for leak in (number, "待确认", "待审核", "待批转", "水", "report_water", "requested_datetime"):
        assert leak not in body, leak


def test_an_anonymous_get_of_a_case_not_accepted_returns_nothing_about_it(client: Client, key: str) -> None:
    filed = file(client, key)
    number = filed["service_request_id"]
    stranger = Client()
    listed = stranger.get(f"{BASE}/requests.json", {"service_request_id": number})
    assert listed.status_code == 200 and listed.json() == []
    for url in (f"{BASE}/requests/{number}.json", f"{BASE}/requests/{number}.xml"):
        response = stranger.get(url)
        assert response.status_code == 404
        nothing_about(response.content.decode().replace(f"service_request_id 不存在：{number}", ""), number)
    nothing_about(stranger.get(f"{BASE}/requests.json").content.decode(), number)
    nothing_about(
        stranger.get(f"{BASE}/requests.xml", {"service_request_id": number}).content.decode(), number
    )
    # A wrong code is no code; the code given with the number at filing opens its status.
    wrong = stranger.get(f"{BASE}/requests/{number}.json", {"query_code": "ABCDEFGHJK"})
    assert wrong.status_code == 404
    row = stranger.get(f"{BASE}/requests/{number}.json", {"query_code": filed["query_code"].lower()}).json()
    assert row[0]["service_request_id"] == number and row[0]["status_notes"] == "待确认"


def test_a_hundred_guessed_numbers_reveal_nothing_without_codes(
    client: Client, key: str, make_user: Callable[..., User]
) -> None:
    filed = [file(client, key, party) for party in ("某洗煤厂", "XX建材公司", "天津***印染厂", "某某饭店")]
    public = services.case_accept(
        case=Case.objects.get(number=file(client, key, "某公开的化工厂", "report_air")["service_request_id"]),
        actor=make_user("operator"),
    )
    day = timezone.localdate()
    guesses = [f"TJ{day:%Y%m%d}{n:06d}" for n in range(1, 101)]
    assert {f["service_request_id"] for f in filed} <= set(guesses)
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    seen: list[dict[str, Any]] = []
    for start in range(0, 100, 20):
        response = attacker.get(
            f"{BASE}/requests.json", {"service_request_id": ",".join(guesses[start : start + 20])}
        )
        assert response.status_code == 200
        seen += response.json()
    # Only the accepted case, which the public list shows anyway, with its public row; of the others nothing.
    assert [row["service_request_id"] for row in seen] == [public.number]
    listed = attacker.get(f"{BASE}/requests.json").json()
    assert seen == listed
    assert not any(f["service_request_id"] in str(seen) for f in filed)
    assert "待确认" not in str(seen) and "水" not in str(seen)  # no state, no category of the others


def test_at_most_twenty_ids_per_request(client: Client, key: str) -> None:
    day = timezone.localdate()
    ids = ",".join(f"TJ{day:%Y%m%d}{n:06d}" for n in range(1, 22))
    response = client.get(f"{BASE}/requests.json", {"service_request_id": ids})
    assert response.status_code == 400
    assert "一次最多查询20个" in response.json()[0]["description"]


def test_keyless_reads_are_limited_per_client_behind_the_trusted_proxy(key: str, settings: Any) -> None:
    settings.OPEN311_ANONYMOUS_READS_PER_MINUTE = 5
    settings.ECO_TRUSTED_PROXIES = "1"  # one nginx in front: its X-Forwarded-For names the client
    first = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    second = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.8")
    with time_machine.travel(dt.datetime(2026, 12, 7, 10, 0, 5, tzinfo=dt.UTC), tick=False):
        assert [first.get(f"{BASE}/requests.json").status_code for _ in range(5)] == [200] * 5
        limited = first.get(f"{BASE}/requests.json")
        assert limited.status_code == 429 and "查询过于频繁" in limited.json()[0]["description"]
        assert first.get(f"{BASE}/requests/TJ1.json").status_code == 429
        assert second.get(f"{BASE}/requests.json").status_code == 200  # another client behind the same proxy
        # A partner with its key is not counted.
        assert first.get(f"{BASE}/requests.json", {"api_key": key}).status_code == 200
    with time_machine.travel(dt.datetime(2026, 12, 7, 10, 1, 5, tzinfo=dt.UTC), tick=False):
        assert first.get(f"{BASE}/requests.json").status_code == 200  # the next minute


def test_every_reporter_gets_a_query_code_with_the_number(client: Client, key: str) -> None:
    one, two = file(client, key), file(client, key)
    assert CODE.fullmatch(one["query_code"]) and CODE.fullmatch(two["query_code"])
    assert one["query_code"] != two["query_code"]
    case = Case.objects.get(number=one["service_request_id"])
    assert case.query_code == one["query_code"]
    xml = client.post(
        f"{BASE}/requests.xml",
        {
            "api_key": key,
            "service_code": "report_air",
            "address_string": "和平区南京路1号",
            "description": "冒黑烟",
        },
    ).content.decode()
    assert re.search(f"<query_code>{CODE.pattern}</query_code>", xml)
