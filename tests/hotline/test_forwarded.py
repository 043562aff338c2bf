"""Forwarded cases (issue 14 item 2): the template, the preview that writes nothing, the import that is
idempotent by external number, the confirm deadline from the forwarded time, and the replies export."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from openpyxl import Workbook, load_workbook

from eco12369.audit.models import AuditEntry
from eco12369.audit.services import audit_verify
from eco12369.cases import deadlines, hooks, services
from eco12369.cases.models import Case, CaseEvent, Channel, Source
from eco12369.cases.workflow import TransitionError
from eco12369.hotline.models import ImportBatch
from eco12369.hotline.services import import_confirm, import_run
from eco12369.orgs.models import User
from eco12369.oversight.models import CaseFingerprint, CaseGram, DuplicateCandidate
from eco12369.stats.rollups import rollups_recount, rollups_stored
from tests.workbench.conftest import FIVE_PARTS

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=TZ)
DATA = Path(__file__).with_name("data")
BAD = (DATA / "forwarded_12345_bad.csv").read_bytes()


@pytest.fixture
def centre(make_user: Callable[..., User]) -> User:
    return make_user("operator", district_name=None, display_name="市中心操作员")


@pytest.fixture
def client_in(client: Client, centre: User) -> Client:
    client.force_login(centre)
    return client


def upload(
    client: Client, data: bytes, name: str = "12345转办.csv", source: str = "hotline_12345"
) -> Response:
    return client.post("/hotline/imports/", {"source": source, "file": _file(data, name)}, format="multipart")


def _file(data: bytes, name: str) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


def confirm(client: Client) -> ImportBatch:
    batch = ImportBatch.objects.latest("id")
    resp = client.post(f"/hotline/imports/{batch.pk}/confirm/")
    assert resp.status_code == 302
    batch.refresh_from_db()
    return batch


@time_machine.travel(NOW, tick=False)
def test_the_preview_lists_each_rows_errors_and_writes_no_case(client_in: Client) -> None:
    resp = upload(client_in, BAD)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert Case.objects.count() == 0
    batch = ImportBatch.objects.get()
    assert (batch.total, batch.valid, batch.failed, batch.skipped) == (12, 5, 7, 0)
    for message in (
        "缺少来源编号",
        "转办时间“明天上午”无法识别",
        "所在区“天津市火星区”不是本市的区",
        "缺少举报内容",
        "来源编号与第2行重复",
        "来源编号只能包含字母、数字",
        "举报人电话格式不正确",
        "来源类别“其它问题”不在对照表中，按举报内容归为“大气”",
    ):
        assert message in html, message
    # hostile cells are shown as text, never markup
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@time_machine.travel(NOW, tick=False)
def test_confirm_imports_the_good_rows_and_a_reimport_changes_nothing(
    client_in: Client, centre: User
) -> None:
    upload(client_in, BAD)
    batch = confirm(client_in)
    assert (batch.status, batch.created, batch.skipped, batch.failed) == ("done", 5, 0, 7)
    assert batch.content == ""  # the file with reporters' data is gone once imported
    cases = {c.external_number: c for c in Case.objects.all()}
    assert set(cases) == {
        "12345-TJ-20261201-0007",
        "12345-TJ-20261201-0011",
        "12345-TJ-20261201-0013",
        "12345-TJ-20261201-0017",
        "12345-TJ-20261201-0041",
    }
    noise = cases["12345-TJ-20261201-0007"]
    assert (noise.channel, noise.source, noise.category, noise.region.name) == (
        Channel.FORWARDED,
        "hotline_12345",
        "noise",
        "南开区",
    )
    assert noise.reporter_name == "王女士" and noise.reporter_phone == "13920001234"
    # the confirm deadline counts from the forwarded time, not from the import
    forwarded = dt.datetime(2026, 12, 1, 9, 30, tzinfo=TZ)
    assert noise.received_at == forwarded
    assert noise.confirm_due == deadlines.confirmation_deadline(forwarded).at
    assert cases["12345-TJ-20261201-0011"].anonymous and cases["12345-TJ-20261201-0011"].reporter_name == ""
    assert cases["12345-TJ-20261201-0013"].category == "water"
    assert cases["12345-TJ-20261201-0017"].kind == "consultation"
    assert cases["12345-TJ-20261201-0041"].category == "air"
    event = CaseEvent.objects.get(case=noise, action="receive")
    assert event.actor == centre and event.data["external_number"] == "12345-TJ-20261201-0007"
    assert AuditEntry.objects.filter(action="case.receive", actor=centre).count() == 5

    resp = upload(client_in, BAD)
    html = resp.content.decode()
    assert "已导入（" in html and "再次导入不会有任何改变" not in html  # 7 error rows remain errors
    again = ImportBatch.objects.latest("id")
    assert (again.valid, again.skipped) == (0, 5)
    assert Case.objects.count() == 5


@time_machine.travel(NOW, tick=False)
def test_a_clean_reimport_says_nothing_will_change(client_in: Client) -> None:
    good = "\n".join(BAD.decode().splitlines()[:3]).encode()
    upload(client_in, good)
    confirm(client_in)
    html = upload(client_in, good).content.decode()
    assert "文件中的案件都已导入过，再次导入不会有任何改变" in html
    assert "确认导入" not in html


# Three noise reports of one building site on one day (one rollup row each counts three), two located in
# one grid cell, reports from other days and months, named and anonymous reporters.
SITE = "\n".join(
    [
        BAD.decode().splitlines()[0],
        "12345-TJ-20261201-0101,2026-12-01 09:30,投诉,环境保护-噪声扰民,南开区,某某建筑工地（三号楼）,"
        "南开区鞍山西道与白堤路交口,117.161,39.121,,工地晚上十一点多还在打桩,王女士,13920001234,否",
        "12345-TJ-20261201-0102,2026-12-01 11:00,投诉,环境保护-噪声扰民,南开区,某某建筑工地,南开区鞍山西道,"
        "117.162,39.122,,又在打桩了,,,是",
        "12345-TJ-20261201-0103,2026-12-01 22:15,投诉,噪声,南开区,XX建筑工地,南开区白堤路,,,,"
        "半夜施工，吵得睡不着,李先生,13800138000,否",
        "12345-TJ-20261130-0104,2026-11-30 08:00,举报,水污染,滨海新区,***化工,大港石化路,117.45,38.84,,"
        "排污口往河里放黄水,刘**,022-2555 0101,否",
        "12345-TJ-20261112-0105,2026-11-12 14:00,投诉,环境保护-大气污染,西青区,天津XX塑料制品厂,"
        "西青区张家窝镇工业园,,,,厂里烧东西冒黑烟,,,是",
        "12345-TJ-20261201-0106,2026-12-01 13:45,咨询,,河西区,,,,,,请问装修噪音几点以后不能施工？,,,",
        "12345-TJ-20261130-0107,2026-11-30 18:20,投诉,油烟,红桥区,某饭店,红桥区芥园道,117.13,39.16,,"
        "油烟直排到居民楼,,,否",
    ]
).encode()


class _Undone(Exception):
    """Rolls a block back on purpose."""


def _written() -> dict[str, Any]:
    """What creating the cases wrote, keyed by what both ways of creating them give alike (case numbers,
    external numbers): fingerprints, bigrams, the dashboard's rollups, timeline events and audit entries."""
    grams: dict[str, list[str]] = {}
    for number, gram in CaseGram.objects.values_list("case__external_number", "gram"):
        grams.setdefault(number, []).append(gram)
    return {
        "fingerprints": {
            f.case.external_number: (f.party_key, f.street_key, f.geo_cell, f.received_at, f.tokenized)
            for f in CaseFingerprint.objects.select_related("case")
        },
        "grams": {number: sorted(g) for number, g in grams.items()},
        "rollups": rollups_stored(),
        "events": sorted(
            (e.case.number, e.action, e.actor_id, e.at, e.from_state, e.to_state, e.note, repr(e.data))
            for e in CaseEvent.objects.select_related("case")
        ),
        "audit": sorted(
            (a.action, a.actor_id, a.actor_label, a.object_type, a.object_id, repr(a.detail))
            for a in AuditEntry.objects.filter(action="case.receive")
        ),
    }


