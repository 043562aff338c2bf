"""Beyond the regulation (issue #7): the reporter's satisfaction rating of a closed case (回访) and the city
centre's review of unsatisfied ratings, reply templates per bureau, and reporters who follow an open case
instead of filing the same matter again (a repeat report)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from eco12369.cases.models import Case, Category, Channel, Kind
from eco12369.crypto import BlindIndexField, EncryptedTextField
from eco12369.orgs.models import Agency

from .texts import REVIEW_NOTICES


class Rating(models.Model):
    """The reporter's rating of a closed case's answer, given within the rating window after closing.

    One per closing (``case`` + ``closed_at``): a case reopened after an unsatisfied rating and closed again
    has a new answer, which its reporter may rate again. ``latest_of`` marks the case's latest rating only
    (set by ``rating_submit``, cleared on the one it supersedes): it is the one-to-one ``case.rating`` that
    the monthly figures and the assessment join in the same query as the cases, so the join never
    multiplies case rows and each case counts once, with its reporter's latest rating, in the period that
    rating was given (an earlier rating of the case no longer counts in its own period). An unsatisfied
    rating waits on the city centre's review list until it is reopened to the district or dismissed with a
    note."""

    class Level(models.TextChoices):
        SATISFIED = "satisfied", _("满意")
        BASIC = "basic", _("基本满意")
        UNSATISFIED = "unsatisfied", _("不满意")

    class Channel(models.TextChoices):
        WECHAT_CHAT = "wechat_chat", _("微信对话")
        WECHAT_H5 = "wechat_h5", _("微信H5页面")

    class Review(models.TextChoices):
        NONE = "", _("无需复核")
        PENDING = "pending", _("待复核")
        REOPENED = "reopened", _("已重新交办")
        DISMISSED = "dismissed", _("不予重办")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="ratings")
    latest_of = models.OneToOneField(
        Case, on_delete=models.CASCADE, null=True, blank=True, editable=False, related_name="rating"
    )
    level = models.CharField(_("评价"), max_length=20, choices=Level.choices)
    comment = models.TextField(_("意见"), blank=True)
    channel = models.CharField(_("评价渠道"), max_length=20, choices=Channel.choices)
    rated_at = models.DateTimeField(_("评价时间"))
    # The closing this rating is about (one rating per closing; the figures use ``rated_at``).
    closed_at = models.DateTimeField(_("办结时间"))
    review = models.CharField(_("复核"), max_length=20, choices=Review.choices, blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("复核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    review_note = models.TextField(_("复核意见"), blank=True)

    class Meta:
        verbose_name = _("回访评价")
        verbose_name_plural = _("回访评价")
        ordering = ["-rated_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["case", "closed_at"], name="rating_one_per_closing")]
        indexes = [
            models.Index(fields=["rated_at"], name="rating_rated_at"),
            models.Index(fields=["review", "rated_at"], name="rating_review_rated"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_level_display()}"

    @property
    def satisfied(self) -> bool:
        return self.level in (self.Level.SATISFIED, self.Level.BASIC)

    @property
    def reporter_notice(self) -> str:
        """What the reporter's page says of the review: a fixed sentence per outcome, never the reviewer's
        own text (``review_note`` stays internal)."""
        return REVIEW_NOTICES.get(self.review, "")


class ReplyTemplate(models.Model):
    """答复模板: the five parts of a handling reply (Art. 10) with placeholders, for one kind and category of
    case (blank: any). Owned by a bureau; the city centre's templates are the city-wide defaults."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("所属机构"), on_delete=models.PROTECT, related_name="reply_templates"
    )
    name = models.CharField(_("模板名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices, blank=True)
    category = models.CharField(_("污染类别"), max_length=20, choices=Category.choices, blank=True)
    party_facts = models.TextField(_("被举报对象基本情况"), blank=True)
    inspection = models.TextField(_("现场检查及核实情况"), blank=True)
    violations = models.TextField(_("存在的环境违法问题"), blank=True)
    decision = models.TextField(_("环保部门处理意见"), blank=True)
    communication = models.TextField(_("与举报人沟通答复情况"), blank=True)
    active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    FIVE_PARTS = ("party_facts", "inspection", "violations", "decision", "communication")

    class Meta:
        verbose_name = _("答复模板")
        verbose_name_plural = _("答复模板")
        ordering = ["agency_id", "kind", "category", "name", "id"]
        indexes = [models.Index(fields=["agency", "active"], name="replytemplate_agency_active")]

    def __str__(self) -> str:
        return self.name


class Follow(models.Model):
    """A reporter who, at intake, followed an open case instead of filing the same matter again: a repeat
    report (重复举报) of that case. The follower is told its progress and sees it in “我的举报”.

    The follower is a reporter too (Art. 17): their openid is encrypted at rest like the case's reporter's,
    and looked up by its blind index (``follows_of``). A caller on the 12369 hotline whose call an operator
    attached to an open case (issue 14) has no openid: their phone and name are kept, encrypted, instead."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="follows")
    openid = EncryptedTextField(_("举报人微信标识"), blank=True)
    openid_digest = BlindIndexField(source="openid", db_index=True)
    channel = models.CharField(_("渠道"), max_length=20, choices=Channel.choices, default=Channel.WECHAT_H5)
    caller_name = EncryptedTextField(_("来电人姓名"), blank=True)
    caller_phone = EncryptedTextField(_("来电人电话"), blank=True)
    caller_phone_digest = BlindIndexField(source="caller_phone")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("补充说明"), blank=True)
    created_at = models.DateTimeField(_("关注时间"))

    class Meta:
        verbose_name = _("关注（重复举报）")
        verbose_name_plural = _("关注（重复举报）")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "openid_digest"],
                condition=~models.Q(openid_digest=""),
                name="follow_unique_case_reporter",
            ),
            models.UniqueConstraint(
                fields=["case", "caller_phone_digest"],
                condition=~models.Q(caller_phone_digest=""),
                name="follow_unique_case_caller",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="follow_created")]

    def __str__(self) -> str:
        return f"{self.case_id} ← 举报人#{self.pk}"
