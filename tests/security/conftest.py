"""The world of the security tests: two fully staffed district bureaus, A (和平区) and B (河东区), the city
centre, a system administrator and an auditor, and district B's data in every shape a URL can point at
(cases in each state, a photo, a reply, an extension, a supervision order, duplicate candidates, a monthly
report, a spot check, an Open311 token, a staged portal photo). Everything is made through the real
services. ``World.markers_b`` are strings that only district B's data contains: a district-A user must
never receive any of them.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, models
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image

from eco12369.cases import services
from eco12369.cases.models import Case, Reply
from eco12369.cases.photos import photo_upload_check
from eco12369.cases.privacy import mask_phone
from eco12369.cases.services import Intake, case_create
from eco12369.followup.services import rating_submit, reply_template_save
from eco12369.open311.services import api_key_create, request_create
from eco12369.orgs.models import Agency, Region, User
from eco12369.oversight.duplicates import duplicates_find
from eco12369.oversight.models import DuplicateCandidate, SpotCheck
from eco12369.oversight.periods import current_month
from eco12369.oversight.services import guidance_notice_publish, spot_check_draw
from eco12369.portal.services import photos_stage, submission_open, submission_token_new
from eco12369.stats import services as stats_services
from eco12369.stats.figures import Month
from eco12369.workbench.models import StaffNotification
from eco12369.workbench.notes import note_add
from eco12369.workbench.saved_views import view_save

A = "和平区"
B = "河东区"
ROLES = ("operator", "handler", "reviewer", "head")

FIVE_PARTS = {
    "party_facts": "该公司位于本区，主要从事化工生产。",
    "inspection": "执法人员赴现场检查，核实排污口情况并采样。",
    "violations": "存在超标排放水污染物的违法行为。",
    "decision": "责令立即改正，依法立案处罚。",
    "communication": "已电话告知举报人处理情况。",
}

# District B's secrets: nothing of district A's (or any public page's) text contains these strings.
B_PARTY = "河东蓝鲸化工有限公司"
B_DESCRIPTION = "河东区蓝鲸化工厂每晚十点后从排污口偷排黑色废水，河面泛起泡沫。"
B_DESCRIPTION_MARK = "每晚十点后从排污口偷排黑色废水"
B_REPORTER_NAME = "赵保密"
B_REPORTER_PHONE = "13987654321"
B_OPENID = "oB-secret-openid-zhaobaomi"
# District A's own case that looks like B's (so the duplicate finder pairs them across districts).
A_PARTY = "蓝鲸化工厂"
A_DESCRIPTION = "蓝鲸化工厂排污口晚上偷排黑水，河面有泡沫，气味难闻。"
A_REPORTER_NAME = "钱甲方"
A_REPORTER_PHONE = "13611112222"
A_OPENID = "oA-secret-openid-qianjiafang"
LAT, LNG = Decimal("39.128000"), Decimal("117.230000")


def png(name: str = "现场.png") -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), "#2a6").save(buf, format="PNG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


@dataclass
class World:
    a: dict[str, User]
    b: dict[str, User]
    city: dict[str, User]
    admin: User
    auditor: User
    a_cases: dict[str, Case]
    b_cases: dict[str, Case]
    region_a: Region
    region_b: Region
    agency_b: Agency
    outside: Agency
    ids: dict[str, Any] = field(default_factory=dict)

    @property
    def b_numbers(self) -> list[str]:
        return [c.number for c in self.b_cases.values()]

    def markers_b(self) -> dict[str, str]:
        """Strings only district B's cases produce, each with a label for failure messages."""
        out = {
            "B reported party": B_PARTY,
            "B description": B_DESCRIPTION_MARK,
            "B reporter name": B_REPORTER_NAME,
            "B reporter phone": B_REPORTER_PHONE,
            "B reporter phone (masked)": mask_phone(B_REPORTER_PHONE),
            "B reporter openid": B_OPENID,
        }
        for key, case in self.b_cases.items():
            out[f"B case {key} number"] = case.number
            out[f"B case {key} link"] = f"/cases/{case.number}/"
        return out

    def markers_all(self) -> dict[str, str]:
        """Case content of every district: what the administrator and the auditor must never receive."""
        out = self.markers_b()
        out.update(
            {
                "A reported party": A_PARTY,
                "A reporter name": A_REPORTER_NAME,
                "A reporter phone": A_REPORTER_PHONE,
                "A reporter openid": A_OPENID,
            }
        )
        for key, case in self.a_cases.items():
            out[f"A case {key} number"] = case.number
        return out