@time_machine.travel(NOW, tick=False)
def test_an_import_writes_what_creating_its_cases_one_by_one_writes(client_in: Client, centre: User) -> None:
    """The import's bulk intake pools the creation hooks' writes (fingerprints and bigrams, rollup counts)
    into a few statements: the rows are those of creating the same cases one by one with ``case_create``."""
    with pytest.raises(_Undone), transaction.atomic():
        upload(client_in, SITE)
        batch = confirm(client_in)
        assert (batch.status, batch.created, batch.failed) == ("done", 7, 0)
        imported = list(Case.objects.order_by("id"))
        bulk = _written()
        raise _Undone
    assert not Case.objects.exists() and not CaseFingerprint.objects.exists()
    assert rollups_stored() == {"day": {}, "month": {}, "grid": {}}

    for case in imported:  # the same cases in the same order: the same numbers
        services.case_create(
            intake=services.Intake(
                channel=case.channel,
                source=case.source,
                external_number=case.external_number,
                kind=case.kind,
                category=case.category,
                district=case.region,
                reported_party=case.reported_party,
                address=case.address,
                latitude=case.latitude,
                longitude=case.longitude,
                occurred_at=case.occurred_at,
                description=case.description,
                reporter_name=case.reporter_name,
                reporter_phone=case.reporter_phone,
                anonymous=case.anonymous,
                received_at=case.received_at,
                channel_label=str(Source(case.source).label),
                recorded_by=centre,
            )
        )
    single = _written()
    assert single == bulk
    assert len(bulk["fingerprints"]) == 7 and len(bulk["events"]) == len(bulk["audit"]) == 7
    assert bulk["grams"]["12345-TJ-20261201-0101"]  # something to compare: bigrams of party and address
    nankai = Case.objects.get(external_number="12345-TJ-20261201-0101").region_id
    assert bulk["rollups"]["day"][(dt.date(2026, 12, 1), nankai, "noise", Channel.FORWARDED)] == 3
    assert 2 in bulk["rollups"]["grid"].values()  # the two located reports of the site share a cell
    assert bulk["rollups"] == rollups_recount()


