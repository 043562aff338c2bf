"""The case (举报件) and its parts. States change only through ``workflow.py``."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from eco12369.crypto import BlindIndexField, EncryptedTextField
from eco12369.orgs.models import Agency, Department, Region

# The longest free text a person writes into a case, reporter or staff: the H5 form's description, the chat's
# draft, each staff text (accept note, answer, reply parts, opinions). Longer text is refused in the forms and
# services, and cut (the reporter told) only where it cannot be refused: a WeChat message (issue 11, L7).
TEXT_MAX = 2000
# The shortest description a report may have, in the H5 form and in the chat's ``提交`` (issue 12, D1).
DESCRIPTION_MIN = 5

# The public query code (查询码) given to the reporter with the case number (issue 11, M4): numbers are the
# date and a daily counter, so anyone could guess them; a stranger's look-up by number needs the code too.
# 10 characters of 31 with no look-alikes (no 0/O, 1/I/L): 31**10 ≈ 8·10**14 codes.
QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
QUERY_CODE_LENGTH = 10


def query_code_new() -> str:
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def query_code_matches(case: Case, given: str) -> bool:
    """Whether ``given`` is the case's query code (case and spaces ignored; compared in constant time)."""
    typed = "".join(given.split()).upper()
    return bool(typed) and secrets.compare_digest(typed.encode(), case.query_code.encode())


class Channel(models.TextChoices):
    WECHAT_CHAT = "wechat_chat", _("微信对话")
    WECHAT_H5 = "wechat_h5", _("微信H5表单")
    PHONE = "phone", _("电话")
    # Forwarded by the national 12369 platform or the city's 12345 hotline (``Case.source``).
    FORWARDED = "forwarded", _("转办")
    API = "api", _("开放接口")
    OTHER = "other", _("其他")


class Source(models.TextChoices):
    """Who forwarded a case to the centre (channel ``forwarded``); ``Case.external_number`` is its number there."""

    NATIONAL_12369 = "national_12369", _("全国12369环保举报联网管理平台")
    HOTLINE_12345 = "hotline_12345", _("12345政务服务便民热线")


class Kind(models.TextChoices):
    REPORT = "report", _("举报")
    CONSULTATION = "consultation", _("咨询")
    SUGGESTION = "suggestion", _("建议")
    OTHER = "other", _("其他")


class Category(models.TextChoices):
    AIR = "air", _("大气")
    WATER = "water", _("水")
    NOISE = "noise", _("噪声")
    HAZARDOUS_WASTE = "hazardous_waste", _("危险废物")
    OTHER = "other", _("其他")


class State(models.TextChoices):
    RECEIVED = "received", _("待确认")
    ESCALATED = "escalated", _("待市级协调")
    ACCEPTED = "accepted", _("待批转")
    HANDLING = "handling", _("办理中")
    IN_REVIEW = "in_review", _("待审核")
    CLOSED = "closed", _("已办结")


OPEN_STATES = (State.RECEIVED, State.ESCALATED, State.ACCEPTED, State.HANDLING, State.IN_REVIEW)
CONFIRMATION_STATES = (State.RECEIVED, State.ESCALATED)


class Outcome(models.TextChoices):
    HANDLED = "handled", _("查处办结")
    ANSWERED = "answered", _("直接答复")
    HANDED_OVER = "handed_over", _("移交其他部门")
    DUPLICATE = "duplicate", _("重复举报")
    # The reporter withdrew the report before it was accepted (issue 14): closed, never deleted.
    WITHDRAWN = "withdrawn", _("举报人撤回")