def _b_case(district: Region, **kw: Any) -> Case:
    kw.setdefault("channel", "wechat_h5")
    kw.setdefault("category", "water")
    kw.setdefault("description", B_DESCRIPTION)
    kw.setdefault("reported_party", B_PARTY)
    kw.setdefault("reporter_openid", B_OPENID)
    kw.setdefault("latitude", LAT)
    kw.setdefault("longitude", LNG)
    return case_create(intake=Intake(district=district, **kw))


def world_build(make_user: Callable[..., User], media_root: Path) -> World:
    region_a = Region.objects.get(name=A)
    region_b = Region.objects.get(name=B)
    agency_b = Agency.objects.get(region=region_b, kind=Agency.Kind.DISTRICT_BUREAU)
    outside = Agency.objects.filter(kind=Agency.Kind.OUTSIDE).order_by("id").first()
    assert outside is not None
    a = {r: make_user(r, district_name=A, display_name=f"甲区{r}") for r in ROLES}
    b = {r: make_user(r, district_name=B, display_name=f"乙区{r}") for r in ROLES}
    city = {r: make_user(r, district_name=None, display_name=f"市中心{r}") for r in ROLES}
    admin = make_user("admin", district_name=A, display_name="系统管理员")
    auditor = make_user("auditor", district_name=A, display_name="安全审计员")
    b_dept = b["handler"].department

    # --- district B, one case per shape a URL can point at
    bc: dict[str, Case] = {}
    bc["received"] = _b_case(
        region_b, reporter_name=B_REPORTER_NAME, reporter_phone=B_REPORTER_PHONE, photos=[png()]
    )
    bc["dup1"] = _b_case(region_b, channel="wechat_chat")
    bc["dup2"] = _b_case(region_b, channel="wechat_chat")
    bc["accepted"] = services.case_accept(case=_b_case(region_b), actor=b["operator"])
    handling = services.case_assign(
        case=services.case_accept(case=_b_case(region_b), actor=b["operator"]),
        actor=b["operator"],
        department=b_dept,
    )
    handling = services.case_request_extension(
        case=handling, actor=b["operator"], days=10, reason="需等待监测报告"
    )
    bc["handling"] = services.case_supervise(
        case=handling,
        actor=city["operator"],
        instruction="请尽快查处并回复。",
        answer_due=timezone.localdate() + dt.timedelta(days=5),
    )
    review = services.case_assign(
        case=services.case_accept(case=_b_case(region_b), actor=b["operator"]),
        actor=b["operator"],
        department=b_dept,
    )
    bc["in_review"] = services.case_submit_reply(case=review, actor=b["handler"], **FIVE_PARTS)
    closed = services.case_submit_reply(
        case=services.case_assign(
            case=services.case_accept(case=_b_case(region_b), actor=b["operator"]),
            actor=b["operator"],
            department=b_dept,
        ),
        actor=b["handler"],
        **FIVE_PARTS,
    )
    bc["closed"] = services.case_approve(case=closed, actor=b["reviewer"])
    key, clear_key = api_key_create(channel="合作渠道")
    token = request_create(
        api_key=key,
        intake=Intake(
            channel="api",
            description=B_DESCRIPTION,
            district=region_b,
            reported_party=B_PARTY,
            reporter_name=B_REPORTER_NAME,
            reporter_phone=B_REPORTER_PHONE,
            address="河东区某路8号",
        ),
    )
    bc["api"] = token.case

    # --- district A: its own cases (so A's lists are not empty), one like B's
    ac: dict[str, Case] = {}
    ac["received"] = case_create(
        intake=Intake(
            channel="wechat_h5",
            district=region_a,
            category="water",
            description=A_DESCRIPTION,
            reported_party=A_PARTY,
            reporter_name=A_REPORTER_NAME,
            reporter_phone=A_REPORTER_PHONE,
            reporter_openid=A_OPENID,
            latitude=LAT,
            longitude=LNG,
        )
    )
    ac["handling"] = services.case_assign(
        case=services.case_accept(
            case=case_create(
                intake=Intake(
                    channel="phone",
                    district=region_a,
                    category="water",
                    description="白鹭印染厂夜间排放红色污水。",
                )
            ),
            actor=a["operator"],
        ),
        actor=a["operator"],
        department=a["handler"].department,
    )

    # Duplicate candidates: B's among themselves, and A's look-alike paired with B's cases.
    duplicates_find(case=bc["dup2"])
    duplicates_find(case=ac["received"])
    # A month that has ended: B's monthly report, approved and so published.
    month = Month.of(timezone.now()).previous()
    report = stats_services.monthly_report_generate(actor=b["operator"], region=region_b, month=month)
    report = stats_services.monthly_report_edit_analysis(
        actor=b["operator"], report=report, analysis="本月举报办理情况平稳。"
    )
    report = stats_services.monthly_report_send_for_approval(actor=b["operator"], report=report)
    report = stats_services.monthly_report_approve(actor=b["head"], report=report)
    spot_check = spot_check_draw(actor=city["operator"], period=current_month(), per_district=3, seed=7)
    # Business guidance addressed to district B only (Art. 14).
    guidance = guidance_notice_publish(
        actor=city["operator"], title="乙区业务指导", body="请规范答复意见。", recipients=[agency_b]
    )
    # The reporter is not satisfied with B's closed case (on the city centre's review list); B's own
    # reply template.
    rating = rating_submit(
        case=bc["closed"], openid=B_OPENID, level="unsatisfied", comment="没有处理到位。", channel="wechat_h5"
    )
    template = reply_template_save(
        actor=b["operator"], name="乙区废水模板", kind="", category="water", parts=FIVE_PARTS
    )
    # A saved view of district B's operator, shared with B's bureau (issue 15).
    saved_view = view_save(
        user=b["operator"], list_key="search", name="乙区待确认", query="state=received", shared=True
    )
    # A reporter of district B keeps a photo while correcting the H5 form.
    submission = submission_open(openid=B_OPENID, token=submission_token_new())
    upload = png("staged.png")
    staged = photos_stage(submission=submission, photos=[(upload, photo_upload_check(upload))], discard=set())

    world = World(
        a=a,
        b=b,
        city=city,
        admin=admin,
        auditor=auditor,
        a_cases={k: Case.objects.get(pk=v.pk) for k, v in ac.items()},
        b_cases={k: Case.objects.get(pk=v.pk) for k, v in bc.items()},
        region_a=region_a,
        region_b=region_b,
        agency_b=agency_b,
        outside=outside,
    )
    handling_case = world.b_cases["handling"]
    world.ids = {
        "photo": world.b_cases["received"].attachments.get().pk,
        "reply": world.b_cases["in_review"].replies.get(status=Reply.Status.SUBMITTED).pk,
        "extension": handling_case.extensions.get().pk,
        "order": handling_case.supervision_orders.get().pk,
        "department_b": b_dept.pk if b_dept else None,
        "month": month.key,
        "report": report.pk,
        "spot_check": spot_check.pk,
        "guidance": guidance.pk,
        "spot_item": SpotCheck.objects.get(pk=spot_check.pk).items.get(case=world.b_cases["closed"]).pk,
        "staged_key": staged[0].key,
        "rating": rating.pk,
        "template": template.pk,
        "saved_view": saved_view.pk,
        "token": token.token,
        "api_key": clear_key,
        "b_user": b["operator"].pk,
        "totp": TOTPDevice.objects.create(user=b["operator"], name="动态口令", confirmed=True).pk,
        # An internal note mentioning district B's handler, and the notification it gave them.
        "notification": StaffNotification.objects.get(
            note=note_add(user=b["operator"], case=handling_case, body=f"@{b['handler'].username} 请今天跟进")
        ).pk,
    }
    # The world is what the tests think it is (otherwise a walk would prove nothing).
    assert not SpotCheck.objects.get(pk=spot_check.pk).items.filter(region=region_a).exists()
    assert DuplicateCandidate.objects.filter(case=bc["dup2"]).exists()
    assert DuplicateCandidate.objects.filter(case=ac["received"], candidate__region=region_b).exists()
    return world


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def world(make_user: Callable[..., User], media_root: Path) -> World:
    return world_build(make_user, media_root)