@time_machine.travel(NOW, tick=False)
def test_an_import_chunk_that_fails_leaves_nothing_and_queues_nothing(
    client_in: Client, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """A creation hook failing on the third case of a bulk intake rolls the whole chunk back: no case, no
    fingerprint, bigram or rollup count pooled for the first two, and no duplicate finder queued."""
    seen: list[Case] = []

    def failing_third(case: Case) -> None:
        seen.append(case)
        if len(seen) == 3:
            raise TransitionError("查重服务故障")

    monkeypatch.setattr(hooks, "on_case_created", [*hooks.on_case_created, failing_third])
    upload(client_in, SITE)
    batch = ImportBatch.objects.latest("id")
    with django_capture_on_commit_callbacks(execute=False) as queued, pytest.raises(TransitionError):
        import_run(batch_id=import_confirm(actor=batch.uploaded_by, batch=batch).pk)
    assert len(seen) == 3
    assert not Case.objects.exists()
    assert not CaseFingerprint.objects.exists() and not CaseGram.objects.exists()
    assert rollups_stored() == {"day": {}, "month": {}, "grid": {}}
    assert queued == []


@time_machine.travel(NOW, tick=False)
def test_excel_with_date_cells_gbk_csv_and_a_file_that_is_not_the_template(client_in: Client) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["来源编号*", "转办时间*", "所在区", "举报内容*", "来源类别"])
    sheet.append(
        ["12369-2026-000123", dt.datetime(2026, 12, 1, 8, 5), "西青区", "化工厂晚上偷排废气", "大气污染"]
    )
    sheet.append([20261201001, dt.date(2026, 11, 30), "", "河道里死鱼很多，水发黑", "水污染"])
    out = io.BytesIO()
    book.save(out)
    assert upload(client_in, out.getvalue(), "全国平台.xlsx", "national_12369").status_code == 200
    batch = confirm(client_in)
    assert batch.created == 2
    numbers = set(Case.objects.values_list("external_number", flat=True))
    assert numbers == {"12369-2026-000123", "20261201001"}
    assert Case.objects.get(external_number="20261201001").agency.kind == "city_centre"

    gbk = "来源编号,转办时间,举报内容\nGBK-001,2026-12-01 08:00,夜里噪声扰民\n".encode("gb18030")
    upload(client_in, gbk, "gbk.csv")
    assert ImportBatch.objects.latest("id").valid == 1

    resp = upload(client_in, "姓名,电话\n张三,138\n".encode(), "别的表.csv")
    assert resp.status_code == 422 and "缺少必填列：来源编号、转办时间、举报内容" in resp.content.decode()
    resp = upload(client_in, b"\x00\x01garbage", "x.xls")
    assert resp.status_code == 422 and "只支持 .xlsx 或 .csv" in resp.content.decode()