class Action(models.TextChoices):
    """What a case's timeline event records (``CaseEvent.action``), one vocabulary for the state machine's
    rules (``workflow.RULES``), the workbench's forms and views, and the audit trail (``case.<action>``).
    The stored strings are the values."""

    RECEIVE = "receive", _("接收")
    # The state machine's actions (cases/workflow.py RULES; the labels are the rules' labels).
    ACCEPT = "accept", _("受理")
    ANSWER = "answer", _("直接答复")
    HAND_OVER = "hand_over", _("移交其他部门")
    ESCALATE = "escalate", _("申请上级协调")
    REROUTE = "reroute", _("改派")
    MARK_DUPLICATE = "mark_duplicate", _("标记重复举报")
    ASSIGN = "assign", _("批转承办部门")
    SEND_BACK = "send_back", _("退单")
    SUBMIT_REPLY = "submit_reply", _("提交答复意见")
    APPROVE = "approve", _("审核同意并办结")
    RETURN = "return", _("退回修改")
    REQUEST_EXTENSION = "request_extension", _("申请延期")
    DECIDE_EXTENSION = "decide_extension", _("审批延期")
    SUPERVISE = "supervise", _("督办")
    ANSWER_SUPERVISION = "answer_supervision", _("回复督办")
    WITHDRAW = "withdraw", _("撤回举报")
    REOPEN = "reopen", _("重新交办")
    # The reporter adds text or photos before acceptance (no state change).
    SUPPLEMENT = "supplement", _("补充材料")
    # A caller (hotline) or another channel's reporter binds the case to their WeChat with its number and
    # query code: notices go to that WeChat from then on (issue 14; no state change).
    BIND_WECHAT = "bind_wechat", _("绑定微信")
    # Timeline events of the follow-up (issue #7), no state change.
    RATE = "rate", _("回访评价")
    FOLLOW = "follow", _("重复举报（关注）")
    REVIEW_DISMISS = "review_dismiss", _("回访复核：不予重办")
    # Chat photos fetched after the report was submitted (or given up).
    PHOTO_ATTACH = "photo_attach", _("补充照片")
    PHOTO_FAILED = "photo_failed", _("照片未能取回")