# ------------------------------------------------------------------------------ reading responses
def response_bytes(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        # Consuming it closes it the test client's way; closing it again would fire request_finished and
        # close the test's database connection (PostgreSQL).
        return b"".join(response.streaming_content)
    return bytes(response.content)


def xlsx_text(data: bytes) -> str:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    parts = []
    for sheet in book.worksheets:
        parts.append(str(sheet.title))
        for row in sheet.iter_rows(values_only=True):
            parts.extend(str(v) for v in row if v is not None)
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    res = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=False
    )
    return res.stdout.decode("utf-8", "replace")


def response_text(response: Any) -> str:
    """Everything a client receives, as text: headers that carry data, and the body (Excel and PDF
    exports decoded to their text)."""
    content_type = response.get("Content-Type", "")
    data = response_bytes(response)
    headers = " ".join(response.get(h, "") for h in ("Location", "Content-Disposition", "HX-Redirect"))
    if "spreadsheetml" in content_type:
        body = xlsx_text(data)
    elif "application/pdf" in content_type:
        body = pdf_text(data)
    else:
        body = data.decode("utf-8", "replace")
    return headers + "\n" + body


# ---------------------------------------------------------------------------- database fingerprint
WATCHED_APPS = ("cases", "wechat", "oversight", "stats", "portal", "open311")


