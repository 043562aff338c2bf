"""Open311 GeoReport v2, endpoint by endpoint, as the spec (wiki.open311.org/GeoReport_v2) describes it."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from eco12369.audit.models import AuditEntry
from eco12369.cases import services
from eco12369.cases.models import Case, CaseEvent, Channel
from eco12369.open311.models import ApiKey
from eco12369.open311.services import api_key_create
from eco12369.orgs.models import Agency, User

BASE = "/open311/v2"
pytestmark = pytest.mark.django_db


@pytest.fixture
def key(tianjin: None) -> str:
    return api_key_create(channel="12345热线")[1]


def post(client: Client, fmt: str = "json", **data: Any) -> Any:
    return client.post(f"{BASE}/requests.{fmt}", data)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user("operator")


def accept(operator: User, number: str) -> Case:
    """The operator confirms the case and accepts it: from now on it is in the public list."""
    return services.case_accept(case=Case.objects.get(number=number), actor=operator)


def filed(client: Client, key: str, operator: User, **extra: Any) -> str:
    number: str = post(client, **valid(key, **extra)).json()[0]["service_request_id"]
    accept(operator, number)
    return number


def valid(key: str, **extra: Any) -> dict[str, Any]:
    data = {
        "api_key": key,
        "service_code": "report_air",
        "lat": "39.1175",
        "long": "117.2103",
        "description": "工厂烟囱冒黑烟，联系电话13812345678",
        "attribute[district]": "120101",
        "attribute[reported_party]": "天津某某化工有限公司",
        "first_name": "三",
        "last_name": "张",
        "phone": "13812345678",
        "email": "zhang@example.com",
    }
    data.update(extra)
    return data


def test_discovery_json_and_xml(client: Client) -> None:
    body = client.get(f"{BASE}/discovery.json").json()
    assert body["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert "text/xml" in body["endpoints"][0]["formats"]
    root = ET.fromstring(client.get(f"{BASE}/discovery.xml").content)
    assert root.tag == "discovery" and root.find("endpoints/endpoint/specification") is not None


def test_services_list_both_formats(client: Client, tianjin: None) -> None:
    services = client.get(f"{BASE}/services.json").json()
    codes = {s["service_code"] for s in services}
    assert {"report_air", "report_water", "report_noise", "report_hazardous_waste", "consultation"} <= codes
    air = next(s for s in services if s["service_code"] == "report_air")
    assert air["metadata"] is True and air["type"] == "realtime"
    resp = client.get(f"{BASE}/services.xml")
    assert resp["Content-Type"].startswith("text/xml")
    root = ET.fromstring(resp.content)
    assert root.tag == "services" and len(root.findall("service")) == len(services)


def test_service_definition_and_404(client: Client, tianjin: None) -> None:
    body = client.get(f"{BASE}/services/report_air.json").json()
    codes = [a["code"] for a in body["attributes"]]
    assert codes == ["district", "reported_party", "occurred_at"]
    district = body["attributes"][0]
    assert district["datatype"] == "singlevaluelist" and len(district["values"]) == 16
    root = ET.fromstring(client.get(f"{BASE}/services/report_air.xml").content)
    assert root.tag == "service_definition" and len(root.findall("attributes/attribute")) == 3
    missing = client.get(f"{BASE}/services/nope.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404


def test_post_creates_case_through_intake_attributed_to_channel(client: Client, key: str) -> None:
    resp = post(client, **valid(key))
    assert resp.status_code == 200, resp.content
    created = resp.json()[0]
    case = Case.objects.get(number=created["service_request_id"])
    assert case.channel == Channel.API and case.category == "air" and case.region.name == "和平区"
    assert case.reported_party == "天津某某化工有限公司"
    assert case.reporter_name == "张 三"
    event = CaseEvent.objects.get(case=case, action="receive")
    assert "12345热线" in event.note
    received = AuditEntry.objects.get(action="case.receive", object_id=case.number)
    assert received.detail["channel"] == "api" and received.detail["channel_label"] == "12345热线"
    assert client.get(f"{BASE}/tokens/{created['token']}.json").json() == [
        {"service_request_id": case.number, "token": created["token"]}
    ]
    assert ApiKey.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    ("lat", "lng", "district"),
    [
        ("38.84", "117.45", "滨海新区"),  # 大港: nearer the 津南 seat, inside 滨海新区's outline
        ("40.0457", "117.4082", "蓟州区"),
        ("39.1172", "117.2150", "和平区"),
    ],
)
def test_a_post_with_coordinates_is_routed_by_the_district_outline(
    client: Client, key: str, lat: str, lng: str, district: str
) -> None:
    """Issue 14 item 5: without attribute[district], the point decides the district, as in WeChat chat."""
    resp = post(client, **valid(key, lat=lat, long=lng, **{"attribute[district]": ""}))
    assert resp.status_code == 200, resp.content
    case = Case.objects.get(number=resp.json()[0]["service_request_id"])
    assert case.region.name == district and case.agency.region.name == district


def test_a_post_outside_the_city_goes_to_the_city_centre(client: Client, key: str) -> None:
    resp = post(client, **valid(key, lat="39.52", long="116.70", **{"attribute[district]": ""}))  # 廊坊
    case = Case.objects.get(number=resp.json()[0]["service_request_id"])
    assert case.agency.kind == Agency.Kind.CITY_CENTRE


def test_attribute_district_still_wins_over_the_point(client: Client, key: str) -> None:
    resp = post(client, **valid(key, lat="40.0457", long="117.4082", **{"attribute[district]": "120101"}))
    assert Case.objects.get(number=resp.json()[0]["service_request_id"]).region.name == "和平区"


def test_post_xml_and_address_only(client: Client, key: str) -> None:
    resp = post(client, "xml", **valid(key, lat="", long="", address_string="和平区南京路100号"))
    assert resp.status_code == 200
    root = ET.fromstring(resp.content)
    assert root.tag == "service_requests" and root.findtext("request/service_request_id", "").startswith("TJ")


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"api_key": ""}, 403),
        ({"api_key": "eco_wrong"}, 403),
        ({"service_code": ""}, 400),
        ({"service_code": "nope"}, 404),
        ({"lat": "", "long": ""}, 400),
        ({"long": ""}, 400),
        ({"lat": "abc"}, 400),
        ({"lat": "95"}, 400),
        ({"description": "  "}, 400),
        ({"attribute[district]": "999999"}, 400),
    ],
)
def test_post_errors(client: Client, key: str, change: dict[str, str], status: int) -> None:
    resp = post(client, **valid(key, **change))
    assert resp.status_code == status
    body = resp.json()
    assert body[0]["code"] == status and body[0]["description"]
    assert not Case.objects.exists()


def test_post_error_in_xml(client: Client, key: str) -> None:
    resp = post(client, "xml", **valid("bad"))
    assert resp.status_code == 403
    root = ET.fromstring(resp.content)
    assert root.tag == "errors" and root.findtext("error/code") == "403"


def test_revoked_key_is_refused(client: Client, key: str) -> None:
    call_command("open311_keys", "revoke", key[4:12])
    assert post(client, **valid(key)).status_code == 403


def test_revoke_by_whole_key_and_unknown_prefix(client: Client, key: str) -> None:
    with pytest.raises(CommandError, match="没有前缀为 zzzzzzzz 的有效密钥"):
        call_command("open311_keys", "revoke", "zzzzzzzz")
    call_command("open311_keys", "revoke", key)
    assert post(client, **valid(key)).status_code == 403


def test_key_prefixes_never_read_as_options(tianjin: None) -> None:
    # A prefix starting with "-" could not be typed after "revoke" (argparse takes it for an option).
    prefixes = {api_key_create(channel=f"渠道{i}")[0].prefix for i in range(200)}
    assert all(re.fullmatch(r"[0-9a-f]{8}", p) for p in prefixes)


def test_get_requests_filters_and_public_fields_only(client: Client, key: str, operator: User) -> None:
    first = filed(client, key, operator)
    second = filed(client, key, operator, service_code="report_water")
    rows = client.get(f"{BASE}/requests.json").json()
    assert {r["service_request_id"] for r in rows} == {first, second}
    text = str(rows)
    assert "13812345678" not in text and "张" not in text and "zhang@" not in text
    row = next(r for r in rows if r["service_request_id"] == first)
    assert row["status"] == "open" and row["requested_datetime"].endswith("+08:00")
    assert row["agency_responsible"].endswith("生态环境局")
    only = client.get(f"{BASE}/requests.json", {"service_code": "report_water"}).json()
    assert [r["service_request_id"] for r in only] == [second]
    by_id = client.get(
        f"{BASE}/requests.json", {"service_request_id": f"{first},{second}", "status": "closed"}
    )
    assert len(by_id.json()) == 2  # a service_request_id list overrides every other parameter
    assert client.get(f"{BASE}/requests.json", {"status": "closed"}).json() == []
    assert len(client.get(f"{BASE}/requests.json", {"status": "open"}).json()) == 2
    root = ET.fromstring(client.get(f"{BASE}/requests.xml").content)
    assert len(root.findall("request")) == 2


NEIGHBOUR = "楼上3单元502的王建国天天往下水道倒油漆，我家就在他楼下"


def test_the_public_sees_the_summary_not_the_reporters_text(client: Client, key: str, operator: User) -> None:
    """The reporter's own words name people and flats: the public rows carry the case's public summary, the
    district instead of the address, and coordinates rounded to about 1 km (Art. 13, 17)."""
    number = filed(
        client, key, operator, description=NEIGHBOUR, address_string="和平区某小区3单元502", lat="39.117512"
    )
    for url in (f"{BASE}/requests.json", f"{BASE}/requests/{number}.json", f"{BASE}/requests.xml"):
        text = client.get(url).content.decode()
        for secret in ("王建国", "502", "油漆", "3单元", "39.1175", "117.2103"):
            assert secret not in text, (url, secret)
    row = client.get(f"{BASE}/requests/{number}.json").json()[0]
    assert row["description"] == "反映大气环境问题。"
    assert row["address"] == "和平区"
    assert (row["lat"], row["long"]) == (39.12, 117.21)


def test_a_staff_summary_is_published_scrubbed(client: Client, key: str, operator: User) -> None:
    number = filed(client, key, operator, description=NEIGHBOUR)
    Case.objects.filter(number=number).update(public_summary="反映某小区张三（邻居13900002222）焚烧垃圾。")
    row = client.get(f"{BASE}/requests/{number}.json").json()[0]
    assert row["description"] == "反映某小区＊＊（邻居＊＊＊）焚烧垃圾。"


def test_unconfirmed_handed_over_and_answered_cases_are_not_listed(
    client: Client, key: str, operator: User
) -> None:
    filed_rows = [post(client, **valid(key, description=NEIGHBOUR)).json()[0] for _ in range(3)]
    waiting, handed, answered = (row["service_request_id"] for row in filed_rows)
    code = {row["service_request_id"]: row["query_code"] for row in filed_rows}
    assert operator.agency is not None
    outside = Agency.objects.create(
        name="市城市管理委员会", kind=Agency.Kind.OUTSIDE, region=operator.agency.region
    )
    services.case_hand_over(
        case=Case.objects.get(number=handed), actor=operator, handover_agency=outside, text="已移交城管部门。"
    )
    services.case_answer(case=Case.objects.get(number=answered), actor=operator, text="不属于受理范围。")
    assert client.get(f"{BASE}/requests.json").json() == []
    assert client.get(f"{BASE}/requests.json", {"status": "open"}).json() == []
    # Asked for by number without its query code: nothing, not even that it exists (issue 11, M4).
    for number in (waiting, handed, answered):
        assert client.get(f"{BASE}/requests/{number}.json").status_code == 404
    assert client.get(f"{BASE}/requests.json", {"service_request_id": f"{waiting},{handed}"}).json() == []
    # With the code (the partner tracking what it filed, or the reporter): number, status and service only.
    for number in (waiting, handed, answered):
        row = client.get(f"{BASE}/requests/{number}.json", {"query_code": code[number]}).json()[0]
        assert row["service_request_id"] == number and row["service_code"] == "report_air"
        assert row["description"] == row["address"] == row["agency_responsible"] == ""
        assert row["lat"] is None and row["long"] is None
    rows = client.get(
        f"{BASE}/requests.json",
        {"service_request_id": f"{waiting},{handed}", "query_code": f"{code[waiting]},{code[handed]}"},
    ).json()
    assert {r["status_notes"] for r in rows} == {"待确认", "办理中"}  # no internal step named
    assert all("待审核" not in r["status_notes"] and "待批转" not in r["status_notes"] for r in rows)
    xml = client.get(f"{BASE}/requests/{waiting}.xml", {"query_code": code[waiting]}).content.decode()
    assert waiting in xml and NEIGHBOUR not in xml


def test_the_address_is_public_only_for_a_substantiated_closed_case(
    client: Client, key: str, operator: User, make_user: Callable[..., User]
) -> None:
    handler, reviewer = make_user("handler"), make_user("reviewer")
    number = filed(client, key, operator, address_string="和平区南京路100号")
    case = services.case_assign(
        case=Case.objects.get(number=number), actor=operator, department=handler.department
    )
    case = services.case_submit_reply(
        case=case,
        actor=handler,
        party_facts="该公司从事化工生产。",
        inspection="现场检查发现废气处理设施未运行。",
        violations="超标排放大气污染物。",
        decision="责令改正并立案处罚。",
        communication="已电话告知举报人。",
    )
    assert client.get(f"{BASE}/requests/{number}.json").json()[0]["address"] == "和平区"  # not yet closed
    services.case_approve(case=case, actor=reviewer)
    row = client.get(f"{BASE}/requests/{number}.json").json()[0]
    assert row["status"] == "closed" and row["status_notes"] == "已查处办结"
    assert row["address"] == "和平区南京路100号" and row["lat"] == 39.12


def test_get_requests_date_window(client: Client, key: str, operator: User) -> None:
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC), tick=False):
        old = filed(client, key, operator)
    recent = filed(client, key, operator)
    default = {r["service_request_id"] for r in client.get(f"{BASE}/requests.json").json()}
    assert default == {recent}  # default: the last 90 days
    window = client.get(
        f"{BASE}/requests.json",
        {"start_date": "2026-05-01T00:00:00+08:00", "end_date": "2026-07-01T00:00:00+08:00"},
    ).json()
    assert [r["service_request_id"] for r in window] == [old]
    too_long = client.get(
        f"{BASE}/requests.json",
        {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-07-01T00:00:00+08:00"},
    )
    assert too_long.status_code == 400 and too_long.json()[0]["code"] == 400
    bad = client.get(f"{BASE}/requests.json", {"start_date": "yesterday"})
    assert bad.status_code == 400
    assert client.get(f"{BASE}/requests.json", {"status": "pending"}).status_code == 400


def test_get_request_by_id_and_404(client: Client, key: str, operator: User) -> None:
    number = filed(client, key, operator)
    rows = client.get(f"{BASE}/requests/{number}.json").json()
    assert len(rows) == 1 and rows[0]["service_request_id"] == number
    root = ET.fromstring(client.get(f"{BASE}/requests/{number}.xml").content)
    assert root.findtext("request/service_request_id") == number
    assert client.get(f"{BASE}/requests/TJ0000.json").status_code == 404
    assert client.get(f"{BASE}/tokens/nope.json").status_code == 404


def test_key_command_prints_key_once(capsys: pytest.CaptureFixture[str], tianjin: None) -> None:
    call_command("open311_keys", "create", "--channel", "市长信箱")
    out = capsys.readouterr().out
    key = out.strip().splitlines()[-1]
    assert key.startswith("eco_")
    row = ApiKey.objects.get(channel="市长信箱")
    assert key not in (row.digest, row.prefix)
    call_command("open311_keys", "list")
    assert "市长信箱" in capsys.readouterr().out


@pytest.mark.parametrize("written", ["张三", "张 三", "张　三", "张\n三"])
def test_the_reporters_name_in_a_staff_summary_is_removed_however_it_is_spaced(
    client: Client, key: str, operator: User, written: str
) -> None:
    number = filed(client, key, operator)
    Case.objects.filter(number=number).update(public_summary=f"据{written}反映，工厂烟囱冒黑烟")
    row = client.get(f"{BASE}/requests/{number}.json").json()[0]
    assert row["description"] == "据＊＊反映，工厂烟囱冒黑烟"


# ------------------------------------------------------------------ every format, filter and error code
def test_the_list_stops_at_the_cap(
    client: Client, key: str, operator: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most MAX_RESULTS rows, newest first, for a date window and for a list of numbers alike (the cap is
    lowered here: a thousand cases through the real services would take minutes)."""
    from eco12369.open311 import selectors

    numbers = [filed(client, key, operator) for _ in range(4)]
    monkeypatch.setattr(selectors, "MAX_RESULTS", 3)
    rows = client.get(f"{BASE}/requests.json").json()
    assert [r["service_request_id"] for r in rows] == numbers[:0:-1]
    by_id = client.get(f"{BASE}/requests.json", {"service_request_id": ",".join(numbers)}).json()
    assert len(by_id) == 3
    assert len(ET.fromstring(client.get(f"{BASE}/requests.xml").content).findall("request")) == 3


