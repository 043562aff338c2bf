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

from eco12369.cases import deadlines
from eco12369.cases.models import Case, CaseNumberSequence, State
from eco12369.cases.services import Intake, case_create
from eco12369.cases.workflow import TransitionError
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.models import Region
from eco12369.orgs.tianjin import tianjin_load

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