def _fingerprint_sql() -> str:
    q = connection.ops.quote_name
    parts: list[str] = []
    for app in WATCHED_APPS:
        for model in apps.get_app_config(app).get_models():
            table = q(model._meta.db_table)
            parts.append(f"(SELECT COUNT(*) FROM {table})")
            for f in model._meta.concrete_fields:
                if isinstance(f, models.DateTimeField) and getattr(f, "auto_now", False):
                    parts.append(f"(SELECT MAX({q(f.column)}) FROM {table})")
                elif isinstance(f, models.DateTimeField | models.DateField) and f.null:
                    parts.append(f"(SELECT COUNT({q(f.column)}) FROM {table})")
                elif f.name in ("state", "status", "outcome"):
                    col, pk = q(f.column), q(model._meta.pk.column)
                    if connection.vendor == "postgresql":
                        parts.append(f"(SELECT string_agg({col}, ',' ORDER BY {pk}) FROM {table})")
                    else:
                        parts.append(
                            f"(SELECT group_concat(c, ',') FROM (SELECT {col} AS c FROM {table} ORDER BY {pk}))"
                        )
    # The audit trail grows with every sign-in, audit view and (legitimate, own) export; what must not
    # happen here is a reveal of a reporter.
    parts.append(f"(SELECT COUNT(*) FROM {q('audit_auditentry')} WHERE action = 'reveal')")
    return "SELECT " + ", ".join(parts)


@pytest.fixture
def db_fingerprint(db: None) -> Iterator[Callable[[], tuple[Any, ...]]]:
    """A cheap one-query fingerprint of every case-related table: row counts, last automatic update
    times, how many rows have each optional date (reviewed, answered, decided…) and the states in use."""
    sql = _fingerprint_sql()

    def take() -> tuple[Any, ...]:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone()
        return tuple(row)

    yield take