def test_start_date_only_and_end_date_only(client: Client, key: str, operator: User) -> None:
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC), tick=False):
        june = filed(client, key, operator)
    with time_machine.travel(dt.datetime(2026, 10, 1, 10, tzinfo=dt.UTC), tick=False):
        october = filed(client, key, operator)

    def ids(**params: str) -> list[str]:
        response = client.get(f"{BASE}/requests.json", params)
        assert response.status_code == 200, response.content
        return [r["service_request_id"] for r in response.json()]

    # start only: 90 days from the start (not up to now); end only: the 90 days before the end.
    assert ids(start_date="2026-05-20T00:00:00+08:00") == [june]
    assert ids(start_date="2026-09-20T00:00:00+08:00") == [october]
    assert ids(end_date="2026-06-10T00:00:00+08:00") == [june]
    assert ids(end_date="2026-10-10T00:00:00Z") == [october]
    assert ids(end_date="2026-03-01T00:00:00+08:00") == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start_date": "2026-06-10T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"}, "不能早于"),
        ({"start_date": "2099-01-01T00:00:00+08:00"}, "不能晚于当前时间"),
        ({"end_date": "2026-13-01"}, "ISO 8601"),
        ({"service_code": "report_air,nope"}, "nope"),
        ({"status": "open,pending"}, "status"),
    ],
)
def test_list_parameter_errors(client: Client, tianjin: None, params: dict[str, str], message: str) -> None:
    for fmt in ("json", "xml"):
        response = client.get(f"{BASE}/requests.{fmt}", params)
        assert response.status_code == 400
    assert message in client.get(f"{BASE}/requests.json", params).json()[0]["description"]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        # The default window reaches 90 days back from end_date: before year 1.
        ({"end_date": "0001-01-01T00:00:00Z"}, "end_date"),
        ({"end_date": "0001-02-01T00:00:00"}, "end_date"),  # naive: Beijing time
        ({"end_date": "0001-04-01T00:00:00+08:00"}, "end_date"),  # 90 days back is 0001-01-01 Beijing time
        # Moments that exist only in their own offset: in UTC they are year 0 or year 10000.
        ({"start_date": "0001-01-01T00:00:00+08:00", "end_date": "0001-01-02T00:00:00+08:00"}, "start_date"),
        ({"start_date": "9999-12-31T00:00:00Z", "end_date": "9999-12-31T23:59:59-08:00"}, "end_date"),
        ({"end_date": "9999-12-31T23:59:59-08:00"}, "end_date"),
    ],
)
def test_list_dates_at_the_ends_of_the_calendar_are_a_400(
    tianjin: None, params: dict[str, str], name: str
) -> None:
    """Dates whose window cannot be computed (the arithmetic leaves the years 1-9999) are a bad parameter
    in Open311's error format, not a 500."""
    anonymous = Client(raise_request_exception=False)
    for fmt in ("json", "xml"):
        response = anonymous.get(f"{BASE}/requests.{fmt}", params)
        assert response.status_code == 400, (fmt, response.status_code, response.content[:300])
        if fmt == "xml":
            error = ET.fromstring(response.content).find("error")
            assert error is not None and error.findtext("code") == "400"
            assert name in (error.findtext("description") or "")
        else:
            assert response.json() == [
                {"code": 400, "description": f"{name} 超出可用的时间范围（{name} is out of range）"}
            ]


