"""Retention (issue #7 item 5): some time after closing, the reporter's personal data is erased (name,
phone, openid and its index, and their copies in the case's texts and WeChat messages) while the case,
its figures and its public summary stay; a dry run writes nothing; one audit entry per batch; a Huey task
runs it daily."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from eco12369.audit.models import AuditEntry
from eco12369.audit.services import audit_verify
from eco12369.cases import services
from eco12369.cases.models import Case, Reply, ReplyDraft
from eco12369.cases.selectors import cases_of_reporter
from eco12369.compliance import tasks
from eco12369.compliance.retention import cases_due, retention_erase
from eco12369.followup.models import Follow, Rating
from eco12369.followup.services import case_follow, rating_submit
from eco12369.notifications.models import OutboxMessage
from eco12369.orgs.models import Region, User
from eco12369.stats.figures import Month, monthly_figures

from .conftest import Staff

TZ = ZoneInfo("Asia/Shanghai")
NAME, PHONE, OPENID = "张伟", "13812341234", "oRETENTION-reporter"
FOLLOWER = "oRETENTION-follower"
FIVE = {
    "party_facts": "该公司主要生产涂料。",
    "inspection": "执法人员赴现场检查并采样。",
    "violations": "超标排放废水。",
    "decision": "责令停产整改。",
    "communication": f"已电话联系举报人{NAME}（{PHONE}），告知处理情况。",
}
CLOSED_ON = dt.datetime(2022, 3, 10, 10, 0, tzinfo=TZ)  # a Thursday
NOW = dt.datetime(2025, 6, 2, 9, 0, tzinfo=TZ)  # more than 1095 days later


@contextmanager
def at(moment: dt.datetime) -> Iterator[None]:
    with time_machine.travel(moment, tick=False):
        yield


@dataclass
class World:
    old: Case  # closed 2022-03, reported with name, phone and openid, followed, rated
    old_phone: Case  # closed 2022-03 as a duplicate, phone channel
    recent: Case  # closed 2025-05: within its period
    open_case: Case


def _handled(make_case: Callable[..., Case], staff: Staff, start: dt.datetime, **kw: object) -> Case:
    with at(start):
        case = make_case(
            reporter_name=NAME,
            reporter_phone=PHONE,
            description=f"我是{NAME}，电话{PHONE}。化工厂夜间排放黑水。",
            **kw,
        )
        case = services.case_accept(case=case, actor=staff.operator)
        case = services.case_assign(case=case, actor=staff.operator, department=staff.handler.department)
    with at(start + dt.timedelta(days=1)):
        case_follow(case=case, openid=FOLLOWER, note="我也看到了")
        case = services.case_submit_reply(case=case, actor=staff.handler, **FIVE)
    with at(start + dt.timedelta(days=2)):
        return services.case_approve(case=case, actor=staff.reviewer)


@pytest.fixture
def world(staff: Staff, make_case: Callable[..., Case]) -> World:
    old = _handled(make_case, staff, CLOSED_ON - dt.timedelta(days=2), reporter_openid=OPENID)
    with at(CLOSED_ON + dt.timedelta(days=3)):
        rating_submit(
            case=old, openid=OPENID, level="unsatisfied", comment=f"{NAME}不满意", channel="wechat_h5"
        )
    with at(CLOSED_ON):
        dup = make_case(
            channel="phone", reporter_openid="", reporter_name="李四", reporter_phone="13900001111"
        )
        dup = services.case_mark_duplicate(case=dup, actor=staff.operator, duplicate_of=old)
    recent = _handled(make_case, staff, NOW - dt.timedelta(days=20), reporter_openid="oRECENT")
    open_case = make_case(reporter_name=NAME, reporter_phone=PHONE, reporter_openid="oOPEN")
    return World(old=old, old_phone=dup, recent=recent, open_case=open_case)


def _raw(case: Case) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reporter_name, reporter_phone, reporter_openid, reporter_openid_digest, description "
            "FROM cases_case WHERE id = %s",
            [case.pk],
        )
        row = cursor.fetchone()
    return dict(zip(("name", "phone", "openid", "digest", "description"), row, strict=True))


def test_erases_the_reporter_and_keeps_the_case_and_its_figures(world: World) -> None:
    heping = Region.objects.get(name="和平区")
    month = Month(2022, 3)
    as_of = NOW
    before = monthly_figures(region=heping, month=month, as_of=as_of)
    with at(NOW):
        result = retention_erase()
    assert result.cases == 2 and dict(result.by_month) == {"2022-03": 2}

    old = Case.objects.get(pk=world.old.pk)
    assert (old.reporter_name, old.reporter_phone, old.reporter_openid) == ("", "", "")
    assert old.reporter_erased_at is not None
    raw = _raw(old)
    assert raw["name"] == raw["phone"] == raw["openid"] == raw["digest"] == ""
    assert NAME not in raw["description"] and PHONE not in raw["description"]
    assert "化工厂夜间排放黑水" in old.description  # the report itself stays
    reply = Reply.objects.get(case=old)
    assert NAME not in reply.communication and PHONE not in reply.communication
    assert reply.decision == FIVE["decision"]
    assert not cases_of_reporter(openid=OPENID).exists()  # the link to the reporter is gone
    messages = OutboxMessage.objects.filter(case=old)
    assert messages.exists() and not messages.exclude(openid="").exists()
    assert not messages.exclude(openid_digest="").exists()  # nor its blind index
    assert not any(NAME in m.text or PHONE in m.text for m in messages)
    follow = Follow.objects.get(case=old)
    assert follow.openid == "" and follow.openid_digest.startswith("erased:")
    assert Follow.objects.filter(case=old).count() == 1  # still counted as a repeat report
    assert NAME not in Rating.objects.get(case=old).comment
    # The case, its outcome and dates, and every figure of its month are unchanged.
    assert (old.state, old.outcome, old.closed_at) == (
        world.old.state,
        world.old.outcome,
        world.old.closed_at,
    )
    assert monthly_figures(region=heping, month=month, as_of=as_of) == before
    # Cases within their period, and open cases, keep their reporter.
    for kept in (world.recent, world.open_case):
        fresh = Case.objects.get(pk=kept.pk)
        assert fresh.reporter_name == NAME and fresh.reporter_erased_at is None
    assert cases_of_reporter(openid="oRECENT").exists()


def test_the_workbench_shows_the_reporter_as_erased(
    world: World, staff: Staff, login: Callable[[User], Client]
) -> None:
    with at(NOW):
        retention_erase()
    page = login(staff.operator).get(f"/cases/{world.old.number}/").content.decode()
    assert "已按保存期限删除" in page and "<summary>查看完整信息</summary>" not in page
    assert NAME not in page and PHONE not in page


def test_one_audit_entry_per_batch_and_the_chain_verifies(world: World, staff: Staff) -> None:
    with at(NOW):
        retention_erase(batch_size=1)
    entries = list(AuditEntry.objects.filter(action="retention_erase").order_by("id"))
    assert [e.detail["cases"] for e in entries] == [1, 1]
    assert sorted(n for e in entries for n in e.detail["numbers"]) == sorted(
        [world.old.number, world.old_phone.number]
    )
    assert all(e.detail["closed_by_month"] == {"2022-03": 1} for e in entries)
    assert not any(NAME in str(e.detail) or PHONE in str(e.detail) for e in entries)
    assert audit_verify().ok
    with at(NOW):  # nothing left: no more entries
        assert retention_erase().cases == 0
    assert AuditEntry.objects.filter(action="retention_erase").count() == 2


def test_dry_run_counts_by_month_and_writes_nothing(world: World) -> None:
    out = io.StringIO()
    with at(NOW), CaptureQueriesContext(connection) as queries:
        call_command("retention_erase", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "2022-03     2" in text and "共 2 件" in text and "未做任何写入" in text
    writes = [
        q["sql"] for q in queries if q["sql"].lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}
    ]
    assert writes == []
    assert Case.objects.get(pk=world.old.pk).reporter_name == NAME
    assert not AuditEntry.objects.filter(action="retention_erase").exists()
    out = io.StringIO()
    with at(NOW):
        call_command("retention_erase", stdout=out)
    assert "已删除 2 件" in out.getvalue()


def test_period_and_per_outcome_overrides(world: World, settings: object) -> None:
    with at(NOW):
        assert set(cases_due()) == {world.old, world.old_phone}
        settings.ECO_RETENTION_DAYS = 5000  # type: ignore[attr-defined]
        assert not cases_due().exists()
        settings.ECO_RETENTION_DAYS_BY_OUTCOME = {"duplicate": 365}  # type: ignore[attr-defined]
        assert list(cases_due()) == [world.old_phone]
        settings.ECO_RETENTION_DAYS_BY_OUTCOME = {"handled": 10}  # type: ignore[attr-defined]
        assert set(cases_due()) == {world.old, world.recent}


def test_a_reopened_case_is_not_erased(world: World, staff: Staff) -> None:
    with at(NOW - dt.timedelta(days=1)):
        services.case_reopen(case=world.old, actor=staff.city_operator, reason="回访不满意，重新办理")
    with at(NOW):
        assert retention_erase().cases == 1  # only the duplicate
    assert Case.objects.get(pk=world.old.pk).reporter_name == NAME


def test_the_daily_task(world: World) -> None:
    from huey.contrib.djhuey import HUEY

    task = tasks.retention_erase_daily

    def due_at(utc: dt.datetime) -> bool:
        return any(isinstance(t, task.task_class) for t in HUEY.read_periodic(utc))

    assert due_at(dt.datetime(2025, 6, 1, 19, 17))  # Huey's clock is UTC: 03:17 in Tianjin
    assert not due_at(dt.datetime(2025, 6, 2, 3, 17))
    with at(NOW):
        assert task.call_local() == 2
    assert Case.objects.get(pk=world.old.pk).reporter_erased_at is not None


def test_the_daily_task_runs_once_at_a_time_however_many_consumers_schedule_it(world: World) -> None:
    """Every Huey consumer schedules the periodic tasks: a run that finds another one going is skipped."""
    from huey.contrib.djhuey import HUEY
    from huey.exceptions import TaskLockedException

    with at(NOW):
        with HUEY.lock_task("retention-erase"), pytest.raises(TaskLockedException):
            tasks.retention_erase_daily.call_local()  # another consumer's run holds the lock
        assert Case.objects.get(pk=world.old.pk).reporter_erased_at is None
        assert tasks.retention_erase_daily.call_local() == 2  # the lock was released


def test_chat_that_never_became_a_case_is_erased_after_the_chat_period(
    client: Client, settings: object, tianjin: None, media_root: object
) -> None:
    """Drafts given up and stray messages carry what reporters wrote (often a name and phone) but no case
    keeps them: after ECO_CHAT_RETENTION_DAYS the messages go and the draft is thrown away. A filed
    report's steps went into its case's description; the message that filed it stays with the case (and
    is erased with it). Recent chat stays."""
    from eco12369.crypto import blind_index
    from eco12369.wechat.models import Conversation, InboundMessage
    from tests.wechat.conftest import WeChatServer

    wechat = WeChatServer(client, settings.WECHAT)  # type: ignore[attr-defined]
    settings.ECO_CHAT_RETENTION_DAYS = 90  # type: ignore[attr-defined]
    with at(NOW - dt.timedelta(days=100)):
        wechat.text("o-gave-up", f"我是{NAME}，电话{PHONE}，厂里夜里排黑水")
        wechat.text("o-filed", "河边工厂夜里排放黑水，臭味很大")
        wechat.location("o-filed", 39.1175, 117.2103, "和平区南京路")
        filed = wechat.reply(wechat.text("o-filed", "提交"))
    with at(NOW - dt.timedelta(days=10)):
        wechat.text("o-recent", "工地晚上施工，噪声很大")
    gave_up = Conversation.objects.get(openid_digest=blind_index("o-gave-up"))
    assert gave_up.draft_text and InboundMessage.objects.count() == 5 and "编号" in filed

    with at(NOW):
        dry = retention_erase(dry_run=True)
        # the given-up text and its draft; the filed report's text and location (its case has them)
        assert (dry.chat_messages, dry.drafts) == (3, 1)
        assert InboundMessage.objects.count() == 5
        out = io.StringIO()
        call_command("retention_erase", stdout=out)
    assert "未形成举报件的微信来信 3 条、未提交的草稿 1 份" in out.getvalue()
    kept = InboundMessage.objects.all()
    assert {m.content for m in kept} == {"提交", "工地晚上施工，噪声很大"}  # linked to the case; recent
    assert kept.get(content="提交").case is not None
    assert not kept.filter(content__contains=PHONE).exists()
    gave_up.refresh_from_db()
    assert gave_up.draft_text == "" and gave_up.state == Conversation.State.IDLE
    assert Conversation.objects.get(openid_digest=blind_index("o-recent")).draft_text  # 10 days: kept
    entry = AuditEntry.objects.get(action="retention_erase_chat")
    assert entry.detail == {"messages": 3, "drafts": 1, "chat_retention_days": 90}
    assert NAME not in str(entry.detail) and audit_verify().ok


def test_what_other_apps_wrote_about_the_case_is_scrubbed_too(
    staff: Staff, make_case: Callable[..., Case]
) -> None:
    """Supervision orders (instruction, answer), spot-check notes, the duplicate finder's tokens and the
    follower's note (on the Follow and on the timeline) lose the personal data with the reporter's; the
    dry run counts them; the finder still works on what is left."""
    from eco12369.cases.models import CaseEvent, SupervisionOrder
    from eco12369.oversight.duplicates import duplicates_find
    from eco12369.oversight.models import CaseFingerprint, SpotCheck, SpotCheckItem
    from eco12369.oversight.periods import month
    from eco12369.oversight.services import spot_check_draw, spot_check_item_review

    follower_text = "我是王芳，电话13700001111，我也闻到了"
    start = CLOSED_ON - dt.timedelta(days=2)
    with at(start):
        case = make_case(
            reporter_name=NAME,
            reporter_phone=PHONE,
            reporter_openid=OPENID,
            description=f"我是{NAME}，电话{PHONE}。化工厂夜间排放黑水，气味刺鼻。",
        )
        duplicates_find(case=case)
        case = services.case_accept(case=case, actor=staff.operator)
        case = services.case_assign(case=case, actor=staff.operator, department=staff.handler.department)
        case_follow(case=case, openid=FOLLOWER, note=follower_text)
        case = services.case_supervise(
            case=case,
            actor=staff.city_operator,
            instruction=f"请尽快联系举报人{NAME}（{PHONE}）核实。",
            answer_due=start.date() + dt.timedelta(days=5),
        )
        order = SupervisionOrder.objects.get(case=case)
        case = services.case_answer_supervision(
            case=case, actor=staff.operator, order=order, answer=f"已与{NAME}电话{PHONE}联系。"
        )
    with at(start + dt.timedelta(days=1)):
        case = services.case_submit_reply(case=case, actor=staff.handler, **FIVE)
    with at(CLOSED_ON):
        case = services.case_approve(case=case, actor=staff.reviewer)
    with at(CLOSED_ON + dt.timedelta(days=30)):
        check = spot_check_draw(
            actor=staff.city_operator, period=month(2022, 3), per_district=5, seed=1, note=f"含{NAME}一件"
        )
        item = SpotCheckItem.objects.get(spot_check=check, case=case)
        spot_check_item_review(
            item=item, actor=staff.city_operator, values={}, note=f"已电话{PHONE}回访{NAME}，属实"
        )
    fingerprint = CaseFingerprint.objects.get(case=case)
    assert NAME in fingerprint.tokens.split() and "化工厂" in fingerprint.tokens.split()  # as found
    follow_event = CaseEvent.objects.get(case=case, action="follow")
    assert follower_text in follow_event.note and Follow.objects.get(case=case).note == follower_text

    out = io.StringIO()
    with at(NOW):
        call_command("retention_erase", "--dry-run", stdout=out)
    assert "关注补充说明 1 条、督办单 1 条、抽查意见 1 条、查重分词 1 条" in out.getvalue()
    assert SupervisionOrder.objects.get(case=case).instruction.count(NAME) == 1  # the dry run wrote nothing

    out = io.StringIO()
    with at(NOW):
        call_command("retention_erase", stdout=out)
    assert "已清除个人信息的相关记录：关注补充说明 1 条、督办单 1 条" in out.getvalue()
    order = SupervisionOrder.objects.get(case=case)
    for text in (order.instruction, order.answer):
        assert NAME not in text and PHONE not in text and "＊＊" in text
    assert "核实" in order.instruction  # the rest of the order stays
    item = SpotCheckItem.objects.get(pk=item.pk)
    assert NAME not in item.note and PHONE not in item.note and "属实" in item.note
    assert NAME not in SpotCheck.objects.get(pk=check.pk).note
    tokens = CaseFingerprint.objects.get(case=case).tokens.split()
    assert NAME not in tokens and PHONE not in tokens and not any(NAME in t for t in tokens)
    fingerprint_after = CaseFingerprint.objects.get(case=case)
    assert {"化工厂", "黑水"} <= set(tokens)  # what the finder compares is still there
    assert fingerprint_after.tokenized and fingerprint_after.concepts == fingerprint.concepts
    assert "discharge" in fingerprint_after.concepts
    follow = Follow.objects.get(case=case)
    assert follow.note == "" and follow.openid == ""
    follow_event.refresh_from_db()
    assert "王芳" not in follow_event.note and "13700001111" not in follow_event.note
    assert follow_event.note == "举报人通过H5页面关注本件，记为重复举报"
    entry = AuditEntry.objects.get(action="retention_erase")
    assert entry.detail["rows"]["supervision_orders"] == 1 and audit_verify().ok


def test_an_unsent_reply_draft_goes_with_the_reporters_data(world: World, staff: Staff) -> None:
    """A handler's autosaved draft on a case that later closed another way may quote the reporter; the
    erasure removes it, and leaves the drafts of cases within their period alone."""
    for case in (world.old, world.recent):
        ReplyDraft.objects.create(
            case=case,
            author=staff.handler,
            communication=f"给{NAME}回电话：{PHONE}，说明情况",
            saved_at=CLOSED_ON,
        )
    with at(NOW):
        retention_erase()
    assert not ReplyDraft.objects.filter(case=world.old).exists()
    assert ReplyDraft.objects.filter(case=world.recent).count() == 1
