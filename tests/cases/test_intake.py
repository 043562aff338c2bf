"""Intake (``case_create``): case numbers, the first deadline, the acknowledgement, reporter privacy."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.db import close_old_connections, connection
from django.test import override_settings

from eco12369.audit.models import AuditEntry
from eco12369.audit.services import audit_verify
from eco12369.cases import deadlines
from eco12369.cases.models import Case, CaseEvent, CaseNumberSequence, State
from eco12369.cases.services import Intake, case_create, cases_create_bulk
from eco12369.cases.workflow import TransitionError
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.models import Agency, Region, User
from eco12369.orgs.tianjin import tianjin_load
from eco12369.oversight.models import CaseFingerprint
from eco12369.stats.rollups import rollups_recount, rollups_stored

TZ = ZoneInfo("Asia/Shanghai")
MakeCase = Callable[..., Case]
NUMBER = re.compile(r"^TJ(\d{8})(\d{6})$")


@pytest.mark.django_db
def test_case_number_is_prefix_date_of_receipt_in_shanghai_and_daily_sequence(make_case: MakeCase) -> None:
    # 16:30 UTC on the 24th is 00:30 on the 25th in Tianjin.
    late = dt.datetime(2026, 11, 24, 16, 30, tzinfo=dt.UTC)
    first = make_case(received_at=late)
    second = make_case(received_at=late + dt.timedelta(hours=5))
    next_day = make_case(received_at=dt.datetime(2026, 11, 26, 9, 0, tzinfo=TZ))
    assert first.number == "TJ20261125000001"
    assert second.number == "TJ20261125000002"
    assert next_day.number == "TJ20261126000001"
    for case in (first, second, next_day):
        match = NUMBER.match(case.number)
        assert match and match.group(1) == deadlines.local_date(case.received_at).strftime("%Y%m%d")


@pytest.mark.django_db
def test_a_day_past_999999_cases_keeps_every_digit_and_bulk_intake_shares_the_counter(
    make_case: MakeCase,
) -> None:
    """The number is taken in the case's INSERT on PostgreSQL (``_case_insert_numbered``), by
    ``case_numbers_next`` elsewhere and in a bulk intake: both count on the same row, alike."""
    at = dt.datetime(2026, 11, 25, 9, 0, tzinfo=TZ)
    make_case(received_at=at)
    CaseNumberSequence.objects.filter(day=dt.date(2026, 11, 25)).update(last=999998)
    assert make_case(received_at=at).number == "TJ20261125999999"
    assert make_case(received_at=at).number == "TJ202611251000000"
    [bulk] = cases_create_bulk(
        intakes=[Intake(channel="wechat_h5", description="夜间偷排废水。", received_at=at)]
    )
    assert bulk.number == "TJ202611251000001"
    assert make_case(received_at=at).number == "TJ202611251000002"
    assert CaseNumberSequence.objects.get(day=dt.date(2026, 11, 25)).last == 1000002


@pytest.mark.django_db
def test_the_prefix_comes_from_the_settings(make_case: MakeCase) -> None:
    with override_settings(ECO={**django_settings.ECO, "CASE_NUMBER_PREFIX": "BJ"}):
        case = make_case(received_at=dt.datetime(2026, 1, 5, 9, 0, tzinfo=TZ))
    assert case.number == "BJ20260105000001"


@pytest.mark.django_db
def test_a_new_case_is_received_with_its_confirmation_deadline_and_first_event(make_case: MakeCase) -> None:
    received = dt.datetime(2026, 9, 30, 11, 0, tzinfo=TZ)
    case = make_case("河西区", received_at=received, category="air", reported_party="某钢铁厂")
    assert case.state == State.RECEIVED
    assert case.region.name == "河西区" and case.agency.name == "天津市河西区生态环境局"
    assert case.confirm_due == dt.datetime(2026, 10, 9, 23, 59, 59, tzinfo=TZ)
    assert case.due_at == case.confirm_due and case.warn_at is not None
    assert case.confirmed_at is None and case.accepted_at is None and case.closed_at is None
    event = case.events.get()
    assert (event.action, event.actor, event.from_state, event.to_state) == (
        "receive",
        None,
        "",
        State.RECEIVED,
    )
    assert event.at == received


@pytest.mark.django_db
@pytest.mark.parametrize("channel", ["wechat_chat", "wechat_h5"])
def test_wechat_reporters_get_an_acknowledgement_with_the_number(make_case: MakeCase, channel: str) -> None:
    case = make_case(channel=channel, reporter_openid="o-reporter-1")
    message = OutboxMessage.objects.get(case=case)
    assert (message.template, message.openid, message.reply) == ("acknowledged", "o-reporter-1", None)
    assert case.number in message.text


@pytest.mark.django_db
def test_no_acknowledgement_without_a_wechat_reporter(make_case: MakeCase) -> None:
    case = make_case(
        channel="phone", reporter_openid="", reporter_name="王先生", reporter_phone="13800000000"
    )
    assert not OutboxMessage.objects.filter(case=case).exists()
    assert (case.reporter_name, case.reporter_phone) == ("王先生", "13800000000")


@pytest.mark.django_db
def test_anonymous_reports_store_no_name_or_phone(make_case: MakeCase) -> None:
    case = make_case(
        anonymous=True, reporter_name="张三", reporter_phone="13912345678", reporter_openid="o-anon"
    )
    stored = Case.objects.get(pk=case.pk)
    assert stored.anonymous is True
    assert (stored.reporter_name, stored.reporter_phone) == ("", "")
    assert stored.reporter_openid == "o-anon"  # still needed to send the answer
    # Nothing of the name or phone in the stored row either (whatever encryption is applied to the column).
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporter_name, reporter_phone FROM cases_case WHERE id = %s", [case.pk])
        assert cursor.fetchone() == ("", "")
    assert OutboxMessage.objects.filter(case=case, template="acknowledged").exists()


@pytest.mark.django_db
def test_invalid_intake_is_refused_and_stores_nothing(tianjin: None) -> None:
    region = Region.objects.get(name="和平区")
    for intake in (
        Intake(channel="wechat_chat", description="   ", district=region),
        Intake(channel="fax", description="排污", district=region),
        Intake(channel="wechat_chat", description="排污", kind="complaint", district=region),
    ):
        with pytest.raises(TransitionError):
            case_create(intake=intake)
    assert not Case.objects.exists()
    assert not CaseNumberSequence.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_numbers_stay_unique_and_gapless_under_concurrent_intake() -> None:
    """Several threads (each with its own database connection) create cases of the same day at once.

    Runs on PostgreSQL (row locks on the day's counter). SQLite's in-memory test database shares one
    cache between connections and answers concurrent writers with "table is locked" instead of waiting;
    the file database the platform uses on SQLite serialises writers (BEGIN IMMEDIATE, busy_timeout).
    """
    if connection.vendor == "sqlite":
        pytest.skip(
            "concurrent writers need PostgreSQL (SQLite's in-memory test database cannot wait for locks)"
        )
    tianjin_load()
    region = Region.objects.get(name="和平区")
    received = dt.datetime(2026, 11, 25, 10, 0, tzinfo=TZ)
    threads_n, per_thread = 6, 5
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(threads_n)

    def work() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                case = case_create(
                    intake=Intake(
                        channel="wechat_h5",
                        description="夜间偷排废水。",
                        district=region,
                        received_at=received,
                    )
                )
                with lock:
                    numbers.append(case.number)
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    total = threads_n * per_thread
    assert sorted(numbers) == [f"TJ20261125{n:06d}" for n in range(1, total + 1)]
    assert Case.objects.count() == total
    assert CaseNumberSequence.objects.get(day=dt.date(2026, 11, 25)).last == total


@pytest.mark.django_db
def test_bulk_intake_makes_each_case_as_case_create_does(
    tianjin: None, make_user: Callable[..., User]
) -> None:
    """``cases_create_bulk`` (the forwarded import): numbers in a block per day after those already given,
    the same deadlines, owner, event, acknowledgement, creation hooks and chained audit entries as
    ``case_create``, for every case."""

    importer = make_user("operator", district_name=None, display_name="市中心导入员")
    nankai = Region.objects.get(name="南开区")
    monday = dt.datetime(2026, 11, 30, 9, 30, tzinfo=TZ)
    tuesday = dt.datetime(2026, 12, 1, 23, 50, tzinfo=TZ)
    single = case_create(
        intake=Intake(
            channel="wechat_chat", description="工地晚上十一点还打桩", district=nankai, received_at=monday
        )
    )
    intakes = [
        Intake(
            channel="forwarded",
            source="hotline_12345",
            external_number=f"12345-TJ-2026-{i:04d}",
            description=text,
            district=district,
            reported_party="某某建筑工地（三号楼）",
            reporter_name=name,
            reporter_phone="13920001234" if name else "",
            anonymous=not name,
            received_at=at,
            recorded_by=importer,
        )
        for i, (text, district, name, at) in enumerate(
            [
                ("工地晚上十一点多还在打桩，吵得孩子睡不着！", nankai, "王女士", monday),
                ("厂里烧东西冒黑烟，一股塑料味", None, "", tuesday),
                ("排污口往河里放黄水，河面上有泡沫", nankai, "刘**", monday),
            ]
        )
    ]
    intakes.append(
        Intake(channel="wechat_chat", description="河边有人倒废机油，地上一片黑", reporter_openid="oBulkWang")
    )
    cases = cases_create_bulk(intakes=intakes)
    number = NUMBER.match(single.number)
    assert number is not None
    day, last = number.group(1), int(number.group(2))
    assert [c.number for c in cases[:3]] == [
        f"TJ{day}{last + 1:06d}",
        f"TJ20261201{1:06d}",
        f"TJ{day}{last + 2:06d}",
    ]
    for case, intake in zip(cases, intakes, strict=True):
        stored = Case.objects.get(pk=case.pk)
        received = intake.received_at or stored.received_at
        assert stored.confirm_due == deadlines.confirmation_deadline(received).at
        assert stored.due_at == stored.confirm_due and stored.warn_at is not None
        assert stored.state == State.RECEIVED and stored.received_at == received
        event = CaseEvent.objects.get(case=stored, action="receive")
        assert event.at == received and event.actor == intake.recorded_by
        assert CaseFingerprint.objects.filter(case=stored).exists()  # the creation hooks ran
        assert AuditEntry.objects.filter(action="case.receive", object_id=stored.number).count() == 1
    assert cases[0].region == single.region == cases[0].agency.region  # 南开区's bureau
    assert cases[1].agency.kind == "city_centre" and cases[1].reporter_name == ""
    assert Case.objects.get(pk=cases[0].pk).reporter_phone == "13920001234"
    assert OutboxMessage.objects.filter(case=cases[3], template="acknowledged").count() == 1
    assert not OutboxMessage.objects.filter(case__in=cases[:3]).exists()
    assert audit_verify(write_anchor=False).ok
    assert rollups_stored() == rollups_recount()  # the dashboard's rollups follow (on_case_changed)


@pytest.mark.django_db
def test_bulk_intake_with_one_bad_intake_creates_nothing(tianjin: None) -> None:

    good = Intake(channel="forwarded", source="hotline_12345", external_number="A-1", description="冒黑烟")
    bad = Intake(channel="forwarded", source="", external_number="A-2", description="排黑水")
    with pytest.raises(TransitionError, match="转办来源"):
        cases_create_bulk(intakes=[good, bad])
    assert not Case.objects.exists() and not CaseNumberSequence.objects.exists()


@pytest.mark.django_db
def test_a_channel_that_found_the_bureau_with_the_district_gets_it_and_no_other(tianjin: None) -> None:
    """``Intake.bureau`` (the WeChat callback finds district and bureau in one statement) must be the
    district's own bureau: any other agency is refused and nothing is created."""
    hexi, heping = Region.objects.get(name="河西区"), Region.objects.get(name="和平区")
    hexi_bureau = Agency.objects.get(region=hexi, kind=Agency.Kind.DISTRICT_BUREAU)
    case = case_create(
        intake=Intake(
            channel="wechat_chat", description="河边工厂夜里排放黑水", district=hexi, bureau=hexi_bureau
        )
    )
    assert case.agency == hexi_bureau and case.region == hexi
    for district, wrong in (
        (heping, hexi_bureau),  # another district's bureau
        (None, hexi_bureau),  # a bureau without its district
        (hexi, Agency.objects.get(kind=Agency.Kind.CITY_CENTRE)),  # not a bureau
    ):
        with pytest.raises(TransitionError):
            case_create(
                intake=Intake(
                    channel="wechat_chat", description="河边工厂夜里排放黑水", district=district, bureau=wrong
                )
            )
    assert Case.objects.count() == 1