def test_list_dates_near_the_ends_of_the_calendar_that_fit_are_answered(tianjin: None) -> None:
    """Control: the check is the overflow, not the year: a window that fits is an ordinary (empty) list."""
    for params in (
        {"end_date": "0001-06-01T00:00:00Z"},
        {"start_date": "0001-01-02T00:00:00+08:00", "end_date": "0001-01-03T00:00:00+08:00"},
        {"start_date": "9999-12-01T00:00:00Z", "end_date": "9999-12-31T00:00:00Z"},
        {"end_date": "9999-12-31T00:00:00Z"},
    ):
        response = Client().get(f"{BASE}/requests.json", params)
        assert response.status_code == 200 and response.json() == [], (params, response.content[:300])


def test_several_service_codes(client: Client, key: str, operator: User) -> None:
    air = filed(client, key, operator)
    water = filed(client, key, operator, service_code="report_water")
    noise = filed(client, key, operator, service_code="report_noise")
    asked = client.get(f"{BASE}/requests.json", {"service_code": "report_air, report_noise"}).json()
    assert {r["service_request_id"] for r in asked} == {air, noise}
    assert water not in str(asked)
    assert client.get(f"{BASE}/requests.json", {"service_code": "consultation"}).json() == []


def test_token_in_xml_and_404_in_xml_everywhere(client: Client, key: str) -> None:
    created = post(client, **valid(key)).json()[0]
    root = ET.fromstring(client.get(f"{BASE}/tokens/{created['token']}.xml").content)
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == created["service_request_id"]
    assert root.findtext("request/token") == created["token"]
    for url in ("requests/TJ0000.xml", "services/nope.xml", "tokens/nope.xml"):
        response = client.get(f"{BASE}/{url}")
        assert response.status_code == 404 and response["Content-Type"].startswith("text/xml"), url
        root = ET.fromstring(response.content)
        assert root.tag == "errors" and root.findtext("error/code") == "404", url
        assert root.findtext("error/description"), url