class Case(models.Model):
    number = models.CharField(_("编号"), max_length=32, unique=True)
    channel = models.CharField(_("渠道"), max_length=20, choices=Channel.choices)
    # A forwarded case: who forwarded it and its number there (a re-import of the same number changes nothing).
    source = models.CharField(_("转办来源"), max_length=20, choices=Source.choices, blank=True)
    external_number = models.CharField(_("来源编号"), max_length=64, blank=True)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices, default=Kind.REPORT)
    category = models.CharField(
        _("污染类别"), max_length=20, choices=Category.choices, default=Category.OTHER
    )
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.RECEIVED)
    outcome = models.CharField(_("办结方式"), max_length=20, choices=Outcome.choices, blank=True)

    # Who owns it now (属地管理): the bureau that must confirm and handle it.
    region = models.ForeignKey(
        Region, verbose_name=_("所属区"), on_delete=models.PROTECT, related_name="cases"
    )
    agency = models.ForeignKey(
        Agency, verbose_name=_("责任机构"), on_delete=models.PROTECT, related_name="cases"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("承办部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    handover_agency = models.ForeignKey(
        Agency,
        verbose_name=_("移交机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handed_over_cases",
    )
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("重复于"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
    )

    # What was reported.
    reported_party = models.CharField(_("被举报对象"), max_length=200, blank=True)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    occurred_at = models.DateTimeField(_("发生时间"), null=True, blank=True)
    description = models.TextField(_("举报内容"))
    public_summary = models.TextField(_("公开摘要"), blank=True)
    query_code = models.CharField(_("查询码"), max_length=16, default=query_code_new, editable=False)

    # Who reported (Art. 17, PIPL: confidential). Encrypted at rest (eco12369/crypto.py); a reporter's
    # cases are found by the openid's blind index only: ``selectors.cases_of_reporter(openid=...)``.
    # Erased (all empty) by the retention task some time after closing (``reporter_erased_at``).
    reporter_name = EncryptedTextField(_("举报人姓名"), blank=True)
    reporter_phone = EncryptedTextField(_("举报人电话"), blank=True)
    reporter_openid = EncryptedTextField(_("举报人微信标识"), blank=True)
    reporter_openid_digest = BlindIndexField(source="reporter_openid", db_index=True)
    reporter_erased_at = models.DateTimeField(_("举报人信息删除时间"), null=True, blank=True)
    anonymous = models.BooleanField(_("匿名"), default=False)

    # Time line and deadlines (DESIGN §4). ``due_at`` is the deadline that applies in the current
    # state, ``warn_at`` the moment it becomes due-soon; both are kept by the workflow so the queues
    # are plain indexed range queries.
    received_at = models.DateTimeField(_("接收时间"))
    # When the current owner received it, if it was re-routed or escalated since: each level's platform
    # has 2 working days to confirm what it receives (Art. 7). Empty: ``received_at``.
    routed_at = models.DateTimeField(_("转入时间"), null=True, blank=True)
    confirm_due = models.DateTimeField(_("确认期限"))
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    close_due = models.DateTimeField(_("办结期限"), null=True, blank=True)
    extension_days = models.PositiveSmallIntegerField(_("已延期天数"), default=0)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("当前期限"), null=True, blank=True)
    warn_at = models.DateTimeField(_("预警时间"), null=True, blank=True)
    deadline_provisional = models.BooleanField(_("期限暂定"), default=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("举报件")
        verbose_name_plural = _("举报件")
        ordering = ["-received_at", "-id"]
        constraints = [
            # Idempotent import of forwarded cases: one case per number at each forwarding platform.
            models.UniqueConstraint(
                fields=["source", "external_number"],
                condition=~models.Q(external_number=""),
                name="case_unique_external_number",
            )
        ]
        indexes = [
            # An agency's queues by state and deadline. The district is the last key: a district bureau's
            # queue reads "district and agency and state", and the planner, taking district and agency for
            # independent, estimated 29 rows for 458 and ANDed this index with the district's whole bitmap
            # (60,000 rows, 20-40 ms at 1M cases); with the district in the key it is one index condition.
            models.Index(fields=["agency", "state", "due_at", "region"], name="case_agency_state_due"),
            # The deadlines of the open cases (queues due soon and overdue, the dashboard): ``warn_at``, the state
            # and the district ride along (PostgreSQL, ``INCLUDE``), so counting them is an index-only scan
            # instead of a visit to every open case's row (docs/scale.md). Partial, of the open cases only
            # (about 1%), and keyed by the deadline alone: a list due soon or overdue reads it in its own order
            # and stops at a page, where ``(state, due_at)`` read all five open states' ranges and sorted them
            # (the city's queue due soon at 10M cases: 200 ms -> 1 ms).
            models.Index(
                fields=["due_at", "id"],
                include=["warn_at", "state", "region"],
                condition=models.Q(state__in=OPEN_STATES),
                name="case_open_due",
            ),
            models.Index(
                fields=["region", "due_at", "id"],
                include=["warn_at", "state"],
                condition=models.Q(state__in=OPEN_STATES),
                name="case_open_region_due",
            ),
            models.Index(fields=["region", "received_at"], name="case_region_received"),
            models.Index(fields=["received_at"], name="case_received"),
            models.Index(fields=["department", "state"], name="case_department_state"),
            models.Index(fields=["reported_party"], name="case_reported_party"),
            # Retention (compliance/retention.py, cases/retention.py): closed cases whose reporter data is not erased yet.
            models.Index(fields=["reporter_erased_at", "closed_at"], name="case_erased_closed"),
            # A district's queues and counts (bench/run.py, issue #6): its visible cases by state, and the
            # cases closed in a month (monthly figures). ``warn_at`` rides along (PostgreSQL), so counting the
            # district's cases due soon is an index-only scan.
            models.Index(
                fields=["region", "state", "due_at"], include=["warn_at"], name="case_region_state_due"
            ),
            models.Index(fields=["closed_at"], name="case_closed"),
            # The oldest cases waiting in each work queue (the home dashboard): an agency's or a department's
            # open cases in one state, oldest first. Without these the planner walked ``case_received`` from
            # ten years back, expecting the queue's cases spread over the years when they are the recent
            # ones (5.4 s for the city centre at 10M cases). Partial: only the open cases (about 1%).
            models.Index(
                fields=["agency", "state", "received_at", "id"],
                condition=models.Q(state__in=OPEN_STATES),
                name="case_open_agency_received",
            ),
            models.Index(
                fields=["department", "state", "received_at", "id"],
                condition=models.Q(state__in=OPEN_STATES),
                name="case_open_department_received",
            ),
            # On PostgreSQL migration 0006 adds a GIN index of the reported party's character pairs, which
            # makes the workbench's contains-search of the party an index look-up (selectors.party_contains).
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state != State.CLOSED

    @property
    def identity_label(self) -> str:
        """How the reporter reported, in the same words on the reporter's page and the staff's (issue 12,
        D9): a chat report without name or phone is not 实名举报."""
        if self.reporter_erased_at is not None:
            return str(_("举报人信息已按保存期限删除"))
        if self.anonymous:
            return str(_("匿名举报"))
        if self.reporter_name or self.reporter_phone:
            return str(_("实名举报"))
        return str(_("未留姓名和联系电话"))

    @property
    def confirm_from(self) -> dt.datetime:
        """Start of the current confirmation period (receipt, or the last re-route or escalation)."""
        return self.routed_at or self.received_at

    @property
    def in_scope(self) -> bool:
        """Art. 6: a report of one of the listed categories (industrial air, water, noise pollution, hazardous
        waste). Accepting any other case needs the operator's confirmation (``services.case_accept``); the
        case page shows it."""
        return self.kind == Kind.REPORT and self.category != Category.OTHER


class CaseEvent(models.Model):
    """One line of the case's timeline: who did what, when, from which state to which."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("操作"), max_length=30, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.PROTECT
    )
    actor_agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("时间"))
    from_state = models.CharField(_("原状态"), max_length=20, choices=State.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=20, choices=State.choices, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="event_case_at")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"


class Attachment(models.Model):
    class Kind(models.TextChoices):
        PHOTO = "photo", _("举报人照片")
        EVIDENCE = "evidence", _("调查取证材料")  # staff: inspection photos, 检查笔录, 处罚决定书 (PDF, JPEG)

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices, default=Kind.PHOTO)
    file = models.FileField(_("文件"), upload_to="cases/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A video's poster: the picture shown before it plays (WeChat's ThumbMediaId), another attachment of the
    # case (a cleaned photo), not listed on its own on the case page.
    poster = models.ForeignKey(
        "self", verbose_name=_("封面"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("照片")
        verbose_name_plural = _("照片")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name or self.file.name


class Reply(models.Model):
    """What the bureau proposes to tell the reporter. Nothing is sent before a reviewer approves it."""

    class Kind(models.TextChoices):
        HANDLING = "handling", _("办理答复")
        ANSWER = "answer", _("直接答复")
        HANDOVER = "handover", _("移交告知")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("待审核")
        APPROVED = "approved", _("已审核同意")
        RETURNED = "returned", _("已退回")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="replies")
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    return_state = models.CharField(max_length=20, choices=State.choices)
    # Art. 10: the five parts of a handling reply.
    party_facts = models.TextField(_("被举报对象基本情况"), blank=True)
    inspection = models.TextField(_("现场检查及核实情况"), blank=True)
    violations = models.TextField(_("存在的环境违法问题"), blank=True)
    decision = models.TextField(_("环保部门处理意见"), blank=True)
    communication = models.TextField(_("与举报人沟通答复情况"), blank=True)
    # Answers and hand-overs (Art. 7, 8) carry one text.
    text = models.TextField(_("答复意见"), blank=True)
    # Art. 13: the drafter's proposal for the case's public summary (no personal data); the reviewer may
    # edit it when approving, and the approved text is written to ``Case.public_summary``.
    public_summary = models.TextField(_("公开摘要（草稿）"), blank=True)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="drafted_replies"
    )
    submitted_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviewed_replies",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(_("审核意见"), blank=True)

    class Meta:
        verbose_name = _("答复意见")
        verbose_name_plural = _("答复意见")
        ordering = ["submitted_at", "id"]

    FIVE_PARTS = ("party_facts", "inspection", "violations", "decision", "communication")
    # What the reporter receives of a handling reply (DESIGN §4, Art. 10, 11, 17): the four parts about the
    # matter reported. 与举报人沟通答复情况 is the bureau's record, for the reviewer, of how the reporter was
    # contacted (often with the reporter's name and phone): it is never sent to the reporter.
    REPORTER_PARTS = ("party_facts", "inspection", "violations", "decision")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}（{self.get_status_display()}）"

    def _parts_text(self, parts: tuple[str, ...]) -> str:
        labels = [str(getattr(Reply._meta.get_field(name), "verbose_name", name)) for name in parts]
        return "\n".join(f"{label}：{getattr(self, name)}" for label, name in zip(labels, parts, strict=True))

    def public_text(self) -> str:
        """The text the reporter receives once approved (WeChat notice, status query, H5 page)."""
        if self.kind != self.Kind.HANDLING:
            return self.text
        return self._parts_text(self.REPORTER_PARTS)

    def record_text(self) -> str:
        """All five parts, as the bureau records them (before issue 12 the reporter was sent this)."""
        if self.kind != self.Kind.HANDLING:
            return self.text
        return self._parts_text(self.FIVE_PARTS)


class ReplyDraft(models.Model):
    """The handling reply a staff member is writing, saved as they type (the reply editor's autosave), so
    nothing is lost on a reload. Never seen by anyone else, never sent; removed when the reply is
    submitted."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reply_drafts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    party_facts = models.TextField(_("被举报对象基本情况"), blank=True)
    inspection = models.TextField(_("现场检查及核实情况"), blank=True)
    violations = models.TextField(_("存在的环境违法问题"), blank=True)
    decision = models.TextField(_("环保部门处理意见"), blank=True)
    communication = models.TextField(_("与举报人沟通答复情况"), blank=True)
    public_summary = models.TextField(_("公开摘要（草稿）"), blank=True)
    saved_at = models.DateTimeField()

    FIELDS = ("party_facts", "inspection", "violations", "decision", "communication", "public_summary")

    class Meta:
        verbose_name = _("答复意见草稿")
        verbose_name_plural = _("答复意见草稿")
        constraints = [models.UniqueConstraint(fields=["case", "author"], name="reply_draft_one_per_author")]

    def __str__(self) -> str:
        return f"答复意见草稿（{self.saved_at:%Y-%m-%d %H:%M}）"


class Extension(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("待批准")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("未批准")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    days = models.PositiveSmallIntegerField(_("延长天数"))
    reason = models.TextField(_("延期理由"))
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("批示"), blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        ordering = ["requested_at", "id"]

    def __str__(self) -> str:
        return f"延长{self.days}日（{self.get_status_display()}）"


class SupervisionOrder(models.Model):
    """督办 (Art. 14): the city centre orders a district to act on a case by a date."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supervision_orders")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField()
    instruction = models.TextField(_("督办意见"))
    answer_due = models.DateField(_("回复期限"))
    answer = models.TextField(_("办理情况回复"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("督办单")
        verbose_name_plural = _("督办单")
        ordering = ["issued_at", "id"]

    def __str__(self) -> str:
        return f"督办单 {self.issued_at:%Y-%m-%d}"


class CaseNumberSequence(models.Model):
    """Daily counter behind case numbers; one row per day, incremented under a row lock."""

    day = models.DateField(unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day} #{self.last}"


class WorkdayOverride(models.Model):
    """An administrator's correction of the official calendar, or a year the package does not know yet."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("是否工作日"))
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("工作日调整")
        verbose_name_plural = _("工作日调整")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'工作日' if self.is_workday else '休息日'}"


class CalendarYear(models.Model):
    """A year whose holiday notice an administrator has entered completely in ``WorkdayOverride``."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    note = models.CharField(_("依据"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("已录入节假日安排的年份")
        verbose_name_plural = _("已录入节假日安排的年份")
        ordering = ["year"]

    def __str__(self) -> str:
        return f"{self.year}年"
