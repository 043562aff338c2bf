"""The dashboard's rollups (issue 15) follow the cases: after every creation and transition they hold what
a recount of the cases gives, and ``manage.py stats_rollups_rebuild`` rebuilds them from the cases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from eco12369.cases import services
from eco12369.cases.models import Case, State
from eco12369.orgs.models import Agency
from eco12369.stats.models import DailyCaseCount, MonthlyGridCount
from eco12369.stats.rollups import DAY, GRID, grid_cell, rollups_recount, rollups_stored

from .conftest import TZ

pytestmark = pytest.mark.django_db

# 23:40 in Tianjin is 15:40 UTC: the day counted is the local one.
LATE_EVENING = dt.datetime(2025, 3, 31, 23, 40, tzinfo=TZ)

FIVE_PARTS = {
    "party_facts": "XX汽修厂，在大沽南路边上，喷漆房没手续。",
    "inspection": "执法人员当晚到现场看了，喷漆房门开着，味儿很冲。",
    "violations": "未配套建设废气处理设施即投入生产。",
    "decision": "责令停止喷漆作业，立案调查。",
    "communication": "已电话告知举报人，举报人说“总算有人管了”。",
}


def assert_rollups_match() -> None:
    assert rollups_stored() == rollups_recount()


def test_rollups_equal_a_recount_after_create_accept_close_and_withdraw(make_user, make_case) -> None:
    heping_op = make_user("operator", district_name="和平区")
    heping_handler = make_user("handler", district_name="和平区")
    heping_reviewer = make_user("reviewer", district_name="和平区")
    hexi_op = make_user("operator", district_name="河西区")
    with time_machine.travel(LATE_EVENING, tick=False):
        spray = make_case(
            "和平区",
            category="other",
            reported_party="XX汽修厂",
            description="汽修厂晚上偷着喷漆，那个味儿呛死人了！！",
            latitude=Decimal("39.117300"),
            longitude=Decimal("117.203100"),
        )
        dump = make_case(
            "和平区",
            category="water",
            reported_party="某某洗车行",
            description="洗车水直接往雨水井里倒，泡沫老多了",
            latitude=Decimal("39.118900"),
            longitude=Decimal("117.209900"),
        )
        wrong_place = make_case(
            "和平区", channel="phone", category="noise", description="友谊路那边工地半夜打桩 吵得睡不着"
        )
        gone = make_case("和平区", category="air", description="烧垃圾，黑烟，<script>alert(1)</script>")
    assert_rollups_match()
    day = LATE_EVENING.date()
    assert sum(DailyCaseCount.objects.filter(day=day).values_list("count", flat=True)) == 4
    assert not DailyCaseCount.objects.filter(day=day + dt.timedelta(days=1)).exists()
    # Two located cases, 0.007° apart in longitude: one grid cell or two, as the grid says.
    cells = {(grid_cell(c.latitude), grid_cell(c.longitude)) for c in (spray, dump)}
    assert MonthlyGridCount.objects.filter(month=dt.date(2025, 3, 1)).count() == len(cells)

    with time_machine.travel(LATE_EVENING + dt.timedelta(days=1), tick=False):
        # Accepting corrects the category: the case moves from "other" to "air" in its day's rows.
        spray = services.case_accept(case=spray, actor=heping_op, category="air")
        assert_rollups_match()
        assert DailyCaseCount.objects.get(day=day, category="other", region=spray.region).count == 0
        # A re-route moves it to the other district's rows.
        hexi = Agency.objects.get(region__name="河西区", kind=Agency.Kind.DISTRICT_BUREAU)
        wrong_place = services.case_reroute(
            case=wrong_place, actor=heping_op, target_agency=hexi, reason="友谊路工地属河西区"
        )
        assert_rollups_match()
        assert DailyCaseCount.objects.get(day=day, region=hexi.region, channel="phone").count == 1
        wrong_place = services.case_accept(case=wrong_place, actor=hexi_op)
        # Closing and withdrawing leave the intake as it was, and the recount agrees.
        spray = services.case_assign(case=spray, actor=heping_op, department=heping_handler.department)
        spray = services.case_submit_reply(case=spray, actor=heping_handler, **FIVE_PARTS)
        spray = services.case_approve(case=spray, actor=heping_reviewer)
        gone = services.case_withdraw(case=gone, openid=gone.reporter_openid, reason="已经不烧了，撤了吧")
        assert_rollups_match()
    assert Case.objects.get(pk=spray.pk).state == State.CLOSED
    assert Case.objects.get(pk=gone.pk).state == State.CLOSED
    assert sum(DailyCaseCount.objects.values_list("count", flat=True)) == 4
    assert rollups_recount()[GRID] == rollups_stored()[GRID] != {}
    assert dump.pk


def test_rebuild_command_restores_the_rollups_and_check_finds_a_difference(make_case) -> None:
    with time_machine.travel(LATE_EVENING, tick=False):
        make_case("和平区", latitude=Decimal("39.1"), longitude=Decimal("117.2"))
        make_case("河西区", category="noise", channel="wechat_h5", description="楼下KTV到两点还在嚎")
    expected = rollups_recount()
    call_command("stats_rollups_rebuild", "--check", stdout=StringIO())  # consistent: no error
    # Rows lost (a bulk load, a restore): --check says so, the rebuild counts them again.
    DailyCaseCount.objects.all().delete()
    MonthlyGridCount.objects.update(count=7)
    with pytest.raises(CommandError, match="不一致"):
        call_command("stats_rollups_rebuild", "--check", stdout=StringIO())
    out = StringIO()
    call_command("stats_rollups_rebuild", stdout=out)
    assert "完成" in out.getvalue() and "每日接收统计 2 行" in out.getvalue()
    assert rollups_stored() == expected
    assert sum(expected[DAY].values()) == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_intake_into_the_same_rows_loses_no_count(make_case) -> None:
    """Reports arriving at once count into the same rollup rows: the upsert adds in the database, so no
    count is lost (PostgreSQL; SQLite's in-memory test database cannot run concurrent writers)."""
    import threading

    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("concurrent writers need PostgreSQL")
    writers, each = 4, 5
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def report(k: int) -> None:
        try:
            barrier.wait()
            for i in range(each):
                make_case(
                    "和平区",
                    category="air",
                    description=f"第{k}-{i}个：化工厂又冒黄烟了，呛嗓子",
                    latitude=Decimal("39.117300"),
                    longitude=Decimal("117.203100"),
                )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=report, args=(k,)) for k in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(DailyCaseCount.objects.values_list("count", flat=True)) == writers * each
    assert list(MonthlyGridCount.objects.values_list("count", flat=True)) == [writers * each]
    assert_rollups_match()