@pytest.mark.parametrize("value", ["yesterday", "2026-02-30T10:00:00+08:00", "2099-01-01T00:00:00+08:00"])
def test_a_bad_occurred_at_is_refused(client: Client, key: str, value: str) -> None:
    response = post(client, **valid(key, **{"attribute[occurred_at]": value}))
    assert response.status_code == 400
    assert "attribute[occurred_at]" in response.json()[0]["description"]
    assert not Case.objects.exists()


def test_occurred_at_is_kept(client: Client, key: str) -> None:
    number = post(client, **valid(key, **{"attribute[occurred_at]": "2026-11-20T21:00:00+08:00"})).json()[0][
        "service_request_id"
    ]
    occurred = Case.objects.get(number=number).occurred_at
    assert occurred == dt.datetime(2026, 11, 20, 13, tzinfo=dt.UTC)


@pytest.mark.parametrize("jurisdiction", ["天津市", "120000", ""])
def test_our_jurisdiction_or_none_is_served(client: Client, key: str, jurisdiction: str) -> None:
    q = {"jurisdiction_id": jurisdiction}
    assert client.get(f"{BASE}/services.json", q).status_code == 200
    assert client.get(f"{BASE}/services/report_air.json", q).status_code == 200
    assert client.get(f"{BASE}/requests.json", q).status_code == 200
    assert post(client, **valid(key, jurisdiction_id=jurisdiction)).status_code == 200