def test_the_template_documents_every_column_and_the_mapping(client_in: Client) -> None:
    resp = client_in.get("/hotline/imports/template.xlsx")
    assert resp.status_code == 200
    book = load_workbook(io.BytesIO(resp.content))
    header = [c.value for c in book["转办案件"][1]]
    assert header[:2] == ["来源编号*", "转办时间*"] and "举报内容*" in header
    docs = {row[0].value: row[2].value for row in book["填写说明"].iter_rows(min_row=2)}
    assert "确认期限" in docs["转办时间"]
    mapping = {row[0].value: row[1].value for row in book["类别对照"].iter_rows(min_row=2)}
    assert mapping["噪声"] == "噪声" and mapping["危险废物"] == "危险废物"


@time_machine.travel(NOW, tick=False)
def test_replies_export_back_in_the_template_and_cells_are_never_formulas(
    client_in: Client, centre: User, make_user: Callable[..., User]
) -> None:
    upload(client_in, BAD)
    confirm(client_in)
    case = Case.objects.get(external_number="12345-TJ-20261201-0007")
    op = make_user("operator", district_name="南开区")
    handler = make_user("handler", district_name="南开区")
    reviewer = make_user("reviewer", district_name="南开区")
    case = services.case_accept(case=case, actor=op)
    case = services.case_assign(case=case, actor=op, department=handler.department)
    case = services.case_submit_reply(
        case=case, actor=handler, **{**FIVE_PARTS, "decision": "=cmd|' /C calc'!A0"}
    )
    services.case_approve(case=case, actor=reviewer)
    resp = client_in.get(
        "/hotline/imports/replies.xlsx",
        {"source": "hotline_12345", "since": "2026-12-01", "until": "2026-12-01"},
    )
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header[0] == "来源编号" and header[-4:] == ["本平台编号", "办理状态", "办结时间", "答复意见"]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    assert len(rows) == 5
    row = rows["12345-TJ-20261201-0007"]
    reply_cell = row[-1]
    assert reply_cell.data_type == "s" and "=cmd" in str(reply_cell.value)
    assert row[header.index("举报人姓名")].value in (None, "") and row[-3].value == "查处办结"
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)
    assert AuditEntry.objects.filter(action="hotline.replies_export", actor=centre).exists()


def test_only_city_centre_operators_import(client: Client, make_user: Callable[..., User]) -> None:
    client.force_login(make_user("operator", district_name="和平区"))
    assert client.get("/hotline/imports/").status_code == 404
    client.force_login(make_user("reviewer", district_name=None))
    assert client.get("/hotline/imports/template.xlsx").status_code == 404


@time_machine.travel(NOW, tick=False)
def test_a_number_imported_meanwhile_is_skipped_and_the_duplicate_finder_runs_for_the_rest(
    client_in: Client, centre: User, make_case: Callable[..., Case], django_capture_on_commit_callbacks: Any
) -> None:
    """Between preview and confirm another batch imported one of the numbers: it is skipped, the others are
    created in one bulk intake, and the duplicate finder (queued once for the batch) still scores each new
    case: the 12345 call about the 南开 building site finds the WeChat report of it."""
    upload(client_in, BAD)
    with django_capture_on_commit_callbacks(execute=True):  # each in its own transaction, committed
        earlier = make_case(
            "南开区",
            category="noise",
            reported_party="某某建筑工地（三号楼）",
            address="南开区鞍山西道与白堤路交口",
            description="鞍山西道那个工地三号楼半夜打桩，吵死了",
            received_at=NOW - dt.timedelta(days=2),
        )
        services.case_create(
            intake=services.Intake(
                channel="forwarded",
                source="hotline_12345",
                external_number="12345-TJ-20261201-0013",
                description="排污口往河里放黄水（另一批次已导入）",
            )
        )
    with django_capture_on_commit_callbacks(execute=True) as queued:
        batch = confirm(client_in)
    assert (batch.status, batch.created, batch.skipped, batch.failed) == ("done", 4, 1, 7)
    finder = [f for f in queued if type(f).__name__ == "_FinderQueue"]
    assert len(finder) == 1  # one queue for the bulk intake, not a task per case
    imported = Case.objects.filter(source="hotline_12345").exclude(external_number="12345-TJ-20261201-0013")
    assert sorted(finder[0].ids) == sorted(imported.values_list("id", flat=True))
    assert Case.objects.filter(external_number="12345-TJ-20261201-0013").count() == 1
    noise = Case.objects.get(external_number="12345-TJ-20261201-0007")
    assert DuplicateCandidate.objects.filter(case=noise, candidate=earlier).exists()
    assert audit_verify(write_anchor=False).ok