def test_another_jurisdiction_is_404_not_ignored(client: Client, key: str, operator: User) -> None:
    number = filed(client, key, operator)
    token = post(client, **valid(key)).json()[0]["token"]
    q = {"jurisdiction_id": "chicago.gov"}
    for url in (
        "services.json",
        "services/report_air.json",
        "requests.json",
        f"requests/{number}.json",
        f"tokens/{token}.json",
    ):
        response = client.get(f"{BASE}/{url}", q)
        assert response.status_code == 404, url
        assert "jurisdiction_id" in response.json()[0]["description"], url
    xml = client.get(f"{BASE}/requests.xml", q)
    assert xml.status_code == 404 and ET.fromstring(xml.content).findtext("error/code") == "404"
    refused = post(client, **valid(key, jurisdiction_id="北京市"))
    assert refused.status_code == 404 and Case.objects.count() == 2


@pytest.mark.parametrize(
    ("field", "limit"),
    [("attribute[reported_party]", 200), ("address_string", 300), ("last_name", 200), ("phone", 200)],
)
def test_over_long_fields_are_refused_not_cut(client: Client, key: str, field: str, limit: int) -> None:
    assert post(client, **valid(key, first_name="", **{field: "甲" * limit})).status_code == 200
    response = post(client, **valid(key, first_name="", **{field: "甲" * (limit + 1)}))
    assert response.status_code == 400
    description = response.json()[0]["description"]
    assert f"不得超过 {limit} 字" in description and f"at most {limit} characters" in description
    assert Case.objects.count() == 1


def test_media_url_is_refused_and_email_is_said_not_kept(client: Client, key: str) -> None:
    refused = post(client, **valid(key, media_url="https://example.com/smoke.jpg"))
    assert refused.status_code == 400 and "media_url" in refused.json()[0]["description"]
    assert not Case.objects.exists()
    created = post(client, **valid(key, media_url="")).json()[0]
    assert "email 未保存" in created["service_notice"]
    without = post(client, **valid(key, email="")).json()[0]
    assert "email" not in without["service_notice"]
    docs = client.get(f"{BASE}/openapi.json").json()
    assert "media_url" in docs["info"]["description"] and "email" in docs["info"]["description"]


def test_the_key_may_come_in_the_query_string(client: Client, key: str) -> None:
    data = valid(key)
    del data["api_key"]
    assert client.post(f"{BASE}/requests.json", data).status_code == 403
    assert client.post(f"{BASE}/requests.json?api_key={key}", data).status_code == 200
    scheme = client.get(f"{BASE}/openapi.json").json()["components"]["securitySchemes"]
    assert [(s["type"], s["name"]) for s in scheme.values()] == [("apiKey", "api_key")]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("requests.csv", 400),
        ("services.html", 400),
        ("requests/TJ20261203000001.csv", 400),
        ("nothing.json", 404),
        ("requests", 404),
        ("services/report_air/extra.json", 404),
    ],
)
def test_unknown_formats_and_paths_get_an_open311_error(client: Client, path: str, status: int) -> None:
    response = client.get(f"{BASE}/{path}")
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body[0]["code"] == status and body[0]["description"]
    xml = client.get(f"{BASE}/nothing.xml")
    assert xml.status_code == 404 and ET.fromstring(xml.content).tag == "errors"


def test_partner_channels_can_be_counted_from_the_audit_trail(client: Client, key: str) -> None:
    other = api_key_create(channel="市长信箱")[1]
    for k in (key, key, other):
        assert post(client, **valid(k)).status_code == 200
    labels = [e.detail.get("channel_label") for e in AuditEntry.objects.filter(action="case.receive")]
    assert sorted(labels) == ["12345热线", "12345热线", "市长信箱"]
